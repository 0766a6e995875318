"""Checks every entitlement against its ledger and every ledger against its hash chain
(``support.reconcile`` adds the charges against their requests). Streams the ledger in
entitlement order, so a million entries take one pass and constant memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from partnerdesk.benefits.ledger import GENESIS, entry_digest
from partnerdesk.benefits.models import Entitlement, LedgerEntry, LedgerKind, used_delta

# Only these kinds may change an entitlement's allowance.
RESIZING_KINDS = frozenset({LedgerKind.GRANT, LedgerKind.ADJUSTMENT})
ENTRY_FIELDS = (
    "pk",
    "entitlement_id",
    "kind",
    "delta",
    "balance_after",
    "allowance_after",
    "actor_id",
    "note",
    "support_request_id",
    "overdraw",
    "created_at",
    "previous_hash",
    "entry_hash",
)

HASHED_FIELDS = [k for k in ENTRY_FIELDS if k not in ("pk", "previous_hash", "entry_hash")]


@dataclass
class _Walk:
    """One entitlement's ledger, replayed entry by entry."""

    entitlement_id: int
    running_balance: int = 0
    running_used: int = 0
    allowance: int | None = None
    head: str = GENESIS
    entries: int = 0
    problems: list[str] = field(default_factory=list)
    broken: bool = False

    def step(self, entry: dict) -> None:
        label = f"ledger entry {entry['pk']} (entitlement {self.entitlement_id})"
        self.entries += 1
        if not self.broken:
            if entry["previous_hash"] != self.head:
                self.problems.append(f"{label}: previous_hash does not match the entry before")
                self.broken = True
            expected = entry_digest(
                previous_hash=entry["previous_hash"],
                **{k: entry[k] for k in HASHED_FIELDS},
            )
            if not self.broken and expected != entry["entry_hash"]:
                self.problems.append(f"{label}: content does not match its hash (changed)")
                self.broken = True
        self.head = entry["entry_hash"]
        self.running_balance += entry["delta"]
        self.running_used += used_delta(entry["kind"], entry["delta"])
        limited = entry["allowance_after"] is not None
        if limited and entry["delta"] < 0 and self.running_balance < 0 and not entry["overdraw"]:
            self.problems.append(f"{label}: took the balance below zero without an override")
        if entry["balance_after"] != self.running_balance:
            self.problems.append(
                f"{label}: balance_after {entry['balance_after']} != running sum "
                f"{self.running_balance}"
            )
            self.running_balance = entry["balance_after"]
        resized = self.entries > 1 and entry["allowance_after"] != self.allowance
        if resized and entry["kind"] not in RESIZING_KINDS:
            self.problems.append(
                f"{label}: a {entry['kind']} entry changed allowance_after from "
                f"{self.allowance} to {entry['allowance_after']}"
            )
        self.allowance = entry["allowance_after"]

    def finish(self, entitlement: Entitlement) -> list[str]:
        label = f"entitlement {entitlement.pk}"
        problems = self.problems
        if entitlement.balance != self.running_balance:
            problems.append(
                f"{label}: balance {entitlement.balance} != ledger sum {self.running_balance}"
            )
        if entitlement.used != self.running_used:
            problems.append(
                f"{label}: used {entitlement.used} != charges - refunds {self.running_used}"
            )
        if self.entries and entitlement.allowance != self.allowance:
            problems.append(
                f"{label}: allowance {entitlement.allowance} != the ledger's last "
                f"allowance_after {self.allowance}"
            )
        if entitlement.ledger_hash != self.head:
            problems.append(f"{label}: ledger_hash is not the hash of its newest entry")
        overdrawn = entitlement.allowance is not None and entitlement.balance < 0
        if overdrawn and not entitlement.overdrawn:
            problems.append(f"{label}: negative balance")
        elif entitlement.overdrawn and not overdrawn:
            problems.append(f"{label}: marked overdrawn, but its balance is not below zero")
        return problems


def _entries() -> Iterator[dict]:
    rows = (
        LedgerEntry.objects.order_by("entitlement_id", "id")
        .values_list(*ENTRY_FIELDS)
        .iterator(chunk_size=5000)
    )
    for row in rows:
        yield dict(zip(ENTRY_FIELDS, row, strict=True))


def ledger_reconcile() -> tuple[int, list[str]]:
    """(entitlements checked, one line per difference between an entitlement and its
    ledger, or within a ledger's chain)."""
    problems: list[str] = []
    entries = _entries()
    pending = next(entries, None)
    checked = 0
    for entitlement in Entitlement.objects.order_by("pk").iterator(chunk_size=5000):
        checked += 1
        walk = _Walk(entitlement.pk)
        while pending is not None and pending["entitlement_id"] < entitlement.pk:
            problems.append(f"ledger entry {pending['pk']}: its entitlement does not exist")
            pending = next(entries, None)
        while pending is not None and pending["entitlement_id"] == entitlement.pk:
            walk.step(pending)
            pending = next(entries, None)
        problems.extend(walk.finish(entitlement))
    return checked, problems
