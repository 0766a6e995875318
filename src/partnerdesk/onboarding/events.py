"""``membership.changed`` for the outbox (``partnerdesk.events``): an organization's
memberships as they stand after the change, in the import format's terms."""

from __future__ import annotations

from collections.abc import Iterable

from partnerdesk.events.models import EventType
from partnerdesk.events.services import NewEvent
from partnerdesk.partners.catalog_snapshot import programs_by_id
from partnerdesk.partners.models import Membership, Organization


def membership_entry(
    *, program: str, offer: str, competency: str | None, solution_area: str | None, starts, ends
) -> dict:
    return {
        "program": program,
        "offer": offer,
        "competency": competency or None,
        "solution_area": solution_area or None,
        "starts": starts.isoformat(),
        "ends": ends.isoformat(),
    }


def stored_memberships(organization_id: int) -> list[dict]:
    programs = programs_by_id()
    found = (
        Membership.objects.filter(organization_id=organization_id)
        .select_related("competency", "solution_area")
        .order_by("starts", "pk")
    )
    return [
        membership_entry(
            program=programs[m.program_id].code,
            offer=m.offer,
            competency=m.competency.name if m.competency else None,
            solution_area=m.solution_area.name if m.solution_area else None,
            starts=m.starts,
            ends=m.ends,
        )
        for m in found
    ]


def membership_changed(
    organization: Organization, *, memberships: Iterable[dict] | None = None, reason: str
) -> NewEvent:
    """The event; ``memberships`` when the caller knows them all (a new organization),
    else they are read as stored."""
    entries = list(memberships) if memberships is not None else stored_memberships(organization.pk)
    return NewEvent(
        EventType.MEMBERSHIP_CHANGED,
        organization.pk,
        {"partner_id": organization.partner_id, "reason": reason, "memberships": entries},
    )
