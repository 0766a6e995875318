from __future__ import annotations

import datetime
from functools import cache

from django.db import connection
from django.db.models import Max, Prefetch
from django.utils.translation import gettext, pgettext

from partnerdesk.accounts.models import User
from partnerdesk.benefits.catalog_snapshot import benefits_by_id
from partnerdesk.benefits.models import Activation, Entitlement, EntitlementState, LedgerEntry
from partnerdesk.core import sql
from partnerdesk.core.exceptions import NotAuthorized, NotFound
from partnerdesk.core.quantities import quantity_text
from partnerdesk.partners.catalog_snapshot import program_catalog, program_offers


def mpn_organization(user: User):
    organization = user.organization if user.organization_id else None
    if organization is None or not organization.in_mpn:
        # CSP-only accounts (and operators without an organization) have no MPN benefits.
        raise NotAuthorized()
    return organization


def membership_ended_on(*, organization, today: datetime.date) -> datetime.date | None:
    """The day a lapsed MPN organization's last membership ended; None while one is
    current (or starts later), and for an organization that never had one."""
    if organization is None or not organization.in_mpn:
        return None
    memberships = organization.memberships.all()
    if memberships.filter(ends__gte=today).exists():
        return None
    return memberships.aggregate(last=Max("ends"))["last"]


def _with_activations(queryset):
    """Latest activation first, so ``entitlement.latest_activation`` needs no query."""
    return queryset.prefetch_related(
        Prefetch(
            "activations",
            queryset=Activation.objects.select_related("requested_by").order_by("-id"),
        )
    )


@cache
def _benefit_list_query() -> tuple[str, sql.Rows]:
    """An organization's benefits with each one's latest activation and who asked for
    it, in one statement compiled once per process (the page partners open most)."""
    rows = sql.Rows(Entitlement, Activation, User)
    quote = connection.ops.quote_name
    entitlements, activations, users = (quote(m._meta.db_table) for m in rows.models)
    statement = (
        f"SELECT {rows.columns(Entitlement, 'e')}, {rows.columns(Activation, 'a')}, "  # nosec B608
        f"{rows.columns(User, 'u')} FROM {entitlements} e "
        f"LEFT OUTER JOIN {activations} a ON a.id = "
        f"(SELECT MAX(l.id) FROM {activations} l WHERE l.entitlement_id = e.id) "
        f"LEFT OUTER JOIN {users} u ON u.id = a.requested_by_id "
        "WHERE e.organization_id = %s AND e.state <> %s"
    )
    return statement, rows


def benefit_list(*, user: User) -> list[Entitlement]:
    """Pure read: the status of each is derived from its stored dates (``status_on``).
    In the catalog's order (benefit position and code), newest first within one."""
    organization = mpn_organization(user)
    statement, rows = _benefit_list_query()
    with connection.cursor() as cursor:
        cursor.execute(statement, [organization.pk, EntitlementState.LAPSED])
        fetched = cursor.fetchall()
    benefits = benefits_by_id()
    listed = []
    for row in fetched:
        entitlement, activation, requested_by = rows.build(row)
        entitlement.benefit = benefits[entitlement.benefit_id]
        if activation is not None:
            activation.requested_by = requested_by
        entitlement.latest_activation = activation
        listed.append(entitlement)
    listed.sort(key=lambda e: (e.benefit.position, e.benefit.code, -e.created_at.timestamp()))
    return listed


def benefit_get(*, user: User, entitlement_id: int) -> Entitlement:
    mpn_organization(user)
    entitlement = (
        _with_activations(Entitlement.objects.for_user(user).visible())
        .select_related("benefit")
        .filter(pk=entitlement_id)
        .first()
    )
    if entitlement is None:
        raise NotFound()
    return entitlement


def entitlement_ledger(*, entitlement: Entitlement) -> list[LedgerEntry]:
    return list(entitlement.ledger_entries.select_related("actor").order_by("id"))


def ledger_list(*, user: User, entitlement_id: int) -> list[LedgerEntry]:
    return entitlement_ledger(entitlement=benefit_get(user=user, entitlement_id=entitlement_id))


def _allotment_label(rule, *, in_sentence: bool = False, unit: str = "incidents") -> str:
    # Inside "%(cloud)s with a cloud competency, …" the word follows a colon in Russian and
    # Polish, where it is written in lower case: a variant of its own, not the cell's word.
    if rule is None or rule.allotment == "not_eligible":
        return pgettext("in a sentence", "Not eligible") if in_sentence else gettext("Not eligible")
    if rule.allotment == "unlimited":
        return pgettext("in a sentence", "Unlimited") if in_sentence else gettext("Unlimited")
    return quantity_text(rule.amount, unit)


def plan_comparison() -> dict:
    """The programs' offers and the paid plans side by side, from the catalog's own data:
    ``programs`` (each with its offers' columns and whether they add up), ``plans``, and
    all of them as ``columns``."""
    from partnerdesk.benefits.models import AllotmentRule, Benefit, BenefitKind, Coverage, Unit
    from partnerdesk.partners.models import CombinationRule, Qualification

    catalog = program_catalog()
    benefits = benefits_by_id()
    rules: dict[tuple, AllotmentRule] = {}
    for rule in AllotmentRule.objects.all():
        benefit = benefits[rule.benefit_id]
        row = "hours" if benefit.unit == Unit.HOURS else benefit.covers
        rules[(benefit.program_id, row, rule.offer, rule.competency_kind)] = rule

    def cell(program_id: int, row: str, offer) -> str:
        unit = Unit.HOURS if row == "hours" else Unit.INCIDENTS
        kinds = ("cloud", "other") if offer.held_in == Qualification.COMPETENCY else ("none",)
        found = [rules.get((program_id, row, offer.code, kind)) for kind in kinds]
        if row == "hours" and not any(found):
            return gettext("Not included")
        labels = [_allotment_label(rule, unit=unit) for rule in found]
        if len(set(labels)) == 1:
            return labels[0]
        cloud, other = (_allotment_label(r, in_sentence=True, unit=unit) for r in found)
        return gettext("%(cloud)s with a cloud competency, %(other)s with another") % {
            "cloud": cloud,
            "other": other,
        }

    programs = []
    for program in catalog.programs.values():
        columns = [
            {
                "name": offer.display_name,
                "program": program.display_name,
                "paid": False,
                "on_premises": cell(program.pk, Coverage.ON_PREMISES, offer),
                "cloud": cell(program.pk, Coverage.CLOUD, offer),
                "hours": cell(program.pk, "hours", offer),
                "how": gettext("Included in the membership; a partner admin activates it"),
                "highlights": [],
            }
            for offer in program_offers(program.pk)
        ]
        adds_up = program.combination == CombinationRule.SUM
        programs.append({"name": program.display_name, "adds_up": adds_up, "columns": columns})
    plans = []
    for plan in Benefit.objects.filter(kind=BenefitKind.PAID_PLAN).order_by("position"):
        amount = (
            gettext("Unlimited")
            if plan.plan_incidents is None
            else quantity_text(plan.plan_incidents, Unit.INCIDENTS)
        )
        plans.append(
            {
                "name": plan.display_name,
                "program": "",
                "paid": True,
                "on_premises": amount
                if plan.covers_deployment("on_premises")
                else gettext("Not covered"),
                "cloud": amount if plan.covers_deployment("cloud") else gettext("Not covered"),
                # A plan's advisory time is not counted here: its highlights describe it.
                "hours": "",
                "how": gettext("Purchased; the program grants it for a term"),
                "highlights": plan.highlight_lines,
            }
        )
    columns = [column for program in programs for column in program["columns"]] + plans
    return {"programs": programs, "plans": plans, "columns": columns}
