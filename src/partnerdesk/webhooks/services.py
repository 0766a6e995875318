"""Webhooks: registering endpoints, fanning events out to them, and delivering.

Each round of the worker's delivery thread (``webhooks_deliver_due``, after
``events_publish_all``):

1. Fan-out, one transaction: every endpoint that is not disabled gets a delivery for
   each published event after its ``cursor`` that it wants, and its cursor moves on.
2. Claim, one short transaction: the deliveries that are due *and first in line* — per
   (endpoint, organization) only the pending delivery with the lowest position may be
   sent, later ones wait behind it — get a lease (``leased_until``): another worker
   takes one over only once its lease ran out (the worker holding it died). PostgreSQL:
   ``SELECT … FOR NO KEY UPDATE SKIP LOCKED``; SQLite: the IMMEDIATE transaction's
   write lock.
3. Send, outside any transaction, a few at a time in threads (``sending.send``).
4. Record, one transaction per answer: the attempt row; on 2xx the delivery is
   delivered (never before the 2xx arrived: a worker killed mid-send leaves it pending,
   and it is sent again, with the same ``webhook-id``); otherwise it is retried on the
   schedule, and after the last try the delivery is failed and the endpoint failing,
   and the superusers are e-mailed.

Locks are taken endpoint first, then its deliveries.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import logging
import secrets
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, Min, OuterRef, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from partnerdesk.accounts.audit import audit_record
from partnerdesk.accounts.models import User
from partnerdesk.core.emails import portal_url, send_portal_mail
from partnerdesk.core.exceptions import NotFound, ValidationFailed
from partnerdesk.core.locks import locked
from partnerdesk.events.models import Event, EventType
from partnerdesk.events.selectors import event_envelope
from partnerdesk.partners.models import Organization
from partnerdesk.webhooks.exceptions import DeliveryPending, WebhookDisabled, WebhookUrlRefused
from partnerdesk.webhooks.models import (
    DeliveryState,
    EndpointState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from partnerdesk.webhooks.sending import Answer, Message, send
from partnerdesk.webhooks.targets import webhook_target

logger = logging.getLogger("partnerdesk.webhooks")

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# Standard Webhooks: secrets of 24 to 64 random bytes.
SECRET_MIN_BYTES, SECRET_MAX_BYTES = 24, 64
FAN_OUT_BATCH = 1000
DESCRIPTION_MAX = 200


# --- endpoints ------------------------------------------------------------------------------


def webhook_secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _secret_problem(secret: str) -> str | None:
    if not secret.startswith(SECRET_PREFIX):
        return _("A secret starts with whsec_ followed by base64.")
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return _("A secret starts with whsec_ followed by base64.")
    if not SECRET_MIN_BYTES <= len(raw) <= SECRET_MAX_BYTES:
        return _("A secret holds %(min)d to %(max)d bytes (base64 after whsec_).") % {
            "min": SECRET_MIN_BYTES,
            "max": SECRET_MAX_BYTES,
        }
    return None


@dataclass(frozen=True)
class EndpointDraft:
    url: str
    event_types: Sequence[str] = ()
    organization: str | None = None  # a partner_id
    secret: str | None = None
    description: str = ""


def _checked(draft: EndpointDraft) -> tuple[list[str], Organization | None, str]:
    """The draft's event types, organization and secret, or every problem at once."""
    errors: list[dict[str, str]] = []
    try:
        webhook_target(draft.url)
    except WebhookUrlRefused as refused:
        errors += refused.errors
    types = list(dict.fromkeys(draft.event_types))
    for index, value in enumerate(types):
        if value not in EventType.values:
            errors.append(
                {
                    "path": f"events[{index}]",
                    "message": _("Unknown event type: %(type)s.") % {"type": value},
                }
            )
    organization = None
    if draft.organization:
        organization = Organization.objects.filter(partner_id=draft.organization).first()
        if organization is None:
            errors.append(
                {"path": "organization", "message": _("No organization has this partner ID.")}
            )
    secret = draft.secret or webhook_secret_generate()
    problem = _secret_problem(secret)
    if problem:
        errors.append({"path": "secret", "message": problem})
    if len(draft.description) > DESCRIPTION_MAX:
        errors.append(
            {
                "path": "description",
                "message": _("At most %(max)d characters.") % {"max": DESCRIPTION_MAX},
            }
        )
    if errors:
        raise ValidationFailed(errors)
    return types, organization, secret


def webhook_endpoint_create(*, operator: User | None, draft: EndpointDraft) -> WebhookEndpoint:
    """A new endpoint; it is sent the events published from now on."""
    types, organization, secret = _checked(draft)
    with transaction.atomic():
        last = Event.objects.aggregate(last=Max("position"))["last"] or 0
        endpoint = WebhookEndpoint.objects.create(
            url=draft.url.strip(),
            event_types=types,
            organization=organization,
            secret=secret,
            description=draft.description,
            created_by=operator,
            cursor=last,
        )
        audit_record(action="webhook.created", actor=operator, target=endpoint, url=endpoint.url)
    return endpoint


def _locked_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = locked(WebhookEndpoint.objects.filter(pk=endpoint_id)).first()
    if endpoint is None:
        raise NotFound()
    return endpoint


def webhook_endpoint_disable(*, endpoint_id: int, operator: User | None) -> WebhookEndpoint:
    """Deleted, as operators see it: nothing more is matched or sent; the history stays."""
    with transaction.atomic():
        endpoint = _locked_endpoint(endpoint_id)
        if endpoint.state != EndpointState.DISABLED:
            endpoint.state = EndpointState.DISABLED
            endpoint.save(update_fields=["state"])
            audit_record(action="webhook.disabled", actor=operator, target=endpoint)
    return endpoint


def webhook_endpoint_resume(*, endpoint_id: int, operator: User | None) -> WebhookEndpoint:
    """A failing endpoint active again: its failed deliveries are due now, and they and
    the ones that waited behind them go out in order."""
    with transaction.atomic():
        endpoint = _locked_endpoint(endpoint_id)
        if endpoint.state == EndpointState.DISABLED:
            raise WebhookDisabled()
        if endpoint.state == EndpointState.FAILING:
            endpoint.state = EndpointState.ACTIVE
            endpoint.failing_since = None
            endpoint.failure_reason = ""
            endpoint.save(update_fields=["state", "failing_since", "failure_reason"])
            locked(endpoint.deliveries.filter(state=DeliveryState.FAILED)).update(
                state=DeliveryState.PENDING,
                attempts=0,
                next_attempt_at=timezone.now(),
                leased_until=None,
                lease="",
            )
            audit_record(action="webhook.resumed", actor=operator, target=endpoint)
    return endpoint


def webhook_delivery_replay(*, delivery_id: int, operator: User | None) -> WebhookDelivery:
    """A delivered (or failed) delivery sent again, with the same ``webhook-id``; it
    goes before the still pending deliveries of its organization."""
    with transaction.atomic():
        found = WebhookDelivery.objects.filter(pk=delivery_id).values_list("endpoint_id", flat=True)
        if not found:
            raise NotFound()
        endpoint = _locked_endpoint(found[0])
        if endpoint.state == EndpointState.DISABLED:
            raise WebhookDisabled()
        delivery = locked(WebhookDelivery.objects.filter(pk=delivery_id)).get()
        if delivery.state == DeliveryState.PENDING:
            raise DeliveryPending()
        delivery.state = DeliveryState.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        delivery.delivered_at = None
        delivery.leased_until = None
        delivery.lease = ""
        delivery.save()
        audit_record(
            action="webhook.replayed", actor=operator, target=endpoint, delivery=delivery.pk
        )
    return delivery


# --- fan-out --------------------------------------------------------------------------------


def webhooks_fan_out(*, batch: int = FAN_OUT_BATCH) -> int:
    """Deliveries for the published events the endpoints have not looked at yet; how many
    were created. Workers running it at once each take the endpoints the others don't."""
    created = 0
    # A read first, outside any transaction: most rounds have nothing to do, and on
    # SQLite a transaction takes the database's write lock.
    low = WebhookEndpoint.objects.exclude(state=EndpointState.DISABLED).aggregate(
        low=Min("cursor")
    )["low"]
    if low is None or not Event.objects.filter(position__gt=low).exists():
        return 0
    while True:
        with transaction.atomic():
            endpoints = list(
                locked(
                    WebhookEndpoint.objects.exclude(state=EndpointState.DISABLED),
                    skip_locked=True,
                )
            )
            if not endpoints:
                return created
            low = min(e.cursor for e in endpoints)
            events = list(
                Event.objects.filter(position__gt=low)
                .order_by("position")
                .values_list("pk", "position", "type", "organization_id")[:batch]
            )
            if not events:
                return created
            now, last = timezone.now(), events[-1][1]
            rows, moved = [], []
            for endpoint in endpoints:
                if endpoint.cursor >= last:
                    continue
                rows += [
                    WebhookDelivery(
                        endpoint=endpoint,
                        event_id=pk,
                        organization_id=organization_id,
                        position=position,
                        next_attempt_at=now,
                    )
                    for pk, position, type_, organization_id in events
                    if position > endpoint.cursor and endpoint.wants(type_, organization_id)
                ]
                endpoint.cursor = last
                moved.append(endpoint)
            WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
            WebhookEndpoint.objects.bulk_update(moved, ["cursor"])
            created += len(rows)
        if len(events) < batch:
            return created


# --- delivery -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    endpoint_id: int
    lease: str
    message: Message


def retry_schedule() -> list[float]:
    """Seconds to wait after the first, second, … failed try; one try more than there
    are waits, then the delivery has failed."""
    value = settings.PARTNERDESK_WEBHOOKS_RETRY_SCHEDULE
    if isinstance(value, str):
        value = [part for part in value.replace(" ", "").split(",") if part]
    return [float(part) for part in value]


def _body(event: Event) -> bytes:
    return json.dumps(event_envelope(event), separators=(",", ":"), ensure_ascii=False).encode()


def deliveries_due(now: datetime.datetime):
    """Pending deliveries of active endpoints that are due, not in flight, and first in
    line for their endpoint and organization."""
    earlier = WebhookDelivery.objects.filter(
        endpoint=OuterRef("endpoint"),
        organization=OuterRef("organization"),
        state=DeliveryState.PENDING,
        position__lt=OuterRef("position"),
    )
    return (
        WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING,
            endpoint__state=EndpointState.ACTIVE,
            next_attempt_at__lte=now,
        )
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .exclude(Exists(earlier))
    )


def _claim(*, limit: int) -> list[Claim]:
    now = timezone.now()
    until = now + datetime.timedelta(seconds=settings.PARTNERDESK_WEBHOOKS_LEASE)
    if not deliveries_due(now).exists():  # a read, without the lock (see fan-out)
        return []
    with transaction.atomic():
        ids = list(
            locked(deliveries_due(now), skip_locked=True).values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        claims = []
        rows = WebhookDelivery.objects.filter(pk__in=ids).select_related(
            "endpoint", "event__organization"
        )
        for delivery in rows:
            delivery.lease = uuid.uuid4().hex
            delivery.leased_until = until
            delivery.save(update_fields=["lease", "leased_until"])
            claims.append(
                Claim(
                    delivery_id=delivery.pk,
                    endpoint_id=delivery.endpoint_id,
                    lease=delivery.lease,
                    message=Message(
                        url=delivery.endpoint.url,
                        secret=delivery.endpoint.secret,
                        msg_id=str(delivery.event.uid),
                        body=_body(delivery.event),
                    ),
                )
            )
    return claims


def _record(claim: Claim, answer: Answer) -> None:
    now = timezone.now()
    with transaction.atomic():
        endpoint = locked(WebhookEndpoint.objects.filter(pk=claim.endpoint_id)).first()
        delivery = locked(WebhookDelivery.objects.filter(pk=claim.delivery_id)).first()
        if endpoint is None or delivery is None:
            return  # deleted meanwhile
        WebhookAttempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=answer.status_code,
            response_body=answer.body,
            error=answer.error,
            duration_ms=answer.duration_ms,
        )
        if delivery.state != DeliveryState.PENDING:
            return  # delivered by another worker meanwhile (ours had outlived its lease)
        ours = delivery.lease == claim.lease
        delivery.last_status = answer.status_code
        if answer.succeeded:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = now
            delivery.leased_until, delivery.lease = None, ""
            delivery.attempts += 1
            delivery.save()
            return
        if not ours:
            delivery.save(update_fields=["last_status"])
            return  # another worker is trying it now: it schedules what comes next
        delivery.attempts += 1
        delivery.leased_until, delivery.lease = None, ""
        schedule = retry_schedule()
        if delivery.attempts <= len(schedule):
            wait = schedule[delivery.attempts - 1]
            delivery.next_attempt_at = now + datetime.timedelta(seconds=wait)
            delivery.save()
            return
        delivery.state = DeliveryState.FAILED
        delivery.save()
        if endpoint.state == EndpointState.ACTIVE:
            endpoint.state = EndpointState.FAILING
            endpoint.failing_since = now
            endpoint.failure_reason = answer.error
            endpoint.save(update_fields=["state", "failing_since", "failure_reason"])
            audit_record(action="webhook.failing", target=endpoint, reason=answer.error)
            endpoint_id, reason = endpoint.pk, answer.error
            transaction.on_commit(lambda: operators_tell_failing(endpoint_id, reason))


def operators_tell_failing(endpoint_id: int, reason: str) -> int:
    """E-mail every active superuser that the endpoint is failing; how many were sent."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        return 0
    link = portal_url(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]))
    sent = 0
    superusers = User.objects.filter(is_superuser=True, is_active=True).exclude(email="")
    for user in superusers.order_by("pk"):
        with translation.override(user.language or settings.LANGUAGE_CODE):
            subject = _("Webhook endpoint failing: %(url)s") % {"url": endpoint.url}
            body = _(
                "The webhook endpoint %(url)s did not accept an event after every retry. "
                "Nothing more is sent to it until an operator resumes it; new events wait "
                "for it, in order.\n\nLast error: %(reason)s\n\nResume it here: %(link)s"
            ) % {"url": endpoint.url, "reason": reason, "link": link}
            try:
                sent += send_portal_mail(subject, body, [user.email], language=user.language)
            except Exception:  # the mail server's trouble must not stop the deliveries
                logger.exception("could not tell %s that webhook %s fails", user.email, endpoint.pk)
    return sent


def webhooks_deliver_due(*, budget: float | None = None) -> dict[str, int]:
    """One round: fan out, then send what is due (claim, send, record) until nothing is
    due or ``budget`` seconds (PARTNERDESK_WEBHOOKS_ROUND_SECONDS) have passed."""
    created = webhooks_fan_out()
    budget = settings.PARTNERDESK_WEBHOOKS_ROUND_SECONDS if budget is None else budget
    deadline = time.monotonic() + budget
    workers = max(1, int(settings.PARTNERDESK_WEBHOOKS_CONCURRENCY))
    attempted = delivered = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
        while time.monotonic() < deadline:
            claims = _claim(limit=workers)
            if not claims:
                break
            answers = pool.map(lambda claim: send(claim.message), claims)
            for claim, answer in zip(claims, answers, strict=True):
                _record(claim, answer)
                attempted += 1
                delivered += answer.succeeded
                if not answer.succeeded:
                    logger.warning(
                        "webhook delivery %s: %s", claim.delivery_id, answer.error or "failed"
                    )
    return {"created": created, "attempted": attempted, "delivered": delivered}
