from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from partnerdesk.accounts.middleware import activate_user_language
from partnerdesk.accounts.services import api_token_authenticate
from partnerdesk.core.exceptions import NotAuthenticated


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        try:
            user = api_token_authenticate(raw_token=token)
        except NotAuthenticated:
            return None
        request.user = user
        activate_user_language(request, user)
        return user


class PortalSession(SessionAuth):
    """The portal's session cookie; ninja enforces CSRF on unsafe methods for it."""

    def _get_key(self, request: HttpRequest):
        # No session cookie: no credentials (401), not a failed CSRF check (403).
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        return user if user and user.is_active else None
