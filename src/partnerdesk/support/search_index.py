"""The SQLite search index's triggers (``support.finding``; created by migration 0009):
a migration that rebuilds ``support_supportrequest`` on SQLite drops them silently, so
every migrate ends by putting back any that are missing and rebuilding the index then."""

from __future__ import annotations

INDEX = "support_request_fts"

# Literal SQL, as migration 0009 wrote it (with IF NOT EXISTS).
TRIGGERS = {
    "support_request_fts_insert": (
        "CREATE TRIGGER IF NOT EXISTS support_request_fts_insert AFTER INSERT ON "
        "support_supportrequest BEGIN INSERT INTO support_request_fts(rowid, title, "
        "description) VALUES (new.id, new.title, new.description); END"
    ),
    "support_request_fts_delete": (
        "CREATE TRIGGER IF NOT EXISTS support_request_fts_delete AFTER DELETE ON "
        "support_supportrequest BEGIN INSERT INTO support_request_fts(support_request_fts, "
        "rowid, title, description) VALUES ('delete', old.id, old.title, old.description); "
        "END"
    ),
    "support_request_fts_update": (
        "CREATE TRIGGER IF NOT EXISTS support_request_fts_update AFTER UPDATE OF title, "
        "description ON support_supportrequest BEGIN "
        "INSERT INTO support_request_fts(support_request_fts, rowid, title, description) "
        "VALUES ('delete', old.id, old.title, old.description); "
        "INSERT INTO support_request_fts(rowid, title, description) "
        "VALUES (new.id, new.title, new.description); END"
    ),
}
REBUILD = "INSERT INTO support_request_fts(support_request_fts) VALUES ('rebuild')"


def ensure_triggers(connection) -> bool:
    """On SQLite, with the index in place: create the missing triggers and rebuild the
    index from the table. Returns whether anything was missing."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, name FROM sqlite_master WHERE name = %s OR type = 'trigger'", [INDEX]
        )
        found = cursor.fetchall()
        if ("table", INDEX) not in found:
            return False
        names = {name for kind, name in found if kind == "trigger"}
        missing = [name for name in TRIGGERS if name not in names]
        for name in missing:
            cursor.execute(TRIGGERS[name])
        if missing:
            cursor.execute(REBUILD)
    return bool(missing)
