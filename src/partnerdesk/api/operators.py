"""The operators' endpoints (``/api/v1/admin/…`` and the like) take one kind of caller: a
staff user's token created with the ``operator`` scope (``createtoken --scope
operator``). A staff user's plain token and the portal's session do not open them, so a
token kept by a support tool for reading requests cannot rewrite memberships."""

from __future__ import annotations

from django.http import HttpRequest

from partnerdesk.accounts.models import TokenScope, User
from partnerdesk.api.auth import BearerToken, PortalSession
from partnerdesk.core.exceptions import OperatorRequired


def is_operator(user) -> bool:
    scopes = getattr(user, "token_scopes", frozenset())
    return bool(user.is_active and user.is_staff and TokenScope.OPERATOR in scopes)


def operator_of(request: HttpRequest) -> User:
    """The calling operator, or ``operator_required`` (403)."""
    user = request.auth
    if not is_operator(user):
        raise OperatorRequired()
    return user


class OperatorToken(BearerToken):
    """A token that is not an operator's is refused before anything else is looked at
    (the body's validation included): 403 ``operator_required``, the same for every
    route and every body."""

    def authenticate(self, request: HttpRequest, token: str):
        user = super().authenticate(request, token)
        if user is not None and not is_operator(user):
            raise OperatorRequired()
        return user


class OperatorSession(PortalSession):
    """The portal's session never opens an operator endpoint, a staff user's included."""

    def authenticate(self, request: HttpRequest, key):
        if super().authenticate(request, key) is not None:
            raise OperatorRequired()
        return None


# The auth of the operators' routers (ninja runs it before parsing the body).
OPERATOR_AUTH = [OperatorToken(), OperatorSession()]
