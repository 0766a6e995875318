"""Use over time, for the charts: incidents used per day, from the ledger."""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db.models import Sum
from django.db.models.functions import TruncDate

from partnerdesk.benefits.models import Entitlement, LedgerEntry, LedgerKind


def usage_series(
    *, entitlements: list[Entitlement], today: datetime.date
) -> dict[int, list[tuple[datetime.date, int]]]:
    """Per entitlement, (day, incidents used by the end of that day), one point per day
    with a change plus the first and the last day: one grouped query for all of them."""
    rows = (
        LedgerEntry.objects.filter(
            entitlement__in=[e.pk for e in entitlements],
            kind__in=[LedgerKind.CONSUME, LedgerKind.REFUND],
        )
        .annotate(day=TruncDate("created_at"))
        .values("entitlement_id", "day")
        .annotate(change=Sum("delta"))
        .order_by("entitlement_id", "day")
    )
    changes: dict[int, list[tuple[datetime.date, int]]] = defaultdict(list)
    for row in rows:
        changes[row["entitlement_id"]].append((row["day"], -row["change"]))
    series = {}
    for entitlement in entitlements:
        start = (entitlement.activated_at or entitlement.created_at).date()
        used, points = 0, [(start, 0)]
        for day, change in changes.get(entitlement.pk, []):
            used += change
            points.append((max(day, start), used))
        points.append((max(today, start), used))
        series[entitlement.pk] = points
    return series
