"""Sign-in by e-mail address, case-insensitively: the lockout counts one address however
it is typed."""

from __future__ import annotations

from partnerdesk.core.emails import email_normalized


def signin_username(request, credentials: dict | None) -> str | None:
    """django-axes' username for a sign-in attempt (AXES_USERNAME_CALLABLE)."""
    credentials = credentials or {}
    username = credentials.get("username")
    if username is None and request is not None:
        username = request.POST.get("username")
    return email_normalized(username) if isinstance(username, str) else username
