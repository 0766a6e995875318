"""Reading the outbox: published events only, by position (see ``models``)."""

from __future__ import annotations

from collections.abc import Sequence

from partnerdesk.events.models import Event, utc_timestamp

MAX_PAGE = 500


def events_after(
    *,
    after: int,
    limit: int = 100,
    organization_id: int | None = None,
    types: Sequence[str] = (),
) -> list[Event]:
    """Published events after position ``after``, oldest first; one organization's, or
    every organization's when ``organization_id`` is None (operators)."""
    found = Event.objects.filter(position__gt=after).select_related("organization")
    if organization_id is not None:
        found = found.filter(organization_id=organization_id)
    if types:
        found = found.filter(type__in=list(types))
    return list(found.order_by("position")[: max(1, min(limit, MAX_PAGE))])


def event_envelope(event: Event) -> dict:
    """What the feed and the webhooks send: the same object both ways."""
    return {
        "id": event.position,
        "uid": str(event.uid),
        "type": event.type,
        "occurred_at": utc_timestamp(event.occurred_at),
        "organization": event.organization.partner_id,
        "data": event.data,
    }
