"""The benefits' events for the outbox (``partnerdesk.events``): the entitlement as every
event shows it, and the balance's crossings that the ledger reports.

Quantities are in the benefit's unit (incidents, or hours as a number to the minute), as
the API shows them; the ledger's minutes never leave partnerdesk."""

from __future__ import annotations

import datetime

from partnerdesk.benefits.catalog_snapshot import benefits_by_id
from partnerdesk.benefits.models import in_unit
from partnerdesk.core.quantities import json_number
from partnerdesk.events.models import EventType
from partnerdesk.events.services import NewEvent
from partnerdesk.partners.catalog_snapshot import program_code

# balance.low: the remaining balance falls to this share of the allowance (or below),
# before it is used up (entitlement.exhausted then).
LOW_SHARE = 0.25


def entitlement_data(
    *,
    entitlement_id: int,
    benefit_id: int,
    allowance: int | None,
    remaining: int,
    expires_on: datetime.date | None,
) -> dict:
    benefit = benefits_by_id()[benefit_id]
    return {
        "id": entitlement_id,
        "benefit": benefit.code,
        "program": program_code(benefit.program_id),
        "unit": benefit.unit,
        "allowance": json_number(in_unit(allowance, benefit.unit)),
        "remaining": None if allowance is None else json_number(in_unit(remaining, benefit.unit)),
        "expires_on": expires_on.isoformat() if expires_on else None,
    }


def of_entitlement(entitlement) -> dict:
    return entitlement_data(
        entitlement_id=entitlement.pk,
        benefit_id=entitlement.benefit_id,
        allowance=entitlement.allowance,
        remaining=entitlement.balance,
        expires_on=entitlement.expires_on,
    )


def is_low(balance: int, allowance: int | None) -> bool:
    return allowance is not None and 0 < balance <= allowance * LOW_SHARE


def balance_crossings(
    *,
    organization_id: int,
    before: int,
    after: int,
    allowance: int | None,
    data: dict,
) -> list[NewEvent]:
    """What a change of a limited balance from ``before`` to ``after`` tells: used up
    (``entitlement.exhausted``), or fallen to a quarter of the allowance
    (``balance.low``); each once per crossing, not on every later use."""
    if allowance is None or after >= before:
        return []
    if before > 0 >= after:
        return [NewEvent(EventType.ENTITLEMENT_EXHAUSTED, organization_id, {"entitlement": data})]
    if is_low(after, allowance) and not is_low(before, allowance):
        share = {"low_share": LOW_SHARE}
        return [NewEvent(EventType.BALANCE_LOW, organization_id, {"entitlement": data, **share})]
    return []
