from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from functools import cache

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.accounts.audit import audit_record
from partnerdesk.accounts.models import ApiToken, TokenScope, User, token_digest
from partnerdesk.core import sql
from partnerdesk.core.exceptions import NotAuthenticated, RoleRequired, ValidationFailed

TOKEN_PREFIX = "pd_"


def api_token_create(
    *,
    user: User,
    name: str = "",
    expires_at: datetime | None = None,
    scopes: Iterable[str] = (),
) -> str:
    """Create a token and return it; only its digest is stored, so this is the one chance
    to see it. The ``operator`` scope is for staff users only."""
    scopes = sorted(set(scopes))
    unknown = set(scopes) - set(TokenScope.values)
    if unknown:
        raise ValidationFailed(
            _("Unknown token scope: %(scope)s.") % {"scope": ", ".join(sorted(unknown))}
        )
    if TokenScope.OPERATOR in scopes and not user.is_staff:
        raise RoleRequired(_("Only staff users (operators) can hold an operator token."))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        digest=token_digest(raw),
        expires_at=expires_at,
        scopes=" ".join(scopes),
    )
    audit_record(
        action="token.created",
        actor=user,
        organization=user.organization,
        target=token,
        expires_at=expires_at.isoformat() if expires_at else None,
        scopes=scopes,
    )
    return raw


def api_token_revoke(*, token: ApiToken, actor: User) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            action="token.revoked", actor=actor, organization=token.user.organization, target=token
        )


@cache
def _token_query() -> tuple[str, sql.Rows]:
    """Token, user and organization in one statement, compiled once per process (the
    busiest query there is: every API call runs it)."""
    organization = User._meta.get_field("organization").related_model
    rows = sql.Rows(ApiToken, User, organization)
    quote = connection.ops.quote_name
    table = {m: quote(m._meta.db_table) for m in rows.models}
    statement = (
        f"SELECT {rows.columns(ApiToken, 't')}, {rows.columns(User, 'u')}, "  # nosec B608
        f"{rows.columns(organization, 'o')} FROM {table[ApiToken]} t "
        f"INNER JOIN {table[User]} u ON u.id = t.user_id "
        f"LEFT OUTER JOIN {table[organization]} o ON o.id = u.organization_id "
        "WHERE t.digest = %s"
    )
    return statement, rows


def api_token_authenticate(*, raw_token: str) -> User:
    statement, rows = _token_query()
    with connection.cursor() as cursor:
        cursor.execute(statement, [token_digest(raw_token)])
        row = cursor.fetchone()
    if row is None:
        raise NotAuthenticated()
    token, user, organization = rows.build(row)
    if not token.is_usable(timezone.now()) or not user.is_active:
        raise NotAuthenticated()
    user.organization = organization
    token.user = user
    user.token_scopes = token.scope_set
    return user


def user_set_language(*, user: User, language: str) -> None:
    """Remember a signed-in user's language, so e-mails and the API use it too."""
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
