"""What happens to a support request, told to whoever listens: the notices app turns it
into in-portal notices and e-mails (support cannot import notices: layers import
downward). ``emit`` is called inside the transaction that made the change, so a
receiver's own rows commit or roll back with it; e-mails go out on commit."""

from __future__ import annotations

from django.db import models
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _


class RequestEvent(models.TextChoices):
    OPENED = "opened", _("Opened")
    PICKED_UP = "picked_up", _("Picked up")
    ASSIGNED = "assigned", _("Assigned")
    REPLY = "reply", _("Replied")
    ATTENTION_NEEDED = "attention_needed", _("Waiting for the partner")
    CLOSED = "closed", _("Closed")


# kwargs: kind (RequestEvent), support_request, actor (User), note (RequestNote | None)
request_event = Signal()


def emit(kind: RequestEvent, *, support_request, actor, note=None) -> None:
    request_event.send(
        sender=type(support_request),
        kind=kind,
        support_request=support_request,
        actor=actor,
        note=note,
    )
