"""Sign in with Microsoft: the OpenID Connect client, through Authlib.

Authlib reads the provider's discovery document (``OIDC_DISCOVERY_URL``), sends every
authorization request with a random ``state``, a ``nonce`` and an S256 PKCE challenge (the
three kept in the session until the answer comes back), exchanges the code with the
verifier, and checks the ID token: signature against the provider's keys, ``aud``,
``exp``/``iat``, ``nonce``. The issuer is checked here: Entra's multi-tenant endpoints
(``/common``, ``/organizations``) publish ``https://login.microsoftonline.com/{tenantid}/v2.0``
as their issuer, a template that each token fills in with its own ``tid``."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from authlib.integrations.base_client import OAuthError
from authlib.integrations.django_client import DjangoOAuth2App, OAuth
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from partnerdesk.accounts.microsoft import MicrosoftIdentity, SignInFailed

SCOPE = "openid email profile"
TENANT_PLACEHOLDER = "{tenantid}"


@dataclass(frozen=True)
class OidcConfig:
    discovery_url: str
    client_id: str
    client_secret: str


def oidc_config() -> OidcConfig | None:
    """The provider partnerdesk signs in with, or None: then there is no Microsoft button."""
    config = OidcConfig(
        discovery_url=settings.OIDC_DISCOVERY_URL,
        client_id=settings.OIDC_CLIENT_ID,
        client_secret=settings.OIDC_CLIENT_SECRET,
    )
    return config if config.discovery_url and config.client_id else None


_clients: dict[OidcConfig, DjangoOAuth2App] = {}
_clients_lock = threading.Lock()


def oidc_client(config: OidcConfig) -> DjangoOAuth2App:
    """One client per configuration and process: it keeps the discovery document and the
    provider's keys once fetched (fetched again when a token names an unknown key)."""
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            client = OAuth().register(
                name="microsoft",
                client_id=config.client_id,
                client_secret=config.client_secret,
                server_metadata_url=config.discovery_url,
                client_kwargs={
                    "scope": SCOPE,
                    "code_challenge_method": "S256",
                    "timeout": settings.OIDC_TIMEOUT,
                },
            )
            _clients[config] = client
        return client


def issuer_expected(published: str, tenant_id: str | None) -> str | None:
    """The ``iss`` a token must carry: the discovery's issuer, with Entra's ``{tenantid}``
    filled in with the token's own ``tid`` (None when the token has none to fill in)."""
    if TENANT_PLACEHOLDER not in published:
        return published
    return published.replace(TENANT_PLACEHOLDER, tenant_id) if tenant_id else None


def _claims_options(client: DjangoOAuth2App) -> dict:
    published = client.load_server_metadata()["issuer"]

    def issuer_matches(claims, value) -> bool:
        return value == issuer_expected(published, claims.get("tid"))

    return {"iss": {"essential": True, "validate": issuer_matches}}


def authorization_redirect(
    request: HttpRequest, *, config: OidcConfig, redirect_uri: str, select_account: bool
) -> HttpResponse:
    """To the provider's sign-in; ``select_account`` asks it to let the person pick
    another account rather than go on with the one it is signed in with."""
    client = oidc_client(config)
    extra = {"prompt": "select_account"} if select_account else {}
    try:
        return client.authorize_redirect(request, redirect_uri, **extra)
    except (OAuthError, OSError, ValueError, KeyError) as error:
        raise SignInFailed(reason="provider_unreachable") from error


def identity_from_callback(request: HttpRequest, *, config: OidcConfig) -> MicrosoftIdentity:
    """The checked ID token of the provider's answer: state matched, code exchanged with
    the PKCE verifier, nonce and issuer checked. Anything wrong is ``SignInFailed``."""
    client = oidc_client(config)
    try:
        token = client.authorize_access_token(request, claims_options=_claims_options(client))
    except OAuthError as error:
        raise SignInFailed(reason=error.error or "oauth_error") from error
    except Exception as error:
        # joserfc's and requests' errors (a bad signature, an expired token, a provider
        # that does not answer) have no common base: each one means no sign-in.
        raise SignInFailed(reason=type(error).__name__) from error
    claims = token.get("userinfo")
    if not claims:
        raise SignInFailed(reason="no_id_token")
    return MicrosoftIdentity.from_claims(claims)
