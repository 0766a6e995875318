from __future__ import annotations

from partnerdesk.accounts.models import User
from partnerdesk.notices.models import Notice


def notice_list(*, user: User, limit: int = 100) -> list[Notice]:
    notices = (
        Notice.objects.for_user(user)
        .select_related("entitlement__benefit")
        .order_by("-created_at", "-id")[:limit]
    )
    read = set(Notice.objects.for_user(user).filter(reads__user=user).values_list("pk", flat=True))
    for notice in notices:
        notice.is_read = notice.pk in read
    return list(notices)


def unread_notice_count(*, user: User) -> int:
    return Notice.objects.for_user(user).exclude(reads__user=user).count()
