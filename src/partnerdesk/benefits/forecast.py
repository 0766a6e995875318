"""Forecasts at the current pace: when a limited benefit runs out, and how much of it will
expire unused.

The pace is the net use (uses minus refunds; for hours, reservations and settlements too:
the ledger's ``USE_KINDS``) over a trailing window: the last ``WINDOW_DAYS`` days, or the
days since activation when the benefit was activated more recently. Under
``MIN_HISTORY_DAYS`` days of history there is no forecast (``Basis.TOO_LITTLE_HISTORY``):
a pace measured over a few days says little about a year.

A pure read: one grouped query over the ledger for all the entitlements asked about, and
arithmetic. Amounts are in the ledger's units (incidents, or minutes of advisory hours);
``*_in_unit`` gives them in the benefit's unit.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from math import ceil, floor

from django.db.models import Sum
from django.utils import timezone

from partnerdesk.benefits.models import (
    LEDGER_SCALE,
    USE_KINDS,
    Entitlement,
    EntitlementStatus,
    LedgerEntry,
    in_unit,
)
from partnerdesk.core import sql

WINDOW_DAYS = 90
MIN_HISTORY_DAYS = 14
PACE_PERIOD_DAYS = 30  # the pace is stated per this many days


class Basis(StrEnum):
    """How the pace was measured, or why there is none."""

    LAST_90_DAYS = "last_90_days"
    # Activated fewer than WINDOW_DAYS days ago: the window is the days since activation.
    SINCE_ACTIVATION = "since_activation"
    TOO_LITTLE_HISTORY = "too_little_history"
    # Not activated yet, activation pending, or expired: nothing to forecast.
    NOT_ACTIVE = "not_active"


class Outlook(StrEnum):
    RUNS_OUT = "runs_out"  # before it expires: ``runs_out_on``
    LASTS = "lasts"  # will not run out before it expires (no use in the window included)
    EXHAUSTED = "exhausted"  # nothing left already
    UNLIMITED = "unlimited"


@dataclass(frozen=True)
class Forecast:
    unit: str
    basis: Basis
    outlook: Outlook | None = None
    window_days: int | None = None
    window_used: int | None = None  # net use in the window, never below zero
    runs_out_on: datetime.date | None = None
    unused_at_expiry: int | None = None
    # The day the balance is lost: its expiry, or its membership's end when that is sooner.
    ends_on: datetime.date | None = None

    @property
    def has_pace(self) -> bool:
        return self.window_days is not None

    @property
    def window_used_in_unit(self) -> int | Decimal | None:
        return in_unit(self.window_used, self.unit)

    @property
    def unused_in_unit(self) -> int | Decimal | None:
        return in_unit(self.unused_at_expiry, self.unit)

    @property
    def pace_in_unit(self) -> int | Decimal | None:
        """Net use per ``PACE_PERIOD_DAYS`` days, in the benefit's unit, to two decimals."""
        if self.window_days is None:
            return None
        per_period = Decimal(self.window_used * PACE_PERIOD_DAYS) / Decimal(
            self.window_days * LEDGER_SCALE[self.unit]
        )
        rounded = per_period.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return int(rounded) if rounded == rounded.to_integral_value() else rounded


def unused_share_above(forecast: Forecast, *, allowance: int | None, share: Fraction) -> bool:
    """Whether more than ``share`` of ``allowance`` (ledger units) is forecast to expire
    unused."""
    if not allowance or forecast.unused_at_expiry is None:
        return False
    return Fraction(forecast.unused_at_expiry, allowance) > share


def balance_ends_on(entitlement: Entitlement) -> datetime.date | None:
    """The last day the balance can be used: the expiry, or the last day of the membership
    it goes with when that comes first."""
    days = [d for d in (entitlement.expires_on, entitlement.membership_ends) if d is not None]
    return min(days) if days else None


def _window(entitlement: Entitlement, today: datetime.date) -> tuple[Basis, int | None]:
    if entitlement.status_on(today) not in (EntitlementStatus.ACTIVE, EntitlementStatus.EXHAUSTED):
        return Basis.NOT_ACTIVE, None
    if entitlement.activated_at is None:
        return Basis.LAST_90_DAYS, WINDOW_DAYS
    since = (today - timezone.localtime(entitlement.activated_at).date()).days
    if since >= WINDOW_DAYS:
        return Basis.LAST_90_DAYS, WINDOW_DAYS
    if since < MIN_HISTORY_DAYS:
        return Basis.TOO_LITTLE_HISTORY, None
    return Basis.SINCE_ACTIVATION, since


def window_start(today: datetime.date) -> datetime.datetime:
    """Local midnight ``WINDOW_DAYS`` days before ``today``: where every window begins
    (one activated later has no use before its activation)."""
    start = today - datetime.timedelta(days=WINDOW_DAYS)
    return timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))


def window_use(*, entitlement_ids: list[int], today: datetime.date) -> dict[int, int]:
    """Net use since ``window_start(today)`` per entitlement: one grouped query (per
    thousand entitlements)."""
    used: dict[int, int] = {}
    for chunk in sql.batched(entitlement_ids, 1000):
        rows = (
            LedgerEntry.objects.filter(
                entitlement_id__in=chunk,
                kind__in=sorted(USE_KINDS),
                created_at__gte=window_start(today),
            )
            .values("entitlement_id")
            .annotate(change=Sum("delta"))
            .order_by()
        )
        used.update({row["entitlement_id"]: -row["change"] for row in rows})
    return used


def _half_up(value: Fraction) -> int:
    return floor(value + Fraction(1, 2))


def forecast_of(entitlement: Entitlement, *, today: datetime.date, used_in_window: int) -> Forecast:
    """The forecast from the window's net use (``window_use``); arithmetic only."""
    unit = entitlement.benefit.unit
    basis, days = _window(entitlement, today)
    ends_on = balance_ends_on(entitlement)
    unlimited = entitlement.is_unlimited and basis != Basis.NOT_ACTIVE
    if days is None:
        outlook = Outlook.UNLIMITED if unlimited else None
        return Forecast(unit=unit, basis=basis, outlook=outlook, ends_on=ends_on)
    used = max(used_in_window, 0)
    paced = Forecast(unit=unit, basis=basis, window_days=days, window_used=used, ends_on=ends_on)
    if unlimited:
        return replace(paced, outlook=Outlook.UNLIMITED)
    remaining = entitlement.remaining
    if remaining == 0:
        return replace(paced, outlook=Outlook.EXHAUSTED, unused_at_expiry=0)
    days_left = None if ends_on is None else max((ends_on - today).days, 0)
    if used:
        runs_out_on = today + datetime.timedelta(days=ceil(Fraction(remaining * days, used)))
        if ends_on is None or runs_out_on <= ends_on:
            return replace(
                paced,
                outlook=Outlook.RUNS_OUT,
                runs_out_on=runs_out_on,
                unused_at_expiry=None if ends_on is None else 0,
            )
    unused = None
    if days_left is not None:
        unused = max(_half_up(remaining - Fraction(used * days_left, days)), 0)
    return replace(paced, outlook=Outlook.LASTS, unused_at_expiry=unused)


def entitlement_forecasts(
    *, entitlements: list[Entitlement], today: datetime.date
) -> dict[int, Forecast]:
    """Per entitlement id, its forecast: one query over the ledger for all of them (none
    when none of them is active)."""
    paced = [e.pk for e in entitlements if _window(e, today)[1] is not None]
    used = window_use(entitlement_ids=paced, today=today) if paced else {}
    return {
        e.pk: forecast_of(e, today=today, used_in_window=used.get(e.pk, 0)) for e in entitlements
    }
