"""Row locks, taken in one order everywhere, so two transactions never wait on each other
in a circle:

    organization  →  entitlement  →  activation  →  support request

and within one table by primary key, ascending. A transaction may skip a level but never
goes back up one: whoever needs an entitlement and a support request locks the
entitlement first, even when it learned the entitlement from the request.

Every lock goes through a named helper built on ``locked`` (``partners.locks``,
``benefits.locks``, ``support.locks``). On SQLite the IMMEDIATE transaction already holds
the database's write lock, and ``select_for_update`` is a no-op.

On PostgreSQL the locks are ``FOR NO KEY UPDATE``: they keep out other writers of the
row but not the foreign-key checks of rows that point at it. Those checks run at COMMIT
(Django's foreign keys are deferred) and take ``FOR KEY SHARE`` on the row they point
to; against a plain ``FOR UPDATE`` on an organization they deadlocked with a sync of that
organization (``tests/test_lock_order.py`` found it).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet


def locked(queryset: QuerySet, *, skip_locked: bool = False) -> QuerySet:
    """The rows of ``queryset``, locked in primary-key order, and only its own table's
    rows (``of=self``), never the rows of a joined table; see above for ``no_key``.
    ``skip_locked``: leave out rows another transaction holds (a sweep that several
    workers run at once, each taking what nobody else has)."""
    return queryset.order_by("pk").select_for_update(
        of=("self",), no_key=True, skip_locked=skip_locked
    )


def lock_clause(alias: str) -> str:
    """The same lock for a hand-written SELECT (the request path's), on ``alias`` only."""
    if not connection.features.has_select_for_update:
        return ""
    return f" FOR NO KEY UPDATE OF {connection.ops.quote_name(alias)}"
