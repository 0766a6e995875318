"""What the operator's home page (``/staff/``) shows: pending activations, the requests
whose first response is due soonest, organizations running low on incidents, and the
latest refunds.

Pure reads: nothing here writes, and each section is one bounded query (``limit`` rows,
by an index's order where there is one) whatever the data size; the first-response
clock's state comes from the stored times (``sla.sla_state_of``), never recomputed with
queries of its own."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import F, Q
from django.utils import timezone

from partnerdesk.benefits.models import (
    Activation,
    ActivationState,
    Entitlement,
    EntitlementState,
    LedgerEntry,
    LedgerKind,
    Unit,
)
from partnerdesk.support.models import RequestStatus, SlaState, SupportRequest
from partnerdesk.support.sla import sla_state_of

LIMIT = 10
# "Low on incidents": this many left or fewer, or this share of the allowance or less.
LOW_REMAINING = 2
LOW_PERCENT = 20


@dataclass(frozen=True)
class Overview:
    activations: list[dict]
    requests: list[dict]
    low: list[dict]
    refunds: list[dict]
    low_remaining: int
    low_percent: int


def pending_activations(*, limit: int = LIMIT) -> list[dict]:
    """The oldest-due first: which organization, which benefit, when it completes."""
    return list(
        Activation.objects.filter(state=ActivationState.PENDING)
        .order_by("due_at", "pk")
        .values(
            "pk",
            "due_at",
            "requested_at",
            "entitlement_id",
            organization_name=F("entitlement__organization__name"),
            benefit_code=F("entitlement__benefit__code"),
            benefit_name=F("entitlement__benefit__name"),
        )[:limit]
    )


_REQUEST_FIELDS = (
    "pk",
    "title",
    "severity",
    "status",
    "first_response_due",
    "sla_warning_at",
    "first_responded_at",
    "sla_paused_at",
    "closed_at",
)


def requests_due_soonest(*, now: datetime.datetime | None = None, limit: int = LIMIT) -> list[dict]:
    """Still waiting for their first response, clock running, the due time nearest (or
    most overdue) first, by the index on ``first_response_due``."""
    now = now or timezone.now()
    labels = dict(SlaState.choices)
    rows = list(
        SupportRequest.objects.filter(
            status__in=RequestStatus.active(),
            first_response_due__isnull=False,
            first_responded_at__isnull=True,
            sla_paused_at__isnull=True,
        )
        .order_by("first_response_due", "pk")
        .values(
            *_REQUEST_FIELDS,
            organization_name=F("organization__name"),
            product_family=F("product__family"),
            product_version=F("product__version"),
        )[:limit]
    )
    for row in rows:
        row["sla_state"] = sla_state_of(row, now)
        row["sla_label"] = labels.get(row["sla_state"], "") if row["sla_state"] else ""
    return rows


def low_on_incidents(
    *,
    remaining: int = LOW_REMAINING,
    percent: int = LOW_PERCENT,
    limit: int = LIMIT,
) -> list[dict]:
    """Active, limited entitlements with ``remaining`` incidents left or fewer, or at most
    ``percent`` % of their allowance: the fewest left first."""
    return list(
        # Incidents: advisory hours are counted in minutes, and read on their own page.
        Entitlement.objects.filter(
            state=EntitlementState.ACTIVE, allowance__gt=0, benefit__unit=Unit.INCIDENTS
        )
        .filter(Q(balance__lte=remaining) | Q(balance__lte=F("allowance") * percent / 100.0))
        .order_by("balance", "expires_on", "pk")
        .values(
            "pk",
            "allowance",
            "balance",
            "expires_on",
            "organization_id",
            organization_name=F("organization__name"),
            benefit_code=F("benefit__code"),
            benefit_name=F("benefit__name"),
        )[:limit]
    )


def recent_refunds(*, limit: int = LIMIT) -> list[dict]:
    """The newest refunds first: whose, for which request, why."""
    return list(
        LedgerEntry.objects.filter(kind=LedgerKind.REFUND)
        .order_by("-created_at", "-pk")
        .values(
            "pk",
            "created_at",
            "delta",
            "note",
            "support_request_id",
            "entitlement_id",
            organization_name=F("entitlement__organization__name"),
            benefit_code=F("entitlement__benefit__code"),
            benefit_name=F("entitlement__benefit__name"),
            request_title=F("support_request__title"),
        )[:limit]
    )


def staff_overview(*, now: datetime.datetime | None = None, limit: int = LIMIT) -> Overview:
    """The four sections: four queries."""
    return Overview(
        activations=pending_activations(limit=limit),
        requests=requests_due_soonest(now=now, limit=limit),
        low=low_on_incidents(limit=limit),
        refunds=recent_refunds(limit=limit),
        low_remaining=LOW_REMAINING,
        low_percent=LOW_PERCENT,
    )
