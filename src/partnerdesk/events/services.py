"""Writing to the outbox, and publishing it.

``event_record`` and ``events_record_many`` are called by the services that make a
change, inside their transaction (they refuse to run outside one: an event written on
its own could outlive the change it tells of, or tell of one that never happened).

``events_publish`` gives committed events their positions, oldest row first; the
worker runs it every second or so, before it delivers webhooks."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from partnerdesk.core import sql
from partnerdesk.events.models import Event, EventType

PUBLISH_BATCH = 5000
# pg_advisory_xact_lock's key for the publisher: one at a time gives positions.
PUBLISHER_LOCK = 0x7064_6576_0001

COLUMNS = ("uid", "type", "organization", "occurred_at", "data")


@dataclass(frozen=True)
class NewEvent:
    type: EventType
    organization_id: int
    data: Mapping[str, Any] = field(default_factory=dict)


def _require_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("an event is recorded in the transaction of the change it tells of")


def _row(event: NewEvent, at: datetime.datetime) -> tuple:
    if event.type not in EventType.values:
        raise ValueError(f"unknown event type {event.type!r}")
    return (uuid.uuid4(), str(event.type), event.organization_id, at, dict(event.data))


def event_record(
    *,
    type: EventType,
    organization_id: int,
    data: Mapping[str, Any],
    at: datetime.datetime | None = None,
) -> None:
    _require_transaction()
    row = _row(NewEvent(type, organization_id, data), at or timezone.now())
    sql.insert(Event, dict(zip(COLUMNS, row, strict=True)))


def events_record_many(events: Iterable[NewEvent], *, at: datetime.datetime | None = None) -> int:
    _require_transaction()
    at = at or timezone.now()
    rows = [_row(e, at) for e in events]
    if rows:
        sql.insert_many(Event, COLUMNS, rows)
    return len(rows)


def _publisher_lock() -> None:
    # SQLite: the IMMEDIATE transaction already holds the database's write lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PUBLISHER_LOCK])


def events_publish(*, limit: int = PUBLISH_BATCH) -> int:
    """Give the committed events without a position the next positions, in row order;
    returns how many. Safe to run in any number of processes at once (they take turns)."""
    # A read first, outside any transaction: most rounds (every second) find nothing, and
    # on SQLite a transaction takes the database's write lock.
    if not Event.objects.filter(position__isnull=True).exists():
        return 0
    with transaction.atomic():
        _publisher_lock()
        pending = list(
            Event.objects.filter(position__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        if not pending:
            return 0
        last = Event.objects.aggregate(last=Max("position"))["last"] or 0
        sql.update_many(Event, ("position",), [(last + n, pk) for n, pk in enumerate(pending, 1)])
    return len(pending)


def events_publish_all() -> int:
    """Everything that is waiting (the periodic job; tests)."""
    total = 0
    while published := events_publish():
        total += published
    return total
