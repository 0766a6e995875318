"""Webhook endpoints, the deliveries of events to them, and every attempt at one.

An endpoint's ``cursor`` is the position (``events.Event.position``) of the last event
the fan-out looked at for it: events after it are still to be matched. A delivery is one
event for one endpoint (unique together), sent until an answer in 2xx arrives; each try
is a ``WebhookAttempt`` row, with the answer or the error, so an operator sees what the
receiver said."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class EndpointState(models.TextChoices):
    ACTIVE = "active", _("Active")
    # The retry schedule of a delivery ran out: nothing more is sent until an operator
    # resumes the endpoint; new events still queue up for it, in order.
    FAILING = "failing", pgettext_lazy("webhook state", "Failing")
    # Deleted by an operator: nothing is matched or sent; the history stays.
    DISABLED = "disabled", pgettext_lazy("webhook state", "Disabled")


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", pgettext_lazy("webhook state", "Delivered")
    FAILED = "failed", pgettext_lazy("webhook state", "Failed")


class WebhookEndpoint(models.Model):
    url = models.URLField(_("URL"), max_length=2000)
    # Event types (events.EventType values) sent to it; empty: every type.
    event_types = models.JSONField(_("event types"), default=list, blank=True)
    organization = models.ForeignKey(
        "partners.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the events of every organization."),
    )
    secret = models.CharField(_("signing secret"), max_length=128)
    state = models.CharField(
        _("state"), max_length=16, choices=EndpointState.choices, default=EndpointState.ACTIVE
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cursor = models.BigIntegerField(_("last event position considered"), default=0)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    failure_reason = models.TextField(_("why it is failing"), blank=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str, organization_id: int) -> bool:
        if self.organization_id is not None and self.organization_id != organization_id:
            return False
        return not self.event_types or event_type in self.event_types


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("endpoint"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event = models.ForeignKey(
        "events.Event", verbose_name=_("event"), on_delete=models.CASCADE, related_name="+"
    )
    # The event's, copied: the order per (endpoint, organization) is read from this table.
    organization = models.ForeignKey(
        "partners.Organization",
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    position = models.BigIntegerField(_("event position"))
    state = models.CharField(
        _("state"), max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    # Tries since it was queued, resumed or replayed (the retry schedule counts these).
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    # In flight: a worker claimed it and is sending; another worker may take it over only
    # after this (the claiming worker died).
    leased_until = models.DateTimeField(_("in flight until"), null=True, blank=True)
    lease = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_status = models.PositiveIntegerField(_("last answer"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["endpoint", "position"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_event")
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "organization", "position"],
                condition=Q(state="pending"),
                name="delivery_pending_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} #{self.position} → {self.endpoint.url}"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery,
        verbose_name=_("delivery"),
        on_delete=models.CASCADE,
        related_name="attempt_rows",
    )
    at = models.DateTimeField(_("at"))
    status_code = models.PositiveIntegerField(_("status code"), null=True, blank=True)
    response_body = models.TextField(_("response body"), blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error[:40]} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
