"""What people are told about a support request: a notice in the portal (a
``RequestNotice`` row per recipient who has an account) and an e-mail in the recipient's
language with a link to the request, sent by a task once the change is committed.

Who is told (``support.events``):

- a partner's reply: the assigned engineer (nobody while unassigned);
- an engineer's reply or question the partner sees: the requester and the
  organization's program contact (``Organization.contact_email``);
- an internal note: nobody on the partner's side (the assigned engineer, if another
  engineer wrote it);
- picked up (or assigned): the engineer it was given to, unless they took it themselves;
  the requester and the program contact, the first time only;
- closed (withdrawn too): the requester and the program contact, saying whether the
  incident was charged and refunded (the Cloud Solution Provider plan never mentions
  incidents);
- opened: the requester (a receipt, with the first-response time) and the program
  contact, by ``request_notices_opened_due``, a periodic job: opening a request stays
  within its query budget.

Nobody is told of their own action (the receipt for opening aside)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from partnerdesk.accounts.models import User
from partnerdesk.core.emails import portal_url, send_portal_mail
from partnerdesk.core.locks import locked
from partnerdesk.notices.models import RequestNotice, RequestNoticeKind
from partnerdesk.support.events import RequestEvent
from partnerdesk.support.models import RequestNote, SupportRequest
from partnerdesk.support.wording import incident_text

OPENED_WITHIN = datetime.timedelta(days=1)
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Recipient:
    email: str
    language: str
    engineer: bool
    user: User | None = None


def language_of(user: User | None) -> str:
    """The language to write to ``user`` in (the site's for someone without one)."""
    return (user.language if user is not None else "") or settings.LANGUAGE_CODE


def _person(user: User, *, engineer: bool) -> Recipient:
    return Recipient(user.email.lower(), language_of(user), engineer, user)


def partner_side(support_request: SupportRequest, actor: User | None) -> list[Recipient]:
    """The requester and the program contact, once each, without the actor."""
    people: list[Recipient] = []
    requester = support_request.opened_by
    if actor is None or requester.pk != actor.pk:
        people.append(_person(requester, engineer=False))
    contact = (support_request.organization.contact_email or "").strip().lower()
    skip = {requester.email.lower(), actor.email.lower() if actor is not None else ""}
    if contact and contact not in skip:
        user = User.objects.filter(email__iexact=contact).first()
        if user is not None and user.organization_id == support_request.organization_id:
            people.append(_person(user, engineer=False))
        else:  # no account that may see the request: the e-mail only
            people.append(Recipient(contact, language_of(user), False))
    return people


def _assigned_engineer(support_request: SupportRequest, actor: User | None) -> list[Recipient]:
    if support_request.assigned_to_id is None or (
        actor is not None and support_request.assigned_to_id == actor.pk
    ):
        return []
    engineer = User.objects.filter(pk=support_request.assigned_to_id, is_active=True).first()
    return [_person(engineer, engineer=True)] if engineer is not None else []


def _told_before(support_request: SupportRequest, kind: str) -> bool:
    return RequestNotice.objects.filter(
        support_request_id=support_request.pk, kind=kind, recipient_id=support_request.opened_by_id
    ).exists()


def recipients(
    kind: str, support_request: SupportRequest, actor: User | None, note: RequestNote | None
) -> tuple[RequestNoticeKind, list[Recipient]] | None:
    """What ``kind`` of event tells whom; None: nobody."""
    if kind == RequestEvent.OPENED:
        return RequestNoticeKind.OPENED, partner_side(support_request, None)
    if kind in (RequestEvent.PICKED_UP, RequestEvent.ASSIGNED):
        people = _assigned_engineer(support_request, actor)
        if not _told_before(support_request, RequestNoticeKind.PICKED_UP):
            people += partner_side(support_request, actor)
        return RequestNoticeKind.PICKED_UP, people
    if kind == RequestEvent.ATTENTION_NEEDED:
        return RequestNoticeKind.ATTENTION_NEEDED, partner_side(support_request, actor)
    if kind == RequestEvent.REPLY:
        if note is not None and note.internal:
            return RequestNoticeKind.REPLY, _assigned_engineer(support_request, actor)
        if actor is not None and actor.is_staff:
            return RequestNoticeKind.REPLY, partner_side(support_request, actor)
        return RequestNoticeKind.REPLY, _assigned_engineer(support_request, actor)
    if kind == RequestEvent.CLOSED:
        return RequestNoticeKind.CLOSED, partner_side(support_request, actor)
    return None


def tell(
    kind: str,
    *,
    support_request: SupportRequest,
    actor: User | None,
    note: RequestNote | None = None,
) -> list[RequestNotice]:
    """Write the notices now (in the caller's transaction) and send the e-mails once it
    commits."""
    told = recipients(kind, support_request, actor, note)
    if told is None or not told[1]:
        return []
    notice_kind, people = told
    notices = RequestNotice.objects.bulk_create(
        [
            RequestNotice(
                recipient=person.user,
                support_request_id=support_request.pk,
                kind=notice_kind,
                note=note,
            )
            for person in people
            if person.user is not None
        ]
    )
    to = [
        [p.email, p.language, p.engineer]
        for p in people
        if p.email and (p.user is None or p.user.is_active)
    ]
    if to:
        from partnerdesk.notices.tasks import send_request_notice

        note_id = note.pk if note is not None else None
        transaction.on_commit(
            lambda: send_request_notice.enqueue(support_request.pk, notice_kind, note_id, to)
        )
    return notices


def on_request_event(sender, *, kind, support_request, actor, note=None, **kwargs) -> None:
    tell(kind, support_request=support_request, actor=actor, note=note)


# --- what a notice says ------------------------------------------------------------------


def request_notice_message(
    kind: str, support_request: SupportRequest, *, engineer: bool, note: RequestNote | None
) -> str:
    """In the reader's language, at the time it is read."""
    values = {"number": support_request.pk, "title": support_request.title}
    if kind == RequestNoticeKind.OPENED:
        return _("Request #%(number)d is open: %(title)s") % values
    if kind == RequestNoticeKind.PICKED_UP:
        if engineer:
            return _("Request #%(number)d is assigned to you: %(title)s") % values
        return _("A Microsoft support engineer is working on request #%(number)d: %(title)s") % (
            values
        )
    if kind == RequestNoticeKind.REPLY:
        if note is not None and note.internal:
            return _("New internal note on request #%(number)d: %(title)s") % values
        if engineer:
            return _("The partner replied on request #%(number)d: %(title)s") % values
        return _("Microsoft support replied on request #%(number)d: %(title)s") % values
    if kind == RequestNoticeKind.ATTENTION_NEEDED:
        return _(
            "Microsoft support is waiting for your reply on request #%(number)d: %(title)s"
        ) % (values)
    if kind == RequestNoticeKind.CLOSED:
        message = _("Request #%(number)d is closed (%(resolution)s): %(title)s") % {
            **values,
            "resolution": support_request.get_resolution_display(),
        }
        incident = incident_text(support_request)
        return f"{message} · {incident}" if incident else message
    if kind == RequestNoticeKind.SLA_WARNING:
        return _("First response due soon on request #%(number)d: %(title)s") % values
    if kind == RequestNoticeKind.SLA_BREACH:
        return _("First response overdue on request #%(number)d: %(title)s") % values
    return f"#{support_request.pk} {support_request.title}"


def request_link(support_request_id: int, *, engineer: bool) -> str:
    name = "web:staff_request" if engineer else "web:request_detail"
    return portal_url(reverse(name, args=[support_request_id]))


# --- e-mails -----------------------------------------------------------------------------


def request_notice_email(*, request_id: int, kind: str, note_id: int | None, to: list[list]) -> int:
    """E-mail each recipient ``[address, language, engineer]`` in their language."""
    support_request = (
        SupportRequest.objects.select_related("organization", "opened_by", "product", "entitlement")
        .filter(pk=request_id)
        .first()
    )
    if support_request is None:
        return 0
    note = RequestNote.objects.filter(pk=note_id).first() if note_id is not None else None
    sent = 0
    for address, language, engineer in to:
        if note is not None and note.internal and not engineer:
            continue  # never, whatever queued it: partners are not told of internal notes
        with translation.override(language):
            context = {
                "message": request_notice_message(
                    kind, support_request, engineer=engineer, note=note
                ),
                "support_request": support_request,
                "note": note
                if kind in (RequestNoticeKind.REPLY, RequestNoticeKind.ATTENTION_NEEDED)
                else None,
                "opened": kind == RequestNoticeKind.OPENED,
                "incident": incident_text(support_request),
                "link": request_link(support_request.pk, engineer=engineer),
            }
            subject = render_to_string("notices/email/request_subject.txt", context)
            body = render_to_string("notices/email/request_body.txt", context)
        sent += send_portal_mail(" ".join(subject.split()), body, [address], language=language)
    return sent


# --- "opened", swept ---------------------------------------------------------------------


def request_notices_opened_due(*, now: datetime.datetime | None = None) -> int:
    """Tell about every request opened in the last day that has a clock and no "opened"
    notice yet, once: a request being told by another run is skipped (its row locked;
    on SQLite the write lock serialises runs), and the check is made again under the
    lock. A periodic job of ``partnerdesk worker``."""
    now = now or timezone.now()
    opened = RequestNotice.objects.filter(
        support_request_id=OuterRef("pk"), kind=RequestNoticeKind.OPENED
    )
    due = (
        SupportRequest.objects.filter(
            first_response_due__isnull=False, created_at__gte=now - OPENED_WITHIN
        )
        .exclude(Exists(opened))
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    told = 0
    for request_id in list(due):
        with transaction.atomic():
            support_request = locked(
                SupportRequest.objects.filter(pk=request_id), skip_locked=True
            ).first()
            if support_request is None:
                continue  # another run is telling about it
            if RequestNotice.objects.filter(
                support_request_id=request_id, kind=RequestNoticeKind.OPENED
            ).exists():
                continue
            tell(RequestEvent.OPENED, support_request=support_request, actor=None)
            told += 1
    return told
