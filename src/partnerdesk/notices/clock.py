"""The first-response clock's notices: a warning when a request reaches 75 % of its time
(``sla_warning_at``) and a breach notice when it is due (``first_response_due``), still
unanswered and not waiting on the partner. For the assigned engineer, or every active
support engineer when nobody has picked the request up; in the portal (a
``RequestNotice``) and by e-mail in the recipient's language, with a link to the console.

A periodic job of ``partnerdesk worker`` (``PARTNERDESK_PERIODIC_JOBS``), safe to run at
any time, any number of times and in several workers at once: each request is handled in
its own transaction under its row lock, checked again under the lock, and the unique
constraint ``request_notice_clock_once`` makes a notice once per recipient whatever
happens. Only the run that wrote the notices e-mails them, after its commit, through the
notices app's task (``notices.requests.request_notice_email``)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from partnerdesk.accounts.models import User
from partnerdesk.core.locks import locked
from partnerdesk.notices.models import RequestNotice, RequestNoticeKind
from partnerdesk.notices.requests import language_of
from partnerdesk.support.models import RequestStatus, SupportRequest

# A breach older than this when first seen (the worker was down for a week) is not
# announced any more: the console shows it overdue anyway. Bounds the index range read.
BREACH_LOOKBACK = datetime.timedelta(days=7)
# A warning is only worth sending before the due time; the range read on the due time's
# index stops this far ahead (business-hours clocks can put a weekend and holidays
# between the warning and the due time).
WARNING_HORIZON = datetime.timedelta(days=31)
BATCH = 200


def _clock_running():
    return SupportRequest.objects.filter(
        status__in=RequestStatus.active(),
        first_responded_at__isnull=True,
        sla_paused_at__isnull=True,
    )


def _not_told(kind: str):
    return ~Exists(RequestNotice.objects.filter(support_request=OuterRef("pk"), kind=kind))


def _due(kind: str, now: datetime.datetime):
    """Requests whose ``kind`` moment has passed and nobody was told of, by the index on
    ``first_response_due`` (a range of it, then the other conditions row by row)."""
    running = _clock_running().filter(_not_told(kind))
    if kind == RequestNoticeKind.SLA_BREACH:
        return running.filter(
            first_response_due__lte=now, first_response_due__gt=now - BREACH_LOOKBACK
        )
    return running.filter(
        first_response_due__gt=now,
        first_response_due__lte=now + WARNING_HORIZON,
        sla_warning_at__lte=now,
    )


def recipients_for(support_request: SupportRequest) -> list[User]:
    engineers = User.objects.filter(is_staff=True, is_active=True)
    if support_request.assigned_to_id is not None:
        assigned = list(engineers.filter(pk=support_request.assigned_to_id))
        if assigned:
            return assigned
    return list(engineers.order_by("pk"))


def _notify_one(request_id: int, kind: str, now: datetime.datetime) -> list[int]:
    """Under the request's lock: still unanswered, running and past the moment? Then one
    notice per recipient. The notices' ids, if this run wrote them."""
    moment = Q(first_response_due__lte=now)
    if kind == RequestNoticeKind.SLA_WARNING:
        moment = Q(sla_warning_at__lte=now, first_response_due__gt=now)
    with transaction.atomic():
        support_request = locked(
            _clock_running().filter(moment, pk=request_id), skip_locked=True
        ).first()
        if support_request is None:
            return []  # answered, paused or closed meanwhile, or another run has it
        if RequestNotice.objects.filter(support_request_id=request_id, kind=kind).exists():
            return []  # another worker told them first
        people = recipients_for(support_request)
        RequestNotice.objects.bulk_create(
            [
                RequestNotice(recipient=user, support_request=support_request, kind=kind)
                for user in people
            ],
            ignore_conflicts=True,
        )
        # ignore_conflicts leaves the primary keys unset: read back what is now stored.
        ids = list(
            RequestNotice.objects.filter(support_request_id=request_id, kind=kind).values_list(
                "pk", flat=True
            )
        )
        to = [[u.email.lower(), language_of(u), True] for u in people if u.email]
        if ids and to:
            # The notices app's own e-mail: the message in the recipient's language and
            # a link to the request in the console.
            from partnerdesk.notices.tasks import send_request_notice

            transaction.on_commit(lambda: send_request_notice.enqueue(request_id, kind, None, to))
        return ids


def clock_notices_send_due(*, now: datetime.datetime | None = None) -> int:
    """Warn and announce breaches that are due; how many notices were written."""
    now = now or timezone.now()
    written = 0
    # Breaches first: a request past both moments at once gets the breach notice only.
    for kind in (RequestNoticeKind.SLA_BREACH, RequestNoticeKind.SLA_WARNING):
        after = None  # keyset: (first_response_due, id) of the last candidate seen
        while True:
            candidates = _due(kind, now)
            if after is not None:
                candidates = candidates.filter(
                    Q(first_response_due__gt=after[0])
                    | Q(first_response_due=after[0], pk__gt=after[1])
                )
            batch = list(
                candidates.order_by("first_response_due", "id").values_list(
                    "first_response_due", "pk"
                )[:BATCH]
            )
            for _due_at, request_id in batch:
                written += len(_notify_one(request_id, kind, now))
            if len(batch) < BATCH:
                break
            after = batch[-1]
    return written
