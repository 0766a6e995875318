"""The request list as CSV, for the API's export and the portal's: the same filters and
order as the list, read in chunks through a server-side cursor (PostgreSQL) and written a
few hundred rows at a time, so a million requests never sit in memory.

Written as every partnerdesk CSV is (``core.csvfile``): UTF-8 with a byte-order mark
(Excel opens it with Cyrillic and Polish letters intact; without the mark it guesses the
ANSI code page), header names that are the API's field names, the same in every
language, and no text cell a spreadsheet would run as a formula."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from django.utils import timezone

from partnerdesk.accounts.models import User
from partnerdesk.core.csvfile import csv_pieces
from partnerdesk.support.finding import RequestFilters, order_by_of
from partnerdesk.support.models import SupportRequest
from partnerdesk.support.selectors import requests_found, topic_name
from partnerdesk.support.sla import sla_state_of

CHUNK_ROWS = 2000  # fetched from the database at a time

COLUMNS = {
    "id": "id",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "status": "status",
    "resolution": "resolution",
    "severity": "severity",
    "product_id": "product_id",
    "topic_id": "topic_id",
    "title": "title",
    "partner_id": "organization__partner_id",
    "organization": "organization__name",
    "customer": "customer__name",
    "opened_by": "opened_by__email",
    "assigned_to": "assigned_to__email",
    "charged": "charged",
    "first_response_due": "first_response_due",
    "sla_warning_at": "sla_warning_at",
    "first_responded_at": "first_responded_at",
    "sla_paused_at": "sla_paused_at",
    "closed_at": "closed_at",
    "refunded_at": "refunded_at",
}
HEADER = [
    "id",
    "created_at",
    "updated_at",
    "status",
    "resolution",
    "severity",
    "product",
    "topic",
    "title",
    "partner_id",
    "organization",
    "customer",
    "opened_by",
    "assigned_to",
    "charged",
    "first_response_due",
    "sla_state",
    "first_responded_at",
    "closed_at",
    "refunded_at",
]


def export_filename(today: datetime.date | None = None, *, every: bool = False) -> str:
    name = "all-support-requests" if every else "support-requests"
    return f"{name}-{(today or timezone.localdate()).isoformat()}.csv"


def _line(values: dict, snapshot, now: datetime.datetime) -> list:
    product = snapshot.products.get(values["product_id"])
    topic = snapshot.topics.get(values["topic_id"])
    row = {
        **values,
        "product": product.name if product is not None else values["product_id"],
        "topic": topic_name(topic) if topic is not None else None,
        "sla_state": sla_state_of(values, now),
    }
    return [row[name] for name in HEADER]


def export_lines(*, user: User, filters: RequestFilters) -> Iterator[str]:
    """The CSV text, in pieces: the mark and the header first, then the rows."""
    found = requests_found(user=user, filters=filters)
    return _lines(found.order_by(*order_by_of(filters.ordering)))


def every_request_lines() -> Iterator[str]:
    """The operators' export: every organization's requests, oldest first (by id, the
    primary key's order, which a cursor walks without sorting a million rows)."""
    return _lines(SupportRequest.objects.order_by("id"))


def _lines(ordered) -> Iterator[str]:
    from partnerdesk.support.catalog_snapshot import catalog

    snapshot = catalog()
    now = timezone.now()
    rows = ordered.values_list(*COLUMNS.values()).iterator(chunk_size=CHUNK_ROWS)
    return csv_pieces(
        HEADER,
        (_line(dict(zip(COLUMNS, values, strict=True)), snapshot, now) for values in rows),
    )
