"""``partnerdesk reconcile``: every entitlement against its ledger and its hash chain
(``benefits.reconcile``), and every charge against its support request."""

from __future__ import annotations

from django.db.models import Count, Q

from partnerdesk.benefits.models import LedgerEntry, LedgerKind
from partnerdesk.benefits.reconcile import ledger_reconcile
from partnerdesk.support.models import SupportRequest


def reconcile() -> tuple[int, list[str]]:
    """(entitlements checked, one line per difference found)."""
    checked, problems = ledger_reconcile()
    return checked, problems + _charges_match_requests()


CHARGES = (LedgerKind.CONSUME, LedgerKind.RESERVE)


def _charges_match_requests() -> list[str]:
    """A charged request has one charge (an incident, or an advisory request's
    reservation); a settled one, one settlement; no charge names an uncharged request."""
    problems = []
    uncharged = (
        SupportRequest.objects.filter(charged=True)
        .annotate(charges=Count("ledger_entries", filter=Q(ledger_entries__kind__in=CHARGES)))
        .exclude(charges=1)
        .values_list("pk", "charges")
    )
    for pk, charges in uncharged:
        problems.append(f"support request {pk}: charged, but {charges} charge entries")
    stray = LedgerEntry.objects.filter(kind__in=CHARGES).exclude(support_request__charged=True)
    for pk, request_id in stray.values_list("pk", "support_request_id"):
        problems.append(f"ledger entry {pk}: a charge for request {request_id}, not charged")
    settled = (
        SupportRequest.objects.filter(estimate_minutes__isnull=False)
        .annotate(
            settlements=Count("ledger_entries", filter=Q(ledger_entries__kind=LedgerKind.SETTLE))
        )
        .exclude(settled_at__isnull=False, settlements=1)
        .exclude(settled_at__isnull=True, settlements=0)
        .values_list("pk", "settled_at", "settlements")
    )
    for pk, settled_at, settlements in settled:
        state = "settled" if settled_at else "not settled"
        problems.append(f"support request {pk}: {state}, but {settlements} settlement entries")
    return problems
