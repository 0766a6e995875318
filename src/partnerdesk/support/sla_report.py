"""The operators' SLA report: how many first responses were on time, per month and
severity, over the last twelve months, counted by the database in one grouped query."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from partnerdesk.support.models import Severity, SupportRequest

MONTHS = 12


@dataclass(frozen=True)
class Attainment:
    month: datetime.date
    severity: str
    total: int  # requests with a first-response clock
    met: int  # answered (or closed) by the due time
    breached: int  # answered late, or unanswered past the due time
    pending: int  # still running or waiting on the partner

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def percent(self) -> float | None:
        """Met as a share of the decided ones (None: nothing decided yet)."""
        return 100 * self.met / self.decided if self.decided else None

    @property
    def severity_label(self) -> str:
        return Severity(self.severity).label


def first_month(now: datetime.datetime, months: int = MONTHS) -> datetime.datetime:
    """The first instant of the month ``months - 1`` months before ``now``'s."""
    local = timezone.localtime(now)
    year, month = local.year, local.month - (months - 1)
    while month < 1:
        year, month = year - 1, month + 12
    return local.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


def sla_attainment(*, now: datetime.datetime | None = None) -> list[Attainment]:
    """Newest month first, severities A to C; months without a request are left out.
    The states are those of ``support.sla.sla_state``, as conditions on stored times."""
    now = now or timezone.now()
    due = F("first_response_due")
    met = Q(answered__lte=due)
    breached = (
        Q(answered__gt=due)
        | Q(answered__isnull=True, sla_paused_at__isnull=True, first_response_due__lte=now)
        | Q(answered__isnull=True, sla_paused_at__gte=due)
    )
    rows = (
        SupportRequest.objects.filter(
            created_at__gte=first_month(now), first_response_due__isnull=False
        )
        .annotate(
            answered=Coalesce("first_responded_at", "closed_at"),
            month=TruncMonth("created_at"),
        )
        .order_by()
        .values("month", "severity")
        .annotate(
            total=Count("id"),
            met=Count("id", filter=met),
            breached=Count("id", filter=breached),
        )
        .order_by("-month", "severity")
    )
    return [
        Attainment(
            month=timezone.localtime(row["month"]).date()
            if isinstance(row["month"], datetime.datetime)
            else row["month"],
            severity=row["severity"],
            total=row["total"],
            met=row["met"],
            breached=row["breached"],
            pending=row["total"] - row["met"] - row["breached"],
        )
        for row in rows
    ]


def sla_totals(rows: list[Attainment]) -> list[Attainment]:
    """The twelve months together, per severity."""
    totals: dict[str, list[int]] = {}
    for row in rows:
        counts = totals.setdefault(row.severity, [0, 0, 0, 0])
        for i, value in enumerate((row.total, row.met, row.breached, row.pending)):
            counts[i] += value
    return [
        Attainment(None, severity, *counts)  # type: ignore[arg-type]
        for severity, counts in sorted(totals.items())
    ]
