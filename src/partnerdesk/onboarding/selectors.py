"""Reading an organization back in the import format (``docs/import.md``), for the
operators' API: what a CRM compares with its own record, and sends back unchanged to
change nothing. Reads only."""

from __future__ import annotations

import datetime
from typing import Any

from partnerdesk.accounts.roles import ROLE_FIELDS
from partnerdesk.benefits.catalog_snapshot import benefits_by_id
from partnerdesk.benefits.models import Entitlement
from partnerdesk.core.exceptions import NotFound
from partnerdesk.core.quantities import json_number
from partnerdesk.partners.catalog_snapshot import program_code, programs_by_id
from partnerdesk.partners.models import Organization


def organization_by_partner_id(*, partner_id: str) -> Organization:
    organization = Organization.objects.filter(partner_id=partner_id).first()
    if organization is None:
        raise NotFound()
    return organization


def organization_exported(*, organization: Organization) -> dict[str, Any]:
    """The organization as the import takes it: every stored membership (oldest start
    first), user (by address) and customer (by tenant ID)."""
    programs = programs_by_id()
    memberships = [
        {
            "program": programs[m.program_id].code,
            "offer": m.offer,
            "competency": m.competency.name if m.competency_id else None,
            "solution_area": m.solution_area.name if m.solution_area_id else None,
            "starts": m.starts,
            "ends": m.ends,
        }
        for m in organization.memberships.select_related("competency", "solution_area").order_by(
            "starts", "program_id", "offer", "pk"
        )
    ]
    users = [
        {
            "email": user.email,
            "name": user.name,
            "account_type": user.account_type,
            "roles": [role.value for role, field in ROLE_FIELDS.items() if getattr(user, field)],
        }
        for user in organization.users.order_by("email")
    ]
    customers = [
        {"name": c.name, "tenant_id": c.tenant_id}
        for c in organization.customers.order_by("tenant_id")
    ]
    contact = None
    if organization.contact_name or organization.contact_email:
        contact = {"name": organization.contact_name, "email": organization.contact_email}
    return {
        "partner_id": organization.partner_id,
        "name": organization.name,
        "programs": organization.programs,
        "program_contact": contact,
        "tenant_id": organization.tenant_id or None,
        "memberships": memberships,
        "users": users,
        "customers": customers,
    }


def organization_benefits(
    *, organization: Organization, today: datetime.date
) -> list[dict[str, Any]]:
    """The organization's current entitlements, as its memberships derived them: what
    each grants, from which offers, and until when."""
    benefits = benefits_by_id()
    listed = []
    for entitlement in (
        Entitlement.objects.filter(organization=organization)
        .current()
        .order_by("benefit__position", "benefit__code", "pk")
    ):
        entitlement.benefit = benefits[entitlement.benefit_id]
        listed.append(
            {
                "benefit": entitlement.benefit.code,
                "program": program_code(entitlement.benefit.program_id),
                "unit": entitlement.benefit.unit,
                "offer": entitlement.offer,
                "competency": entitlement.competency_name or None,
                "status": entitlement.status_on(today),
                "allowance": json_number(entitlement.allowance_in_unit),
                "used": json_number(entitlement.used_in_unit),
                "remaining": json_number(entitlement.remaining_in_unit),
                "activation_deadline": entitlement.activation_deadline,
                "expires": entitlement.expires,
            }
        )
    return listed
