"""Reading webhooks: endpoints, and deliveries with their attempts (never writes)."""

from __future__ import annotations

from django.db.models import Prefetch

from partnerdesk.core.exceptions import NotFound
from partnerdesk.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

DELIVERIES_MAX = 200


def webhook_endpoints() -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.select_related("organization").order_by("pk"))


def webhook_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_related("organization").filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound()
    return endpoint


def webhook_deliveries(
    *, endpoint_id: int, state: str | None = None, before: int | None = None, limit: int = 50
) -> list[WebhookDelivery]:
    """The endpoint's deliveries, newest event first, each with its attempts (oldest
    first); ``before``: only those of events before this position (the next page)."""
    webhook_endpoint(endpoint_id)
    found = WebhookDelivery.objects.filter(endpoint_id=endpoint_id)
    if state:
        found = found.filter(state=state)
    if before is not None:
        found = found.filter(position__lt=before)
    attempts = Prefetch("attempt_rows", queryset=WebhookAttempt.objects.order_by("at", "pk"))
    return list(
        found.select_related("event", "organization")
        .prefetch_related(attempts)
        .order_by("-position")[: max(1, min(limit, DELIVERIES_MAX))]
    )


def webhook_endpoints_failing() -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(state="failing").order_by("failing_since", "pk"))
