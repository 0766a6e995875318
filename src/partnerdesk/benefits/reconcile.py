"""Checks that every balance equals its ledger and every charge its request."""

from __future__ import annotations

from django.db.models import Count, Q, Sum

from partnerdesk.benefits.models import Entitlement, LedgerEntry, LedgerKind


def reconcile() -> tuple[int, list[str]]:
    """(entitlements checked, one line per difference found)."""
    problems: list[str] = []
    totals = {
        row["entitlement"]: row
        for row in LedgerEntry.objects.values("entitlement").annotate(
            total=Sum("delta"),
            charges=Count("id", filter=Q(kind=LedgerKind.CONSUME)),
            refunds=Count("id", filter=Q(kind=LedgerKind.REFUND)),
        )
    }
    checked = 0
    for entitlement in Entitlement.objects.order_by("pk").iterator():
        checked += 1
        row = totals.get(entitlement.pk, {"total": 0, "charges": 0, "refunds": 0})
        if entitlement.balance != row["total"]:
            problems.append(
                f"entitlement {entitlement.pk}: balance {entitlement.balance} "
                f"!= ledger sum {row['total']}"
            )
        if entitlement.used != row["charges"] - row["refunds"]:
            problems.append(
                f"entitlement {entitlement.pk}: used {entitlement.used} != "
                f"{row['charges']} charges - {row['refunds']} refunds"
            )
        if entitlement.allowance is not None and entitlement.balance < 0:
            problems.append(f"entitlement {entitlement.pk}: negative balance")
    problems.extend(_charges_match_requests())
    return checked, problems


def _charges_match_requests() -> list[str]:
    from partnerdesk.support.models import SupportRequest

    problems = []
    uncharged = (
        SupportRequest.objects.filter(charged=True)
        .annotate(
            charges=Count("ledger_entries", filter=Q(ledger_entries__kind=LedgerKind.CONSUME))
        )
        .exclude(charges=1)
        .values_list("pk", "charges")
    )
    for pk, charges in uncharged:
        problems.append(f"support request {pk}: charged, but {charges} charge entries")
    stray = LedgerEntry.objects.filter(kind=LedgerKind.CONSUME).exclude(
        support_request__charged=True
    )
    for pk, request_id in stray.values_list("pk", "support_request_id"):
        problems.append(f"ledger entry {pk}: a charge for request {request_id}, not charged")
    return problems
