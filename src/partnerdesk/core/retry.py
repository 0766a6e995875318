"""Waiting out transient database errors (``core.transient``): a capped exponential
backoff, and a retry of a piece of work in a fresh transaction on fresh connections.

A retry always starts a new transaction: inside an ``atomic`` block the transaction is
already lost, so :func:`retry_transient` does not retry there and lets the error go up to
whoever opened the block.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import connections

from partnerdesk.core.transient import is_transient_db_error

logger = logging.getLogger("partnerdesk.worker")

T = TypeVar("T")


@dataclass
class Backoff:
    """Delays of 0.5, 1, 2, 4 … seconds up to ``cap``, each drawn from its upper half so
    that several workers hitting the same lock do not come back in step."""

    base: float = 0.5
    cap: float = 30.0
    factor: float = 2.0
    attempt: int = field(default=0, init=False)

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * self.factor**self.attempt)
        self.attempt += 1
        return delay / 2 + random.uniform(0, delay / 2)  # jitter, not a secret

    def reset(self) -> None:
        self.attempt = 0


def in_transaction() -> bool:
    return any(c.in_atomic_block for c in connections.all(initialized_only=True))


def reset_connections() -> None:
    """Close this thread's database connections (outside a transaction) so that the next
    query opens a fresh one: a connection the server dropped fails every later query, and
    reopening a healthy one costs a few milliseconds at most."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            with contextlib.suppress(Exception):
                connection.close()


def retry_transient(
    work: Callable[[], T],
    *,
    what: str,
    attempts: int | None = 5,
    backoff: Backoff | None = None,
    sleep: Callable[[float], object] | None = None,
) -> T:
    """Run ``work``; after a transient database error log it, close this thread's
    connections, wait and run it again: at most ``attempts`` runs in all (None: until it
    succeeds); ``sleep`` waits (``time.sleep``, or an ``Event.wait`` a stop can cut
    short). Other errors, the last transient one, and one raised inside a transaction
    the caller holds go up unchanged."""
    backoff = backoff or Backoff()
    attempt = 1
    while True:
        try:
            return work()
        except Exception as exc:
            if not is_transient_db_error(exc) or in_transaction():
                raise
            if attempts is not None and attempt >= attempts:
                logger.error("%s: the database is still unavailable after %d tries", what, attempt)
                raise
            delay = backoff.next_delay()
            logger.warning(
                "%s: transient database error (%s: %s); retry %d in %.1f s",
                what,
                type(exc).__name__,
                exc,
                attempt,
                delay,
            )
            reset_connections()
            (sleep or time.sleep)(delay)
            attempt += 1
