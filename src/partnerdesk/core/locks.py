"""Row locks, taken in one order everywhere, so two transactions never wait on each other
in a circle:

    organization  →  entitlement  →  activation  →  support request

and within one table by primary key, ascending. A transaction may skip a level but never
goes back up one: whoever needs an entitlement and a support request locks the
entitlement first, even when it learned the entitlement from the request.

Every lock goes through a named helper built on ``locked`` (``partners.locks``,
``benefits.locks``, ``support.locks``). On SQLite the IMMEDIATE transaction already holds
the database's write lock, and ``select_for_update`` is a no-op.
"""

from __future__ import annotations

from django.db.models import QuerySet


def locked(queryset: QuerySet) -> QuerySet:
    """The rows of ``queryset``, locked in primary-key order, and only its own table's
    rows (``of=self``), never the rows of a joined table."""
    return queryset.order_by("pk").select_for_update(of=("self",))
