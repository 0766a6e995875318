from __future__ import annotations

import secrets
from datetime import datetime

from django.utils import timezone

from partnerdesk.accounts.models import ApiToken, User, token_digest
from partnerdesk.core.audit import audit_record
from partnerdesk.core.exceptions import NotAuthenticated

TOKEN_PREFIX = "pd_"


def api_token_create(*, user: User, name: str = "", expires_at: datetime | None = None) -> str:
    """Create a token and return it; only its digest is stored, so this is the one chance
    to see it."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        digest=token_digest(raw),
        expires_at=expires_at,
    )
    audit_record(
        action="token.created",
        actor=user,
        organization=user.organization,
        target=token,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    return raw


def api_token_revoke(*, token: ApiToken, actor: User) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            action="token.revoked", actor=actor, organization=token.user.organization, target=token
        )


def api_token_authenticate(*, raw_token: str) -> User:
    token = (
        ApiToken.objects.select_related("user", "user__organization")
        .filter(digest=token_digest(raw_token))
        .first()
    )
    if token is None or not token.is_usable(timezone.now()) or not token.user.is_active:
        raise NotAuthenticated()
    return token.user


def user_set_language(*, user: User, language: str) -> None:
    """Remember a signed-in user's language, so e-mails and the API use it too."""
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
