"""Writes for entitlements: keeping them in step with memberships, the periodic refresh,
manual adjustments. Balances change only through ``benefits.ledger``."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.accounts.audit import audit_record
from partnerdesk.benefits.catalog_snapshot import benefits_by_id
from partnerdesk.benefits.exceptions import IncidentsExhausted
from partnerdesk.benefits.ledger import Balance, Posting, ledger_post, ledger_post_many
from partnerdesk.benefits.locks import entitlements_lock
from partnerdesk.benefits.models import (
    CURRENT_STATES,
    ActivationState,
    AllotmentRule,
    Benefit,
    Entitlement,
    EntitlementState,
    LedgerEntry,
    LedgerKind,
)
from partnerdesk.core import sql
from partnerdesk.core.exceptions import RoleRequired, ValidationFailed
from partnerdesk.partners.catalog_snapshot import ProgramCatalog, program_catalog, programs_by_id
from partnerdesk.partners.locks import organization_lock
from partnerdesk.partners.models import (
    CombinationRule,
    Competency,
    CompetencyKind,
    Membership,
    Organization,
    Program,
    Qualification,
    SolutionArea,
)


@dataclass(frozen=True)
class BestAllotment:
    """What an organization's memberships grant of one benefit: the allowance (None is
    unlimited), the membership the entitlement names (the best one's, or where offers add
    up the one that can be activated longest), and every offer that contributed."""

    allowance: int | None
    membership: Membership
    offers: tuple[str, ...] = ()
    activation_deadline: datetime.date | None = None
    qualification: str = ""

    def beats(self, other: BestAllotment | None) -> bool:
        if other is None:
            return True
        return self._rank() > other._rank()

    def _rank(self) -> tuple:
        allowance = float("inf") if self.allowance is None else self.allowance
        return (allowance, self.activation_deadline or self.membership.ends)


@dataclass
class SyncResult:
    created: list[Entitlement] = field(default_factory=list)
    changed: list[Entitlement] = field(default_factory=list)
    lapsed: list[Entitlement] = field(default_factory=list)


def grants_on(membership: Membership, day: datetime.date, program: Program) -> bool:
    """Whether a membership grants its benefits on ``day``: while it runs, or where
    benefits are activated within months of the start, until the last date to activate."""
    if membership.starts > day:
        return False
    if program.benefits_outlive_membership:
        # Until the last date to activate, even past the membership's end (a benefit
        # activated by then lasts its term: see _outlives_membership).
        return day <= program.activation_deadline(starts=membership.starts, ends=membership.ends)
    return day <= membership.ends


def best_allotments(
    *,
    memberships: list[Membership],
    rules: list[AllotmentRule],
    catalog: ProgramCatalog | None = None,
    benefits: dict[int, Benefit] | None = None,
) -> dict[int, BestAllotment]:
    """Per benefit, what the memberships of the benefit's program grant: within one offer
    the best membership counts; across offers the best allotment wins (mpn-2021) or the
    allotments add up, unlimited winning (ai-cloud-2025), as the program says. A run of
    many calls passes the programs and benefits it read once."""
    catalog = catalog or program_catalog()
    benefits = benefits or benefits_by_id()
    by_cell = {(r.benefit_id, r.offer, r.competency_kind): r for r in rules if r.is_eligible}
    benefit_ids = sorted({r.benefit_id for r in rules})
    result: dict[int, BestAllotment] = {}
    for benefit_id in benefit_ids:
        program = catalog.programs.get(benefits[benefit_id].program_id)
        if program is None:
            continue
        per_offer: dict[str, BestAllotment] = {}
        for membership in memberships:
            if membership.program_id != program.pk:
                continue
            offer = catalog.offers.get((program.pk, membership.offer))
            if offer is None:
                continue
            kind = (
                membership.competency_kind
                if offer.held_in == Qualification.COMPETENCY
                else CompetencyKind.NONE
            )
            rule = by_cell.get((benefit_id, membership.offer, kind))
            if rule is None:
                continue
            candidate = BestAllotment(
                allowance=rule.allowance_for(benefits[benefit_id]),
                membership=membership,
                offers=(membership.offer,),
                activation_deadline=program.activation_deadline(
                    starts=membership.starts, ends=membership.ends
                ),
                qualification=_qualification(membership),
            )
            if candidate.beats(per_offer.get(membership.offer)):
                per_offer[membership.offer] = candidate
        if not per_offer:
            continue
        if program.combination == CombinationRule.SUM:
            result[benefit_id] = _added_up(per_offer, catalog)
        else:
            result[benefit_id] = max(per_offer.values(), key=BestAllotment._rank)
    return result


def _added_up(per_offer: dict[str, BestAllotment], catalog) -> BestAllotment:
    parts = sorted(
        per_offer.values(),
        key=lambda a: catalog.offers[(a.membership.program_id, a.offers[0])].position,
    )
    allowances = [a.allowance for a in parts]
    latest = max(parts, key=lambda a: a.activation_deadline)
    return BestAllotment(
        allowance=None if None in allowances else sum(allowances),
        membership=latest.membership,
        offers=tuple(a.offers[0] for a in parts),
        activation_deadline=latest.activation_deadline,
        qualification=", ".join(a.qualification for a in parts if a.qualification),
    )


def _qualification(membership: Membership) -> str:
    if membership.competency_id:
        return membership.competency.name
    if membership.solution_area_id:
        return membership.solution_area.name
    return ""


def _resized_balance(entitlement: Entitlement, allowance: int | None) -> int:
    """The balance after a resize: what the new allowance leaves after the uses so far
    (an unlimited one keeps its balance)."""
    if allowance is None:
        return entitlement.balance
    return max(allowance - entitlement.used, 0)


def entitlements_sync(
    *, organization: Organization, today: datetime.date | None = None, actor_id: int | None = None
) -> SyncResult:
    """Bring the organization's entitlements in step with its memberships active ``today``:
    create what a membership now grants, re-size what changed, lapse what no longer has a
    granting membership."""
    today = today or timezone.localdate()
    result = SyncResult()
    with transaction.atomic():
        # Serialises concurrent syncs of one organization; the lock order is core.locks'.
        organization_lock(organization.pk)
        programs = programs_by_id()
        memberships = [
            m
            for m in Membership.objects.filter(organization=organization, starts__lte=today)
            .select_related("competency", "solution_area")
            .order_by("pk")
            if grants_on(m, today, programs[m.program_id])
        ]
        rules = list(AllotmentRule.objects.all())
        best = best_allotments(memberships=memberships, rules=rules)
        current = {}
        benefits = benefits_by_id()
        for entitlement in entitlements_lock(organization=organization, state__in=CURRENT_STATES):
            entitlement.benefit = benefits[entitlement.benefit_id]
            if entitlement.expires_on is not None and entitlement.expires_on < today:
                # The term is over; a membership still active grants a new one below.
                _end(entitlement=entitlement, state=EntitlementState.EXPIRED, actor_id=actor_id)
            elif not entitlement.benefit.is_paid_plan:
                current[entitlement.benefit_id] = entitlement
        for benefit_id, entitlement in current.items():
            if benefit_id not in best and not _outlives_membership(entitlement, programs):
                _end(entitlement=entitlement, state=EntitlementState.LAPSED, actor_id=actor_id)
                result.lapsed.append(entitlement)
        for benefit_id, allotment in best.items():
            entitlement = current.get(benefit_id)
            if entitlement is not None and _outlives_membership(entitlement, programs):
                # Activated for its term: memberships that end take nothing away, new
                # ones add to it.
                allotment = _at_least(allotment, entitlement)
            if entitlement is None:
                result.created.append(
                    _grant(
                        organization=organization,
                        benefit_id=benefit_id,
                        allotment=allotment,
                        actor_id=actor_id,
                    )
                )
            elif _resize(entitlement=entitlement, allotment=allotment, actor_id=actor_id):
                result.changed.append(entitlement)
        Organization.objects.filter(pk=organization.pk).update(entitlements_synced_on=today)
        organization.entitlements_synced_on = today
    return result


def _outlives_membership(entitlement: Entitlement, programs: dict) -> bool:
    program = programs.get(entitlement.benefit.program_id)
    return (
        program is not None
        and program.benefits_outlive_membership
        and entitlement.state == EntitlementState.ACTIVE
    )


def _at_least(allotment: BestAllotment, entitlement: Entitlement) -> BestAllotment:
    """What an activated entitlement keeps: the larger allowance, and every offer that
    granted it this term (an offer that ended still counts in what it gave)."""
    offers = tuple(dict.fromkeys([*entitlement.offer.split("+"), *allotment.offers]))
    if allotment.allowance is None or entitlement.allowance is None:
        return replace(allotment, allowance=None, offers=offers)
    return replace(
        allotment, allowance=max(allotment.allowance, entitlement.allowance), offers=offers
    )


@dataclass(frozen=True)
class AllotmentCatalog:
    """The allotment rules and competencies, read once for a run of many
    ``entitlements_open_many`` calls (an import writes in many short transactions)."""

    rules: list[AllotmentRule]
    competencies: dict[int, Competency]
    solution_areas: dict[int, SolutionArea]
    programs: ProgramCatalog
    benefits: dict[int, Benefit]

    @classmethod
    def load(cls) -> AllotmentCatalog:
        return cls(
            rules=list(AllotmentRule.objects.all()),
            competencies={c.pk: c for c in Competency.objects.all()},
            solution_areas={a.pk: a for a in SolutionArea.objects.all()},
            programs=program_catalog(),
            benefits=benefits_by_id(),
        )


def entitlements_open_many(
    *,
    organizations: list[Organization],
    memberships: list[Membership],
    allotments: AllotmentCatalog | None = None,
) -> int:
    """Open the entitlements of organizations created in this transaction (they have none
    yet), in bulk: what ``_grant`` writes one by one, the grants posted through
    ``ledger_post_many``. Returns how many organizations were derived."""
    today = timezone.localdate()
    allotments = allotments or AllotmentCatalog.load()
    rules, competencies = allotments.rules, allotments.competencies
    programs = allotments.programs.programs
    by_organization: dict[int, list[Membership]] = {}
    for membership in memberships:
        if grants_on(membership, today, programs[membership.program_id]):
            membership.competency = competencies.get(membership.competency_id)
            membership.solution_area = allotments.solution_areas.get(membership.solution_area_id)
            by_organization.setdefault(membership.organization_id, []).append(membership)
    columns = ("organization_id", "benefit_id", "allowance", *ENTITLEMENT_SOURCE_FIELDS)
    rows, grants = [], []
    notes: dict[tuple, str] = {}  # one label per distinct membership (offer, dates, …)
    for organization in organizations:
        best = best_allotments(
            memberships=by_organization.get(organization.pk, []),
            rules=rules,
            catalog=allotments.programs,
            benefits=allotments.benefits,
        )
        for benefit_id, allotment in best.items():
            source = _source_fields(allotment, programs)
            sourced = (source[name] for name in ENTITLEMENT_SOURCE_FIELDS)
            rows.append((organization.pk, benefit_id, allotment.allowance, *sourced))
            membership = allotment.membership
            key = (source["offer"], source["competency_name"], membership.starts, membership.ends)
            if key not in notes:
                notes[key] = _grant_note(allotment)
            grants.append((allotment.allowance or 0, notes[key]))
    pks = sql.insert_rows(Entitlement, columns, rows, returning=True)
    ledger_post_many(
        Posting(entitlement_id=pk, kind=LedgerKind.GRANT, delta=delta, note=note)
        for pk, (delta, note) in zip(pks, grants, strict=True)
    )
    Organization.objects.filter(pk__in=[o.pk for o in organizations]).update(
        entitlements_synced_on=today
    )
    return len(organizations)


def entitlements_refresh_due(*, today: datetime.date | None = None) -> int:
    """Periodic job: re-derive each organization whose entitlements the calendar changed
    since its last sync (a membership began or ended, a term ran out), and mark the rest
    as checked. Reads derive today's status from the stored dates meanwhile, so nobody
    waits for this job; it records what the dates already say. Returns how many
    organizations were re-derived."""
    today = today or timezone.localdate()
    stale = Organization.objects.filter(
        Q(entitlements_synced_on__lt=today) | Q(entitlements_synced_on__isnull=True)
    )
    since = OuterRef("entitlements_synced_on")
    crossed = Membership.objects.filter(organization=OuterRef("pk")).filter(
        Q(starts__gt=since, starts__lte=today) | Q(ends__gte=since, ends__lt=today)
    )
    calendar = stale.filter(Q(entitlements_synced_on__isnull=True) | Exists(crossed))
    ran_out = Entitlement.objects.filter(
        Q(state=EntitlementState.ACTIVE, expires_on__lt=today)
        | Q(state=EntitlementState.NOT_ACTIVATED, activation_deadline__lt=today)
    ).values("organization_id")
    due = Organization.objects.filter(Q(pk__in=calendar.values("pk")) | Q(pk__in=ran_out)).order_by(
        "pk"
    )
    count = 0
    for organization in due.iterator(chunk_size=1000):
        entitlements_sync(organization=organization, today=today)
        count += 1
    stale.update(entitlements_synced_on=today)
    return count


def entitlement_ids_viewed(*, user, entitlement: Entitlement) -> None:
    """Who looked at a contract's Access ID and Contract ID, for the audit log: a write,
    so the page and the endpoint call it in plain sight rather than a selector."""
    if entitlement.contract_id:
        audit_record(
            action="ids.viewed",
            actor=user,
            organization_id=entitlement.organization_id,
            target=entitlement,
        )


ENTITLEMENT_SOURCE_FIELDS = (
    "membership_id",
    "offer",
    "competency_name",
    "activation_deadline",
    "membership_ends",
)


def _source_fields(allotment: BestAllotment, programs: dict) -> dict:
    membership = allotment.membership
    program = programs[membership.program_id]
    return {
        "membership_id": membership.pk,
        "offer": "+".join(allotment.offers),
        "competency_name": allotment.qualification,
        "activation_deadline": allotment.activation_deadline,
        "membership_ends": None if program.benefits_outlive_membership else membership.ends,
    }


def _grant_note(allotment: BestAllotment) -> str:
    """The ledger's note for a grant or resize: the granting membership, and where offers
    add up, the offers."""
    if len(allotment.offers) > 1:
        return f"{'+'.join(allotment.offers)} ({allotment.membership})"
    return str(allotment.membership)


def _grant(
    *, organization: Organization, benefit_id: int, allotment: BestAllotment, actor_id: int | None
) -> Entitlement:
    entitlement = Entitlement.objects.create(
        organization=organization,
        benefit_id=benefit_id,
        allowance=allotment.allowance,
        **_source_fields(allotment, programs_by_id()),
    )
    ledger_post(
        entitlement_id=entitlement.pk,
        kind=LedgerKind.GRANT,
        delta=allotment.allowance or 0,
        actor_id=actor_id,
        note=_grant_note(allotment),
    )
    entitlement.refresh_from_db()
    return entitlement


def _resize(*, entitlement: Entitlement, allotment: BestAllotment, actor_id: int | None) -> bool:
    source = _source_fields(allotment, programs_by_id())
    stale = [name for name, value in source.items() if getattr(entitlement, name) != value]
    changed = bool(stale)
    if stale:
        for name in stale:
            setattr(entitlement, name, source[name])
        entitlement.save(update_fields=[name.removesuffix("_id") for name in stale])
    if entitlement.allowance != allotment.allowance:
        target = _resized_balance(entitlement, allotment.allowance)
        ledger_post(
            entitlement_id=entitlement.pk,
            kind=LedgerKind.ADJUSTMENT,
            delta=target - entitlement.balance,
            allowance=allotment.allowance,
            actor_id=actor_id,
            note=_grant_note(allotment),
            locked_balance=Balance.of(entitlement),
        )
        entitlement.refresh_from_db()
        changed = True
    return changed


def _end(*, entitlement: Entitlement, state: EntitlementState, actor_id: int | None) -> None:
    """Expiry (the term ran out) or lapse (no membership grants it any more): what is left
    of a limited balance goes with an ``expire`` entry."""
    if entitlement.allowance is not None and entitlement.balance:
        ledger_post(
            entitlement_id=entitlement.pk,
            kind=LedgerKind.EXPIRE,
            delta=-entitlement.balance,
            actor_id=actor_id,
            note="term ended" if state == EntitlementState.EXPIRED else "membership lapsed",
            locked_balance=Balance.of(entitlement),
        )
    Entitlement.objects.filter(pk=entitlement.pk).update(state=state, ended_at=timezone.now())
    entitlement.activations.filter(state=ActivationState.PENDING).update(
        state=ActivationState.CANCELLED
    )
    entitlement.state = state


def entitlement_adjust(*, operator, entitlement_id: int, delta: int, note: str) -> LedgerEntry:
    """An operator's manual correction of a balance, always with its reason."""
    if not operator.is_staff:
        raise RoleRequired(_("Only operators can adjust balances."))
    errors = []
    if delta == 0:
        errors.append({"path": "delta", "message": _("Give a change other than zero.")})
    if not note.strip():
        errors.append({"path": "note", "message": _("Say why the balance changes.")})
    if errors:
        raise ValidationFailed(errors)
    try:
        with transaction.atomic():
            entry = ledger_post(
                entitlement_id=entitlement_id,
                kind=LedgerKind.ADJUSTMENT,
                delta=delta,
                actor_id=operator.pk,
                note=note.strip(),
            )
            organization_id = Entitlement.objects.filter(pk=entitlement_id).values_list(
                "organization_id", flat=True
            )[0]
            audit_record(
                action="balance.adjusted",
                actor=operator,
                organization_id=organization_id,
                target=Entitlement(pk=entitlement_id),
                delta=delta,
                note=note.strip(),
            )
            return entry
    except IncidentsExhausted:
        raise ValidationFailed(
            [{"path": "delta", "message": _("That would take the balance below zero.")}]
        ) from None
