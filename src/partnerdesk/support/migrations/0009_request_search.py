"""Search of requests' titles and descriptions (support.finding): on PostgreSQL a GIN
index of the 'simple' text-search vector, on SQLite an FTS5 table with the requests'
rows as its external content, kept in step by triggers. Other databases search with
LIKE (no index)."""

from django.db import migrations

POSTGRESQL = [
    "CREATE INDEX IF NOT EXISTS request_search ON support_supportrequest "
    "USING gin (to_tsvector('simple', title || ' ' || description))",
]
POSTGRESQL_BACK = ["DROP INDEX IF EXISTS request_search"]

SQLITE = [
    "CREATE VIRTUAL TABLE support_request_fts USING fts5(title, description, "
    "content='support_supportrequest', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER support_request_fts_insert AFTER INSERT ON support_supportrequest BEGIN "
    "INSERT INTO support_request_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "CREATE TRIGGER support_request_fts_delete AFTER DELETE ON support_supportrequest BEGIN "
    "INSERT INTO support_request_fts(support_request_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); END",
    "CREATE TRIGGER support_request_fts_update AFTER UPDATE OF title, description "
    "ON support_supportrequest BEGIN "
    "INSERT INTO support_request_fts(support_request_fts, rowid, title, description) "
    "VALUES ('delete', old.id, old.title, old.description); "
    "INSERT INTO support_request_fts(rowid, title, description) "
    "VALUES (new.id, new.title, new.description); END",
    "INSERT INTO support_request_fts(support_request_fts) VALUES ('rebuild')",
]
SQLITE_BACK = [
    "DROP TRIGGER IF EXISTS support_request_fts_update",
    "DROP TRIGGER IF EXISTS support_request_fts_delete",
    "DROP TRIGGER IF EXISTS support_request_fts_insert",
    "DROP TABLE IF EXISTS support_request_fts",
]


def _run(statements: dict):
    def run(apps, schema_editor):
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("support", "0008_desk_catalog")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_BACK, "sqlite": SQLITE_BACK}),
        )
    ]
