"""The periodic check that turns crossed thresholds into notices and e-mails."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from partnerdesk.accounts.models import User
from partnerdesk.benefits.models import Entitlement, EntitlementState
from partnerdesk.notices.models import (
    EXPIRY_THRESHOLDS,
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


def notices_send_due(*, today: datetime.date | None = None) -> int:
    """Record every threshold crossed since the last run, once, and e-mail the partner
    about the most pressing new one of each kind. Runs under `partnerdesk worker`."""
    today = today or timezone.localdate()
    candidates = (
        Entitlement.objects.filter(state=EntitlementState.ACTIVE)
        .filter(
            Q(allowance__gt=0, used__gte=F("allowance") * USAGE_THRESHOLDS[0] / 100.0)
            | Q(expires_on__lte=today + datetime.timedelta(days=max(EXPIRY_THRESHOLDS)))
        )
        .select_related("benefit", "organization")
        .prefetch_related("notices")
    )
    created = 0
    for entitlement in candidates.iterator(chunk_size=500):
        already = {(n.kind, n.threshold) for n in entitlement.notices.all()}
        new = [c for c in crossed_thresholds(entitlement, today) if c not in already]
        fresh = []
        for kind, threshold in new:
            try:
                with transaction.atomic():
                    fresh.append(
                        Notice.objects.create(
                            organization=entitlement.organization,
                            entitlement=entitlement,
                            kind=kind,
                            threshold=threshold,
                        )
                    )
            except IntegrityError:
                continue  # another worker recorded it first: it is not ours to send
        created += len(fresh)
        for kind in (NoticeKind.USAGE, NoticeKind.EXPIRY):
            of_kind = [n for n in fresh if n.kind == kind]
            if of_kind:
                # The most pressing: the highest share used, the fewest days left.
                pick = max if kind == NoticeKind.USAGE else min
                _email(pick(of_kind, key=lambda n: n.threshold))
    return created


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
        send_mail(subject, body, None, [address])


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
