"""Row locks of the support path, in ``core.locks``' order: a request's contracts
(entitlements, second level) before support requests (the last)."""

from __future__ import annotations

from functools import cache

from django.db import connection

from partnerdesk.accounts.models import User
from partnerdesk.benefits.models import Entitlement, EntitlementState
from partnerdesk.core import sql
from partnerdesk.core.locks import lock_clause, locked
from partnerdesk.support.models import ContractLink, SupportRequest


def support_request_lock(request_id: int) -> SupportRequest | None:
    """Lock the request's contract (``benefits.locks.entitlement_lock``) before this."""
    return locked(SupportRequest.objects.filter(pk=request_id)).first()


@cache
def _contracts_query() -> tuple[str, sql.Rows]:
    rows = sql.Rows(Entitlement)
    quote = connection.ops.quote_name
    links = quote(ContractLink._meta.db_table)
    statement = (
        f"SELECT {rows.columns(Entitlement, 'e')}, EXISTS(SELECT 1 FROM {links} l "  # nosec B608
        "WHERE l.entitlement_id = e.id AND l.user_id = %s) "
        f"FROM {quote(Entitlement._meta.db_table)} e "
        "WHERE e.organization_id = %s AND e.state <> %s ORDER BY e.id" + lock_clause("e")
    )
    return statement, rows


def contracts_lock(user: User) -> list[Entitlement]:
    """The caller's organization's contracts (not lapsed), locked by pk, each marked
    ``linked`` when this account has used it before: one statement, compiled once, on the
    request path."""
    statement, rows = _contracts_query()
    with connection.cursor() as cursor:
        cursor.execute(statement, [user.pk, user.organization_id, EntitlementState.LAPSED])
        fetched = cursor.fetchall()
    contracts = []
    for row in fetched:
        (entitlement,) = rows.build(row)
        entitlement.linked = bool(row[-1])
        contracts.append(entitlement)
    return contracts
