from __future__ import annotations

import datetime
from dataclasses import dataclass

from partnerdesk.accounts.models import User
from partnerdesk.notices.models import Notice, RequestNotice


def notice_list(*, user: User, limit: int = 100) -> list[Notice]:
    if user.organization_id is None:
        return []
    notices = (
        Notice.objects.for_user(user)
        .select_related("entitlement__benefit")
        .order_by("-created_at", "-id")[:limit]
    )
    read = set(Notice.objects.for_user(user).filter(reads__user=user).values_list("pk", flat=True))
    for notice in notices:
        notice.is_read = notice.pk in read
    return list(notices)


def request_notice_list(*, user: User, limit: int = 100) -> list[RequestNotice]:
    """What ``user`` was told about support requests, newest first. Read once they open
    the request (``services.request_notices_mark_read``), not by being listed."""
    return list(
        RequestNotice.objects.filter(recipient=user)
        .select_related("support_request__entitlement", "note")
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class InboxItem:
    created_at: datetime.datetime
    message: str
    is_read: bool
    request_id: int | None = None
    notice: Notice | None = None


def inbox(*, user: User, limit: int = 100) -> list[InboxItem]:
    """The notices page: a benefit's thresholds and the requests' news, newest first."""
    from partnerdesk.notices.requests import request_notice_message

    items = [
        InboxItem(n.created_at, n.message, n.is_read, notice=n)
        for n in notice_list(user=user, limit=limit)
    ]
    engineer = bool(user.is_staff)
    items += [
        InboxItem(
            n.created_at,
            request_notice_message(n.kind, n.support_request, engineer=engineer, note=n.note),
            n.read_at is not None,
            request_id=n.support_request_id,
        )
        for n in request_notice_list(user=user, limit=limit)
    ]
    items.sort(key=lambda item: item.created_at, reverse=True)
    return items[:limit]


def unread_notice_count(*, user: User) -> int:
    unread = RequestNotice.objects.filter(recipient=user, read_at__isnull=True).count()
    if user.organization_id is None:
        return unread
    return unread + Notice.objects.for_user(user).exclude(reads__user=user).count()
