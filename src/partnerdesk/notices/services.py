"""The periodic check that turns crossed thresholds into notices and e-mails."""

from __future__ import annotations

import datetime
from fractions import Fraction

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from partnerdesk.accounts.models import User
from partnerdesk.benefits.events import of_entitlement
from partnerdesk.benefits.forecast import (
    Forecast,
    balance_ends_on,
    entitlement_forecasts,
    unused_share_above,
)
from partnerdesk.benefits.locks import entitlement_lock
from partnerdesk.benefits.models import Entitlement, EntitlementState
from partnerdesk.core import sql
from partnerdesk.core.emails import send_portal_mail
from partnerdesk.events.models import EventType
from partnerdesk.events.services import event_record
from partnerdesk.notices.models import (
    EXPIRY_THRESHOLDS,
    UNUSED_NOTICE_DAYS,
    USAGE_THRESHOLDS,
    Notice,
    NoticeKind,
    NoticeRead,
    RequestNotice,
)


def crossed_thresholds(entitlement: Entitlement, today: datetime.date) -> list[tuple[str, int]]:
    crossed = []
    if entitlement.allowance:
        share = entitlement.used * 100 / entitlement.allowance
        crossed += [(NoticeKind.USAGE, t) for t in USAGE_THRESHOLDS if share >= t]
    if entitlement.expires_on is not None:
        days_left = (entitlement.expires_on - today).days
        crossed += [(NoticeKind.EXPIRY, t) for t in EXPIRY_THRESHOLDS if 0 <= days_left <= t]
    return crossed


# The most pressing threshold of each kind: the highest share used, the fewest days left.
_MORE_PRESSING = {NoticeKind.USAGE: max, NoticeKind.EXPIRY: min}


def thresholds_due(
    entitlement: Entitlement, today: datetime.date, recorded: set[tuple[str, int]]
) -> list[tuple[str, int]]:
    """At most one threshold per kind: the most pressing one crossed, if it is beyond the
    most pressing one already recorded. A threshold at or before a recorded one has
    passed: a catch-up run that finds 0 % → 95 % records and sends 90 % only, and 50 % and
    75 % are never sent after it (a refund that brings the share back down does not make
    anything fire again either)."""
    due = []
    for kind, pick in _MORE_PRESSING.items():
        crossed = [t for k, t in crossed_thresholds(entitlement, today) if k == kind]
        if not crossed:
            continue
        best = pick(crossed)
        done = [t for k, t in recorded if k == kind]
        if done and pick(best, pick(done)) == pick(done):
            continue  # passed already (equal, or less pressing than what was recorded)
        due.append((kind, best))
    return due


# The share of the allowance forecast to expire unused beyond which partners are told.
UNUSED_SHARE = Fraction(1, 2)


def unused_notice_may_be_due(
    entitlement: Entitlement, today: datetime.date, recorded: set[tuple[str, int]]
) -> bool:
    """Dates and records only (no forecast yet): a limited benefit within
    ``UNUSED_NOTICE_DAYS`` days of its last day that has not had the notice."""
    ends_on = balance_ends_on(entitlement)
    return (
        entitlement.allowance is not None
        and ends_on is not None
        and 0 <= (ends_on - today).days <= UNUSED_NOTICE_DAYS
        and not any(kind == NoticeKind.UNUSED for kind, _ in recorded)
    )


def unused_notice_due(
    entitlement: Entitlement,
    forecast: Forecast,
    today: datetime.date,
    recorded: set[tuple[str, int]],
) -> bool:
    """Once per entitlement: more than half of its allowance is forecast to expire unused,
    ``UNUSED_NOTICE_DAYS`` days or fewer before it does (a catch-up run that finds fewer
    days left still tells it, once)."""
    return unused_notice_may_be_due(entitlement, today, recorded) and unused_share_above(
        forecast, allowance=entitlement.allowance, share=UNUSED_SHARE
    )


def _notices_due(
    entitlement: Entitlement,
    today: datetime.date,
    recorded: set[tuple[str, int]],
    forecast: Forecast | None,
) -> list[tuple[str, int]]:
    due = thresholds_due(entitlement, today, recorded)
    if forecast is not None and unused_notice_due(entitlement, forecast, today, recorded):
        due.append((NoticeKind.UNUSED, UNUSED_NOTICE_DAYS))
    return due


def _notify_one(entitlement_id: int, today: datetime.date) -> list[Notice]:
    """Under the entitlement's row lock (on SQLite, the write lock), checked again under
    it: the notices this run recorded, e-mailed once the transaction is over (never
    while the lock is held). The unique constraint ``notice_once_per_threshold`` backs
    the lock up."""
    with transaction.atomic():
        entitlement = entitlement_lock(entitlement_id)
        if entitlement is None or entitlement.state != EntitlementState.ACTIVE:
            return []
        recorded = set(
            Notice.objects.filter(entitlement_id=entitlement_id).values_list("kind", "threshold")
        )
        forecast = None
        if unused_notice_may_be_due(entitlement, today, recorded):
            forecast = entitlement_forecasts(entitlements=[entitlement], today=today)[
                entitlement.pk
            ]
        fresh = []
        for kind, threshold in _notices_due(entitlement, today, recorded, forecast):
            try:
                with transaction.atomic():
                    fresh.append(
                        Notice.objects.create(
                            organization_id=entitlement.organization_id,
                            entitlement=entitlement,
                            kind=kind,
                            threshold=threshold,
                            amount=forecast.unused_at_expiry if kind == NoticeKind.UNUSED else None,
                        )
                    )
            except IntegrityError:
                continue  # another worker recorded it first: it is not ours to send
            if kind == NoticeKind.EXPIRY:
                event_record(
                    type=EventType.ENTITLEMENT_EXPIRING,
                    organization_id=entitlement.organization_id,
                    data={
                        "entitlement": of_entitlement(entitlement),
                        "days_left": (entitlement.expires_on - today).days,
                        "notice_days": threshold,
                    },
                )
    for notice in fresh:
        _email(notice)
    return fresh


def notices_send_due(*, today: datetime.date | None = None) -> int:
    """Record the most pressing threshold of each kind crossed since the last run, once,
    and e-mail the partner about it; the less pressing ones crossed meanwhile count as
    passed (``thresholds_due``). And, once per entitlement, a forecast of more than half
    of the allowance expiring unused within ``UNUSED_NOTICE_DAYS`` days
    (``unused_notice_due``). Runs under ``partnerdesk worker``, in any number of
    workers at once; how many notices were recorded."""
    today = today or timezone.localdate()
    candidates = (
        Entitlement.objects.filter(state=EntitlementState.ACTIVE)
        .filter(
            Q(allowance__gt=0, used__gte=F("allowance") * USAGE_THRESHOLDS[0] / 100.0)
            | Q(expires_on__lte=today + datetime.timedelta(days=max(EXPIRY_THRESHOLDS)))
            | Q(
                allowance__gt=0,
                membership_ends__lte=today + datetime.timedelta(days=UNUSED_NOTICE_DAYS),
            )
        )
        .select_related("benefit")
        .prefetch_related("notices")
    )
    due = []
    for chunk in sql.batched(candidates.iterator(chunk_size=500), 500):
        recorded = {e.pk: {(n.kind, n.threshold) for n in e.notices.all()} for e in chunk}
        # One query over the ledger per chunk, for those an unused notice may be due for.
        forecasts = entitlement_forecasts(
            entitlements=[e for e in chunk if unused_notice_may_be_due(e, today, recorded[e.pk])],
            today=today,
        )
        due += [e.pk for e in chunk if _notices_due(e, today, recorded[e.pk], forecasts.get(e.pk))]
    return sum(len(_notify_one(pk, today)) for pk in due)


def _recipients(notice: Notice) -> list[tuple[str, str]]:
    organization = notice.organization
    admins = User.objects.filter(organization=organization, is_active=True).filter(
        Q(is_global_admin=True) | Q(is_mpn_partner_admin=True)
    )
    people = {u.email.lower(): u.language for u in admins}
    if organization.contact_email:
        contact = organization.contact_email.lower()
        people.setdefault(
            contact,
            User.objects.filter(email=contact).values_list("language", flat=True).first() or "",
        )
    return [(email, language or settings.LANGUAGE_CODE) for email, language in people.items()]


def _email(notice: Notice) -> None:
    for address, language in _recipients(notice):
        with translation.override(language):
            context = {"notice": notice, "entitlement": notice.entitlement}
            subject = render_to_string("notices/email/notice_subject.txt", context).strip()
            body = render_to_string("notices/email/notice_body.txt", context)
        send_portal_mail(subject, body, [address], language=language)


def notices_mark_read(*, user: User, notices: list[Notice]) -> None:
    NoticeRead.objects.bulk_create(
        [NoticeRead(notice=n, user=user) for n in notices], ignore_conflicts=True
    )


def request_notices_mark_read(*, user: User, request_id: int) -> int:
    """The reader opened the request: what they were told about it is read."""
    if not user.is_authenticated:
        return 0
    return RequestNotice.objects.filter(
        recipient=user, support_request_id=request_id, read_at__isnull=True
    ).update(read_at=timezone.now())
