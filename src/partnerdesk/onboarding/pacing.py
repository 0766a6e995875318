"""How the import writes without holding the database: many short transactions, each
sized, by what the ones before it took, to hold the write lock about ``HOLD`` seconds.

SQLite has one write lock and no queue for it: a writer that finds it taken polls (every
few milliseconds at first, every 25 ms after 50 ms, every 100 ms after a quarter of a
second), so the import also leaves it free for ``PAUSE`` between two transactions, long
enough for a waiting writer's next poll even on a busy machine: a writer then waits
about ``HOLD`` at most (measured: 0.18 s at worst on two loaded cores; with a pause of
30 ms an unlucky writer missed the window and waited 1.2 s). A writer the scheduler kept
from its poll falls behind to polls 100 ms apart, which a 50 ms window can miss again
and again; every ``LONG_EVERY``-th pause is ``LONG_PAUSE``, longer than any poll's gap,
so it gets in then at the latest. Reading and parsing the next organizations happens in
the pause.

PostgreSQL locks rows, not the database: a transaction of new organizations holds only
rows nobody else can see yet, so it may run longer (``NEW_ROWS_HOLD``) and pays each
transaction's fixed cost (statements, the sequence, the commit) less often — on a loaded
machine, 0.1 s transactions of new rows made the import 3 to 5 times slower. Changed
organizations lock stored rows (an organization, its entitlements) that a request may be
waiting for: those transactions stay at ``HOLD`` everywhere. Nothing is paused there.

Inside a caller's transaction (the tests', an API call's) nothing is released anyway,
so nothing is paused."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from django.db import connection, transaction

HOLD = 0.1
PAUSE = 0.05
LONG_PAUSE = 0.12
LONG_EVERY = 4
NEW_ROWS_HOLD = 0.5  # not SQLite
GROUP_MAX = 1000

# Seconds per organization before anything is measured: new ones are written in bulk,
# changed ones one by one (with their entitlements re-derived).
FIRST_GUESS = {"new": 0.002, "changed": 0.03}

T = TypeVar("T")


class Pacer:
    """Splits work into transactions of about ``hold`` seconds and keeps what they took:
    ``transactions``, ``longest`` (seconds) and ``waited`` (seconds paused)."""

    def __init__(
        self, *, hold: float = HOLD, pause: float = PAUSE, new_rows_hold: float = NEW_ROWS_HOLD
    ) -> None:
        self.hold = hold
        self.pause = pause
        self.new_rows_hold = new_rows_hold
        self._per_item = dict(FIRST_GUESS)
        self._committed_at: float | None = None
        self.transactions = 0
        self.longest = 0.0
        self.waited = 0.0

    def fits(self, kind: str) -> int:
        """How many items of ``kind`` one transaction should hold, by what they took."""
        hold = self.hold
        if kind == "new" and connection.vendor != "sqlite":
            hold = max(hold, self.new_rows_hold)
        return max(1, min(GROUP_MAX, int(hold / self._per_item[kind])))

    def groups(self, items: Sequence[T], kind: str) -> Iterator[Sequence[T]]:
        """``items`` in groups that each fit one transaction, even in size (no tail of
        one); the size is worked out again after every group, from what it took."""
        at = 0
        while at < len(items):
            fits = self.fits(kind)
            left = len(items) - at
            parts = -(-left // fits)
            size = -(-left // parts)
            yield items[at : at + size]
            at += size

    @contextmanager
    def transaction(self, kind: str, count: int) -> Iterator[None]:
        """One short transaction for ``count`` items of ``kind``, timed from the moment it
        has the lock (a wait behind another writer is not the import's hold)."""
        self._let_others_in()
        with transaction.atomic():
            started = time.monotonic()
            yield
        held = time.monotonic() - started
        self._committed_at = time.monotonic()
        self.transactions += 1
        self.longest = max(self.longest, held)
        measured = held / max(count, 1)
        guess = self._per_item[kind]
        # Slower counts more than faster; neither at once: on a busy machine one group
        # may be slowed down by the scheduler alone, and tiny groups cost more in all.
        weight = 0.5 if measured > guess else 0.25
        self._per_item[kind] = guess + weight * (measured - guess)

    def _let_others_in(self) -> None:
        if self._committed_at is None or connection.in_atomic_block:
            return
        if connection.vendor != "sqlite":
            return
        pause = self.pause
        if pause and self.transactions % LONG_EVERY == 0:
            pause = max(pause, LONG_PAUSE)
        rest = pause - (time.monotonic() - self._committed_at)
        if rest > 0:
            time.sleep(rest)
            self.waited += rest
