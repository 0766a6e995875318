from __future__ import annotations

import datetime
from functools import cache

from django.db import connection
from django.db.models import Max, Prefetch
from django.utils.translation import gettext, ngettext, pgettext

from partnerdesk.accounts.models import User
from partnerdesk.benefits.catalog_snapshot import benefits_by_id
from partnerdesk.benefits.models import Activation, Entitlement, EntitlementState, LedgerEntry
from partnerdesk.core import sql
from partnerdesk.core.exceptions import NotAuthorized, NotFound


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


def _allotment_label(rule, *, in_sentence: bool = False) -> str:
    # Inside "%(cloud)s with a cloud competency, …" the word follows a colon in Russian and
    # Polish, where it is written in lower case: a variant of its own, not the cell's word.
    if rule is None or rule.allotment == "not_eligible":
        return pgettext("in a sentence", "Not eligible") if in_sentence else gettext("Not eligible")
    if rule.allotment == "unlimited":
        return pgettext("in a sentence", "Unlimited") if in_sentence else gettext("Unlimited")
    return ngettext("%(count)d incident", "%(count)d incidents", rule.incidents) % {
        "count": rule.incidents
    }


def plan_comparison() -> list[dict]:
    """The free offers and the paid plans side by side, from the catalog's own data."""
    from partnerdesk.benefits.models import AllotmentRule, Benefit, BenefitKind, Coverage
    from partnerdesk.partners.models import Offer

    rules = {
        (r.benefit.covers, r.offer, r.competency_kind): r
        for r in AllotmentRule.objects.select_related("benefit")
    }

    def cell(covers: str, offer: str) -> str:
        if offer == Offer.ACTION_PACK:
            return _allotment_label(rules.get((covers, offer, "none")))
        cloud, other = (rules.get((covers, offer, k)) for k in ("cloud", "other"))
        if _allotment_label(cloud) == _allotment_label(other):
            return _allotment_label(cloud)
        cloud, other = (_allotment_label(r, in_sentence=True) for r in (cloud, other))
        return gettext("%(cloud)s with a cloud competency, %(other)s with another") % {
            "cloud": cloud,
            "other": other,
        }

    columns = [
        {
            "name": label,
            "paid": False,
            "on_premises": cell(Coverage.ON_PREMISES, offer),
            "cloud": cell(Coverage.CLOUD, offer),
            "how": gettext("Included in the membership; a partner admin activates it"),
            "highlights": [],
        }
        for offer, label in Offer.choices
    ]
    for plan in Benefit.objects.filter(kind=BenefitKind.PAID_PLAN).order_by("position"):
        amount = (
            gettext("Unlimited")
            if plan.plan_incidents is None
            else ngettext("%(count)d incident", "%(count)d incidents", plan.plan_incidents)
            % {"count": plan.plan_incidents}
        )
        columns.append(
            {
                "name": plan.display_name,
                "paid": True,
                "on_premises": amount
                if plan.covers_deployment("on_premises")
                else gettext("Not covered"),
                "cloud": amount if plan.covers_deployment("cloud") else gettext("Not covered"),
                "how": gettext("Purchased; the program grants it for a term"),
                "highlights": plan.highlight_lines,
            }
        )
    return columns
