"""The ledger: the only code that changes an entitlement's ``balance``, ``used`` or
``allowance``, always in one transaction with the entry that records the change.

Entries are append-only (the database refuses UPDATE and DELETE, see ``triggers``) and
tamper-evident: each carries a SHA-256 over its own content and the previous entry's
hash for the same entitlement, and the entitlement keeps the hash of its newest entry
(``ledger_hash``), so ``reconcile`` can recompute every chain and name the first entry
that was changed behind the application's back.

``ledger_post`` appends one entry (the request path, refunds, adjustments);
``ledger_post_many`` appends many in a few statements (imports, plan grants in bulk, the
benchmark's dataset). Both build their rows with ``_append``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from partnerdesk.benefits.events import balance_crossings, entitlement_data
from partnerdesk.benefits.exceptions import IncidentsExhausted
from partnerdesk.benefits.locks import entitlement_lock, entitlements_lock
from partnerdesk.benefits.models import (
    USE_KINDS,
    Entitlement,
    LedgerEntry,
    LedgerKind,
    used_delta,
)
from partnerdesk.core import sql
from partnerdesk.events.services import NewEvent, events_record_many

GENESIS = ""  # the "previous hash" of an entitlement's first entry


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()  # an allowance left as it is

ENTRY_COLUMNS = (
    "entitlement",
    "kind",
    "delta",
    "balance_after",
    "allowance_after",
    "actor",
    "note",
    "support_request",
    "overdraw",
    "created_at",
    "previous_hash",
    "entry_hash",
)
BALANCE_COLUMNS = ("balance", "used", "allowance", "overdrawn", "ledger_hash")


@dataclass(frozen=True)
class Posting:
    """One change to post: ``allowance`` is the entitlement's allowance from this entry
    on (a grant or a resize), or ``KEEP``."""

    entitlement_id: int
    kind: str
    delta: int
    actor_id: int | None = None
    note: str = ""
    support_request_id: int | None = None
    allowance: int | _Keep | None = KEEP
    # An operator's override: this settlement may take a limited balance below zero.
    overdraw: bool = False


@dataclass
class Balance:
    """What the ledger knows of an entitlement: its counters and its newest entry's hash."""

    pk: int
    balance: int
    used: int
    allowance: int | None
    ledger_hash: str
    overdrawn: bool = False
    # For the events a change of balance tells (benefits.events).
    organization_id: int | None = None
    benefit_id: int | None = None
    expires_on: datetime.date | None = None

    @classmethod
    def of(cls, entitlement: Entitlement) -> Balance:
        return cls(
            entitlement.pk,
            entitlement.balance,
            entitlement.used,
            entitlement.allowance,
            entitlement.ledger_hash,
            entitlement.overdrawn,
            entitlement.organization_id,
            entitlement.benefit_id,
            entitlement.expires_on,
        )

    def crossings(self, before: int) -> list[NewEvent]:
        """The events of this balance's move from ``before`` (used up, running low)."""
        if self.allowance is None or self.balance >= before or self.organization_id is None:
            return []
        return balance_crossings(
            organization_id=self.organization_id,
            before=before,
            after=self.balance,
            allowance=self.allowance,
            data=entitlement_data(
                entitlement_id=self.pk,
                benefit_id=self.benefit_id,
                allowance=self.allowance,
                remaining=self.balance,
                expires_on=self.expires_on,
            ),
        )


def entry_digest(
    *,
    previous_hash: str,
    entitlement_id: int,
    kind: str,
    delta: int,
    balance_after: int,
    allowance_after: int | None,
    actor_id: int | None,
    note: str,
    support_request_id: int | None,
    created_at: datetime.datetime,
    overdraw: bool = False,
) -> str:
    """Entries before overrides existed hash without the flag, so their chains verify as
    they were written; an override's entry adds it."""
    content = [
        previous_hash,
        entitlement_id,
        str(kind),
        delta,
        balance_after,
        allowance_after,
        actor_id,
        note,
        support_request_id,
        created_at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
    ]
    if overdraw:
        content.append("overdraw")
    canonical = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _append(state: Balance, posting: Posting, at: datetime.datetime) -> tuple[tuple, str]:
    """Apply ``posting`` to ``state`` (in place); return the entry's row (in
    ``ENTRY_COLUMNS`` order) and the hash the chain had before it. Refuses to take a
    limited balance below zero."""
    if posting.kind in USE_KINDS and posting.support_request_id is None:
        raise ValueError("a use, a refund, a reservation or a settlement names its request")
    if posting.overdraw and posting.kind != LedgerKind.SETTLE:
        raise ValueError("only a settlement may overdraw")
    allowance = state.allowance if posting.allowance is KEEP else posting.allowance
    balance = state.balance + posting.delta
    if posting.delta < 0 and allowance is not None and balance < 0 and not posting.overdraw:
        raise IncidentsExhausted()
    note = posting.note[:300]
    digest = entry_digest(
        previous_hash=state.ledger_hash,
        entitlement_id=state.pk,
        kind=posting.kind,
        delta=posting.delta,
        balance_after=balance,
        allowance_after=allowance,
        actor_id=posting.actor_id,
        note=note,
        support_request_id=posting.support_request_id,
        created_at=at,
        overdraw=posting.overdraw,
    )
    row = (
        state.pk,
        str(posting.kind),
        posting.delta,
        balance,
        allowance,
        posting.actor_id,
        note,
        posting.support_request_id,
        posting.overdraw,
        at,
        state.ledger_hash,
        digest,
    )
    previous = state.ledger_hash
    state.balance = balance
    state.used += used_delta(posting.kind, posting.delta)
    state.allowance = allowance
    state.overdrawn = allowance is not None and balance < 0
    state.ledger_hash = digest
    return row, previous


def _save_balance(state: Balance, previous_hash: str) -> None:
    # The lock makes this the only writer; the hash guard would catch one that was not.
    updated = sql.update_many(
        Entitlement,
        BALANCE_COLUMNS,
        [
            (
                state.balance,
                state.used,
                state.allowance,
                state.overdrawn,
                state.ledger_hash,
                state.pk,
                previous_hash,
            )
        ],
        guard=("ledger_hash",),
    )
    if updated != 1:
        raise RuntimeError(f"entitlement {state.pk} changed under the ledger's lock")


def ledger_post(
    *,
    entitlement_id: int,
    kind: str,
    delta: int,
    actor_id: int | None = None,
    note: str = "",
    allowance: int | _Keep | None = KEEP,
    support_request_id: int | None = None,
    locked_balance: Balance | None = None,
    overdraw: bool = False,
    record_crossings: bool = True,
) -> LedgerEntry:
    """Move one entitlement's balance by ``delta`` and append the entry, in one
    transaction (the caller's, when there is one: a refusal then rolls back the caller's
    whole unit of work, such as the request being charged).

    The entitlement is locked here unless the caller already holds the lock and passes
    what it read under it as ``locked_balance`` (the request path does, to save a
    statement). A decrease below zero of a limited balance raises ``IncidentsExhausted``;
    the CHECK constraint refuses it too.

    A move that uses the balance up or takes it low writes its event
    (``benefits.events.balance_crossings``); with ``record_crossings=False`` they are left
    on the entry (``entry.crossings``) for the caller to write after its own events."""
    posting = Posting(
        entitlement_id=entitlement_id,
        kind=kind,
        delta=delta,
        actor_id=actor_id,
        note=note,
        support_request_id=support_request_id,
        allowance=allowance,
        overdraw=overdraw,
    )
    with transaction.atomic(savepoint=False):
        state = locked_balance
        if state is None:
            entitlement = entitlement_lock(entitlement_id)
            if entitlement is None:
                raise Entitlement.DoesNotExist(entitlement_id)
            state = Balance.of(entitlement)
        before = state.balance
        row, previous = _append(state, posting, timezone.now())
        _save_balance(state, previous)
        crossings = state.crossings(before)
        if record_crossings:
            events_record_many(crossings)
        values = dict(zip(ENTRY_COLUMNS, row, strict=True))
        entry = LedgerEntry(
            **{LedgerEntry._meta.get_field(k).attname: v for k, v in values.items()}
        )
        entry.pk = sql.insert(LedgerEntry, values)
        entry._state.adding = False
        entry.crossings = [] if record_crossings else crossings
        return entry


def ledger_post_many(postings: Iterable[Posting], *, at: datetime.datetime | None = None) -> int:
    """Append many entries in a few statements per thousand: the entitlements are locked
    (in primary-key order) and read once, every entry is built by ``_append`` in the
    order given, then the entries are inserted and the counters written in bulk. Any
    refusal raises before anything is written. Returns the number of entries."""
    at = at or timezone.now()
    states: dict[int, Balance] = {}
    touched: set[int] = set()
    told: list[NewEvent] = []
    count = 0
    with transaction.atomic(savepoint=False):
        for chunk in sql.batched(postings, 5000):
            missing = sorted({p.entitlement_id for p in chunk} - states.keys())
            for start in range(0, len(missing), 5000):
                for entitlement in entitlements_lock(pk__in=missing[start : start + 5000]):
                    states[entitlement.pk] = Balance.of(entitlement)
            unknown = set(missing) - states.keys()
            if unknown:
                raise Entitlement.DoesNotExist(sorted(unknown)[0])
            rows = []
            for posting in chunk:
                state = states[posting.entitlement_id]
                before = state.balance
                rows.append(_append(state, posting, at)[0])
                told.extend(state.crossings(before))
            sql.insert_many(LedgerEntry, ENTRY_COLUMNS, rows)
            touched.update(p.entitlement_id for p in chunk)
            count += len(rows)
        sql.update_many(
            Entitlement,
            BALANCE_COLUMNS,
            (
                (s.balance, s.used, s.allowance, s.overdrawn, s.ledger_hash, s.pk)
                for s in (states[pk] for pk in sorted(touched))
            ),
        )
        events_record_many(told, at=at)
    return count
