"""The outbox: what others care about, written in the same transaction as the change
itself (a rolled-back charge leaves no ``incident.charged``), read by the events feed
and delivered by the webhooks.

An event's ``position`` is its place in the published order, given by the publisher
(``services.events_publish``) after the event's transaction committed. Readers follow
positions, never row ids: on PostgreSQL two transactions take ids in one order and may
commit in the other, and a reader following ids would step over the one that committed
last. A position is given only to committed rows, in the order the publisher sees them,
so a cursor never skips one."""

from __future__ import annotations

import datetime
import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def utc_timestamp(at: datetime.datetime) -> str:
    """A time in an event, as every event writes it: ISO 8601 in UTC, with ``Z``."""
    return at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


class EventType(models.TextChoices):
    ENTITLEMENT_ACTIVATED = "entitlement.activated", _("Benefit activated")
    ENTITLEMENT_EXPIRING = "entitlement.expiring", _("Benefit expiring")
    ENTITLEMENT_EXHAUSTED = "entitlement.exhausted", _("Benefit used up")
    INCIDENT_CHARGED = "incident.charged", _("Incident charged")
    INCIDENT_REFUNDED = "incident.refunded", _("Incident refunded")
    HOURS_SETTLED = "hours.settled", _("Hours settled")
    BALANCE_LOW = "balance.low", _("Balance low")
    SUPPORT_REQUEST_OPENED = "support_request.opened", _("Support request opened")
    SUPPORT_REQUEST_STATUS_CHANGED = (
        "support_request.status_changed",
        _("Support request status changed"),
    )
    MEMBERSHIP_CHANGED = "membership.changed", _("Membership changed")


class Event(models.Model):
    uid = models.UUIDField(_("ID"), default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(_("type"), max_length=48, choices=EventType.choices)
    organization = models.ForeignKey(
        "partners.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    occurred_at = models.DateTimeField(_("at"))
    data = models.JSONField(_("data"), default=dict)
    position = models.BigIntegerField(_("position"), null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["position", "id"]
        indexes = [
            models.Index(fields=["organization", "position"], name="event_org_position"),
            models.Index(
                fields=["id"], condition=Q(position__isnull=True), name="event_unpublished"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.position or '-'}"
