"""What happens to a support request, told to whoever listens: the notices app turns it
into in-portal notices and e-mails (support cannot import notices: layers import
downward). ``emit`` is called inside the transaction that made the change, so a
receiver's own rows commit or roll back with it; e-mails go out on commit. The same
transaction writes the outbox's events (``partnerdesk.events``): a request opened, its
status changed."""

from __future__ import annotations

from django.db import models
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _

from partnerdesk.events.models import EventType
from partnerdesk.events.services import NewEvent, event_record
from partnerdesk.support.catalog_snapshot import catalog


class RequestEvent(models.TextChoices):
    OPENED = "opened", _("Opened")
    PICKED_UP = "picked_up", _("Picked up")
    ASSIGNED = "assigned", _("Assigned")
    REPLY = "reply", _("Replied")
    ATTENTION_NEEDED = "attention_needed", _("Waiting for the partner")
    CLOSED = "closed", _("Closed")


# kwargs: kind (RequestEvent), support_request, actor (User), note (RequestNote | None)
request_event = Signal()


def request_data(support_request) -> dict:
    """A support request as the outbox's events show it."""
    categories = catalog().categories
    if support_request.category_id is None:
        category = categories.get("technical")
    else:
        category = next(
            (c for c in categories.values() if c.pk == support_request.category_id), None
        )
    return {
        "id": support_request.pk,
        "title": support_request.title,
        "status": support_request.status,
        "resolution": support_request.resolution or None,
        "severity": support_request.severity,
        "category": category.code if category is not None else None,
        "product_id": support_request.product_id,
        "customer_id": support_request.customer_id,
        "entitlement_id": support_request.entitlement_id,
    }


def opened_event(support_request) -> NewEvent:
    return NewEvent(
        EventType.SUPPORT_REQUEST_OPENED,
        support_request.organization_id,
        {"support_request": request_data(support_request)},
    )


def record_status_change(support_request) -> None:
    """``support_request.status_changed`` when the status differs from the one it was
    loaded with (every change of status goes through a locked load, then here)."""
    previous = getattr(support_request, "loaded_status", None)
    if previous is None or previous == support_request.status:
        return
    event_record(
        type=EventType.SUPPORT_REQUEST_STATUS_CHANGED,
        organization_id=support_request.organization_id,
        data={
            "support_request": request_data(support_request),
            "previous_status": previous,
        },
    )
    support_request.loaded_status = support_request.status


def emit(kind: RequestEvent, *, support_request, actor, note=None) -> None:
    record_status_change(support_request)
    request_event.send(
        sender=type(support_request),
        kind=kind,
        support_request=support_request,
        actor=actor,
        note=note,
    )
