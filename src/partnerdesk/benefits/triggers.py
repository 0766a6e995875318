"""The database's own guard of the ledger: it refuses to change or delete an entry,
whatever code (or person with a SQL prompt) asks. Installed by a migration; ``flush``
(tests, a deliberate reset) lifts it for the length of the flush and puts it back."""

from __future__ import annotations

TABLE = "benefits_ledgerentry"
MESSAGE = "ledger entries are append-only"

INSTALL = {
    "sqlite": [
        f"CREATE TRIGGER IF NOT EXISTS ledger_entries_no_update BEFORE UPDATE ON {TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
        f"CREATE TRIGGER IF NOT EXISTS ledger_entries_no_delete BEFORE DELETE ON {TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION partnerdesk_ledger_append_only() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{MESSAGE}' "
        "USING ERRCODE = 'restrict_violation'; END $$",
        f"DROP TRIGGER IF EXISTS ledger_entries_append_only ON {TABLE}",
        f"CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
        "FOR EACH ROW EXECUTE FUNCTION partnerdesk_ledger_append_only()",
        f"DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON {TABLE}",
        f"CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON {TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION partnerdesk_ledger_append_only()",
    ],
}

DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS ledger_entries_no_update",
        "DROP TRIGGER IF EXISTS ledger_entries_no_delete",
    ],
    "postgresql": [
        f"DROP TRIGGER IF EXISTS ledger_entries_append_only ON {TABLE}",
        f"DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON {TABLE}",
    ],
}


def _run(connection, statements: dict[str, list[str]]) -> None:
    with connection.cursor() as cursor:
        for statement in statements.get(connection.vendor, []):
            cursor.execute(statement)


def install(connection) -> None:
    _run(connection, INSTALL)


def drop(connection) -> None:
    _run(connection, DROP)
