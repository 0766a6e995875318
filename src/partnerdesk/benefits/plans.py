"""Paid partner support plans: granted by an operator for a term, used like the others."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from partnerdesk.accounts.audit import audit_record
from partnerdesk.accounts.models import User
from partnerdesk.benefits.ids import new_access_id, new_contract_id
from partnerdesk.benefits.ledger import ledger_post
from partnerdesk.benefits.models import (
    Benefit,
    Entitlement,
    EntitlementState,
    LedgerKind,
    PlanGrant,
)
from partnerdesk.core.exceptions import RoleRequired, ValidationFailed
from partnerdesk.partners.models import Organization


def plan_grant_problems(
    *, organization: Organization, plan: Benefit, starts: datetime.date, ends: datetime.date
) -> list[dict[str, str]]:
    today = timezone.localdate()
    problems = []
    if not plan.is_paid_plan:
        problems.append({"path": "plan", "message": _("Choose a paid support plan.")})
    if ends < starts:
        problems.append({"path": "ends", "message": _("The term cannot end before it starts.")})
    if starts > today:
        problems.append(
            {"path": "starts", "message": _("Grant a plan on its first day, not before.")}
        )
    if ends < today:
        problems.append({"path": "ends", "message": _("This term is already over.")})
    current = Entitlement.objects.filter(organization=organization, benefit=plan).current().first()
    if current is not None:
        problems.append(
            {
                "path": "plan",
                "message": _("The organization already has this plan until %(date)s.")
                % {"date": date_format(current.expires_on)},
            }
        )
    return problems


def plan_grant(
    *,
    operator: User,
    organization: Organization,
    plan: Benefit,
    starts: datetime.date,
    ends: datetime.date,
) -> PlanGrant:
    """The plan's entitlement is active at once, with its own Access ID and Contract ID."""
    if not operator.is_staff:
        raise RoleRequired(_("Only operators can grant support plans."))
    with transaction.atomic():
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        problems = plan_grant_problems(
            organization=organization, plan=plan, starts=starts, ends=ends
        )
        if problems:
            raise ValidationFailed(problems)
        entitlement = Entitlement.objects.create(
            organization=organization,
            benefit=plan,
            offer=plan.code,
            state=EntitlementState.ACTIVE,
            allowance=plan.plan_incidents,
            activation_deadline=starts,
            activated_at=timezone.now(),
            expires_on=ends,
            access_id=new_access_id(),
            contract_id=new_contract_id(),
        )
        ledger_post(
            entitlement_id=entitlement.pk,
            kind=LedgerKind.GRANT,
            delta=plan.plan_incidents or 0,
            actor_id=operator.pk,
            note=f"{plan.code} {starts:%Y-%m-%d}..{ends:%Y-%m-%d}",
        )
        grant = PlanGrant.objects.create(
            organization=organization,
            plan=plan,
            starts=starts,
            ends=ends,
            entitlement=entitlement,
            granted_by=operator,
        )
        audit_record(
            action="plan.granted",
            actor=operator,
            organization=organization,
            target=entitlement,
            plan=plan.code,
            starts=starts.isoformat(),
            ends=ends.isoformat(),
        )
    return grant
