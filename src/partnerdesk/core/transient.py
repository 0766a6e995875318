"""Which database errors are worth another try: the database was busy or went away, and
nothing was written. Used by the worker (to retry with backoff instead of dying) and by
the API and pages (to answer 503 ``busy`` with Retry-After instead of a 500)."""

from __future__ import annotations

from django.db import InterfaceError
from django.db.utils import DatabaseError

# PostgreSQL SQLSTATEs: serialization_failure, deadlock_detected, lock_not_available,
# and the connection exceptions (class 08), admin/crash shutdown (57P01..57P03).
_PG_TRANSIENT_STATES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03"}
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "database is busy")
_CONNECTION_GONE = (
    "connection already closed",
    "server closed the connection",
    "terminating connection",
    "connection is closed",
    "the connection is lost",
    "could not connect",
    "connection refused",
    "consuming input failed",
)


def is_transient_db_error(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a database being busy or unreachable."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DatabaseError | InterfaceError) or _is_driver_error(current):
            state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
            if state and (state in _PG_TRANSIENT_STATES or state.startswith("08")):
                return True
            message = str(current).lower()
            if any(text in message for text in _SQLITE_TRANSIENT + _CONNECTION_GONE):
                return True
        current = current.__cause__ or current.__context__
    return False


def _is_driver_error(error: BaseException) -> bool:
    module = type(error).__module__ or ""
    return module.startswith(("sqlite3", "psycopg"))
