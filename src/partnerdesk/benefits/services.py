"""Writes for entitlements: keeping them in step with memberships, the periodic refresh,
manual adjustments. Balances change only through ``benefits.ledger``."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

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
    Entitlement,
    EntitlementState,
    LedgerEntry,
    LedgerKind,
)
from partnerdesk.core import sql
from partnerdesk.core.exceptions import RoleRequired, ValidationFailed
from partnerdesk.partners.locks import organization_lock
from partnerdesk.partners.models import Competency, Membership, Organization


@dataclass(frozen=True)
class BestAllotment:
    allowance: int | None
    membership: Membership

    def beats(self, other: BestAllotment | None) -> bool:
        if other is None:
            return True
        mine = (float("inf") if self.allowance is None else self.allowance, self.membership.ends)
        theirs = (
            float("inf") if other.allowance is None else other.allowance,
            other.membership.ends,
        )
        return mine > theirs


@dataclass
class SyncResult:
    created: list[Entitlement] = field(default_factory=list)
    changed: list[Entitlement] = field(default_factory=list)
    lapsed: list[Entitlement] = field(default_factory=list)


def best_allotments(
    *, memberships: list[Membership], rules: list[AllotmentRule]
) -> dict[int, BestAllotment]:
    """Per benefit, the best allotment among the memberships; allotments never stack."""
    by_cell = {(r.benefit_id, r.offer, r.competency_kind): r for r in rules if r.is_eligible}
    benefit_ids = {r.benefit_id for r in rules}
    best: dict[int, BestAllotment] = {}
    for membership in memberships:
        for benefit_id in benefit_ids:
            rule = by_cell.get((benefit_id, membership.offer, membership.competency_kind))
            if rule is None:
                continue
            candidate = BestAllotment(allowance=rule.allowance, membership=membership)
            if candidate.beats(best.get(benefit_id)):
                best[benefit_id] = candidate
    return best


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
        memberships = list(
            Membership.objects.filter(organization=organization)
            .active_on(today)
            .select_related("competency")
            .order_by("pk")
        )
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
            if benefit_id not in best:
                _end(entitlement=entitlement, state=EntitlementState.LAPSED, actor_id=actor_id)
                result.lapsed.append(entitlement)
        for benefit_id, allotment in best.items():
            entitlement = current.get(benefit_id)
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


@dataclass(frozen=True)
class AllotmentCatalog:
    """The allotment rules and competencies, read once for a run of many
    ``entitlements_open_many`` calls (an import writes in many short transactions)."""

    rules: list[AllotmentRule]
    competencies: dict[int, Competency]

    @classmethod
    def load(cls) -> AllotmentCatalog:
        return cls(
            rules=list(AllotmentRule.objects.all()),
            competencies={c.pk: c for c in Competency.objects.all()},
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
    by_organization: dict[int, list[Membership]] = {}
    for membership in memberships:
        if membership.is_active_on(today):
            membership.competency = competencies.get(membership.competency_id)
            by_organization.setdefault(membership.organization_id, []).append(membership)
    columns = ("organization_id", "benefit_id", "allowance", *ENTITLEMENT_SOURCE_FIELDS)
    rows, grants = [], []
    notes: dict[tuple, str] = {}  # one label per distinct membership (offer, dates, …)
    for organization in organizations:
        best = best_allotments(memberships=by_organization.get(organization.pk, []), rules=rules)
        for benefit_id, allotment in best.items():
            source = _source_fields(allotment)
            sourced = (source[name] for name in ENTITLEMENT_SOURCE_FIELDS)
            rows.append((organization.pk, benefit_id, allotment.allowance, *sourced))
            membership = allotment.membership
            key = (membership.offer, membership.competency_id, membership.starts, membership.ends)
            if key not in notes:
                notes[key] = str(membership)
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
        state=EntitlementState.ACTIVE, expires_on__lt=today
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


ENTITLEMENT_SOURCE_FIELDS = ("membership_id", "offer", "competency_name", "activation_deadline")


def _source_fields(allotment: BestAllotment) -> dict:
    membership = allotment.membership
    return {
        "membership_id": membership.pk,
        "offer": membership.offer,
        "competency_name": membership.competency.name if membership.competency_id else "",
        "activation_deadline": membership.ends,
    }


def _grant(
    *, organization: Organization, benefit_id: int, allotment: BestAllotment, actor_id: int | None
) -> Entitlement:
    entitlement = Entitlement.objects.create(
        organization=organization,
        benefit_id=benefit_id,
        allowance=allotment.allowance,
        **_source_fields(allotment),
    )
    ledger_post(
        entitlement_id=entitlement.pk,
        kind=LedgerKind.GRANT,
        delta=allotment.allowance or 0,
        actor_id=actor_id,
        note=str(allotment.membership),
    )
    entitlement.refresh_from_db()
    return entitlement


def _resize(*, entitlement: Entitlement, allotment: BestAllotment, actor_id: int | None) -> bool:
    source = _source_fields(allotment)
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
            note=str(allotment.membership),
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
