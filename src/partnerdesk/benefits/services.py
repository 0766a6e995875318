"""Writes for entitlements. ``ledger_post`` is the only code that changes a balance."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.benefits.exceptions import IncidentsExhausted
from partnerdesk.benefits.models import (
    USED_DELTA,
    ActivationState,
    AllotmentRule,
    Entitlement,
    EntitlementState,
    LedgerEntry,
    LedgerKind,
)
from partnerdesk.core.audit import audit_record
from partnerdesk.core.exceptions import RoleRequired, ValidationFailed
from partnerdesk.partners.models import Competency, Membership, Organization

_KEEP = object()


def ledger_post(
    *,
    entitlement_id: int,
    kind: LedgerKind,
    delta: int,
    actor_id: int | None = None,
    note: str = "",
    allowance: int | object | None = _KEEP,
    support_request_id: int | None = None,
) -> LedgerEntry:
    """Move an entitlement's balance by ``delta`` and append the matching ledger entry, in
    one transaction. A decrease that would take a limited balance below zero is refused
    (``IncidentsExhausted``) by the UPDATE's own condition, so two concurrent callers can
    never spend the same incident; the CHECK constraints back this up."""
    changes = {"balance": F("balance") + delta}
    used_delta = USED_DELTA.get(kind, 0)
    if used_delta:
        changes["used"] = F("used") + used_delta
    if allowance is not _KEEP:
        changes["allowance"] = allowance
    guard = Q()
    if delta < 0:
        guard = Q(allowance__isnull=True) | Q(balance__gte=-delta)
    # No savepoint of its own: inside a caller's transaction a refusal rolls back the
    # caller's whole unit of work (the request it was charging), which is what we want.
    with transaction.atomic(savepoint=False):
        updated = Entitlement.objects.filter(guard, pk=entitlement_id).update(**changes)
        if not updated:
            if not Entitlement.objects.filter(pk=entitlement_id).exists():
                raise Entitlement.DoesNotExist(entitlement_id)
            raise IncidentsExhausted()
        balance_after, allowance_after = Entitlement.objects.filter(pk=entitlement_id).values_list(
            "balance", "allowance"
        )[0]
        return LedgerEntry.objects.create(
            entitlement_id=entitlement_id,
            kind=kind,
            delta=delta,
            balance_after=balance_after,
            allowance_after=allowance_after,
            actor_id=actor_id,
            note=note[:300],
            support_request_id=support_request_id,
        )


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


def _target_balance(*, allowance: int | None, used: int, balance: int) -> int:
    if allowance is None:
        return balance
    return max(allowance - used, 0)


def entitlements_sync(
    *, organization: Organization, today: datetime.date | None = None, actor_id: int | None = None
) -> SyncResult:
    """Bring the organization's entitlements in step with its memberships active ``today``:
    create what a membership now grants, re-size what changed, lapse what no longer has a
    granting membership."""
    today = today or timezone.localdate()
    result = SyncResult()
    with transaction.atomic():
        # Serialises concurrent syncs of one organization (a no-op lock on SQLite, where the
        # IMMEDIATE transaction already holds the write lock).
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        memberships = list(
            Membership.objects.filter(organization=organization)
            .active_on(today)
            .select_related("competency")
            .order_by("pk")
        )
        rules = list(AllotmentRule.objects.all())
        best = best_allotments(memberships=memberships, rules=rules)
        current = {}
        for entitlement in (
            Entitlement.objects.filter(organization=organization)
            .current()
            .select_related("benefit")
            .select_for_update(of=("self",))
            .order_by("pk")
        ):
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


def entitlements_open_many(
    *, organizations: list[Organization], memberships: list[Membership]
) -> int:
    """Open the entitlements of organizations created in this transaction (they have none
    yet), in bulk: each entitlement starts at its allotment together with its ``grant``
    entry, exactly what ``_grant`` writes one by one. Balances change only here and in
    ``ledger_post``. Returns how many organizations were derived."""
    today = timezone.localdate()
    rules = list(AllotmentRule.objects.all())
    competencies = {c.pk: c for c in Competency.objects.all()}
    by_organization: dict[int, list[Membership]] = {}
    for membership in memberships:
        if membership.is_active_on(today):
            membership.competency = competencies.get(membership.competency_id)
            by_organization.setdefault(membership.organization_id, []).append(membership)
    opened = []
    for organization in organizations:
        best = best_allotments(memberships=by_organization.get(organization.pk, []), rules=rules)
        for benefit_id, allotment in best.items():
            opened.append(
                Entitlement(
                    organization=organization,
                    benefit_id=benefit_id,
                    allowance=allotment.allowance,
                    balance=allotment.allowance or 0,
                    **_source_fields(allotment),
                )
            )
    Entitlement.objects.bulk_create(opened)
    labels = {m.pk: str(m) for m in memberships}
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            entitlement=e,
            kind=LedgerKind.GRANT,
            delta=e.balance,
            balance_after=e.balance,
            allowance_after=e.allowance,
            note=labels[e.membership_id],
        )
        for e in opened
    )
    Organization.objects.filter(pk__in=[o.pk for o in organizations]).update(
        entitlements_synced_on=today
    )
    return len(organizations)


def entitlements_refresh_if_stale(*, organization: Organization) -> None:
    """Re-derive at most once a day, so a membership that ended yesterday is gone today
    even before the nightly task has run."""
    if organization.entitlements_synced_on != timezone.localdate():
        entitlements_sync(organization=organization)


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
        balance=0,
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
        target = _target_balance(
            allowance=allotment.allowance, used=entitlement.used, balance=entitlement.balance
        )
        ledger_post(
            entitlement_id=entitlement.pk,
            kind=LedgerKind.ADJUSTMENT,
            delta=target - entitlement.balance,
            allowance=allotment.allowance,
            actor_id=actor_id,
            note=str(allotment.membership),
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
        )
    Entitlement.objects.filter(pk=entitlement.pk).update(state=state, ended_at=timezone.now())
    entitlement.activations.filter(state=ActivationState.PENDING).update(
        state=ActivationState.CANCELLED
    )
    entitlement.state = state


def entitlements_expire_due() -> int:
    """Periodic job: end every active entitlement whose term is over (and let memberships
    still active grant the next one)."""
    today = timezone.localdate()
    organizations = Organization.objects.filter(
        entitlements__state=EntitlementState.ACTIVE, entitlements__expires_on__lt=today
    ).distinct()
    count = 0
    for organization in organizations.iterator():
        entitlements_sync(organization=organization, today=today)
        count += 1
    return count


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
