"""What stops a partner from opening a support request, known before the form: so the
page says why and what to do instead of offering a form that can only be refused.
Pure reads."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from partnerdesk.accounts.models import User
from partnerdesk.accounts.roles import Role
from partnerdesk.benefits.catalog_snapshot import benefits_by_id
from partnerdesk.benefits.models import Allotment, AllotmentRule
from partnerdesk.benefits.selectors import membership_ended_on
from partnerdesk.partners.catalog_snapshot import program_offers
from partnerdesk.support.selectors import ContractOption, contract_options


class ObstacleKind:
    CSP_ONLY = "csp_only"  # the CSP plan serves the partner's customers only
    MEMBERSHIP_ENDED = "membership_ended"
    NO_PLAN = "no_plan"  # no support plan at all
    NOTHING_USABLE = "nothing_usable"  # plans, none usable now (not activated, …)


@dataclass(frozen=True)
class Obstacle:
    kind: str
    ended_on: datetime.date | None = None
    # Nothing usable: each plan with why it can't be used now.
    plans: list[ContractOption] = field(default_factory=list)
    # CSP-only: whether this account may open requests for customers.
    csp_agent: bool = False


def request_obstacle(*, user: User) -> Obstacle | None:
    """Why this account can open no support request for its organization now, or None.
    Accounts without an organization (operators) are refused further on, as before."""
    organization = user.organization if user.organization_id else None
    if organization is None:
        return None
    if not organization.in_mpn:
        return Obstacle(ObstacleKind.CSP_ONLY, csp_agent=user.has_role(*Role.csp_agents()))
    options = contract_options(user=user)
    if any(o.usable for o in options):
        return None
    ended_on = membership_ended_on(organization=organization, today=timezone.localdate())
    if ended_on is not None:
        return Obstacle(ObstacleKind.MEMBERSHIP_ENDED, ended_on=ended_on, plans=options)
    if not options:
        return Obstacle(ObstacleKind.NO_PLAN)
    return Obstacle(ObstacleKind.NOTHING_USABLE, plans=options)


@dataclass(frozen=True)
class CoveringPlan:
    name: str
    offers: list[str]  # the memberships that grant it; empty for a paid plan
    paid: bool


def covering_plans(deployment: str) -> list[CoveringPlan]:
    """The catalog's plans that would cover a product of ``deployment``, with the offers
    whose allotment rules make a program benefit eligible (the catalog's data, not ifs)."""
    eligible: dict[int, set[str]] = {}
    for benefit_id, offer in (
        AllotmentRule.objects.exclude(allotment=Allotment.NOT_ELIGIBLE)
        .values_list("benefit_id", "offer")
        .distinct()
    ):
        eligible.setdefault(benefit_id, set()).add(offer)
    plans = []
    for benefit in sorted(benefits_by_id().values(), key=lambda b: (b.position, b.code)):
        if not benefit.covers_deployment(deployment):
            continue
        offers = [
            offer.display_name
            for offer in program_offers(benefit.program_id)
            if offer.code in eligible.get(benefit.pk, ())
        ]
        if benefit.is_paid_plan or offers:
            plans.append(CoveringPlan(benefit.display_name, offers, benefit.is_paid_plan))
    return plans
