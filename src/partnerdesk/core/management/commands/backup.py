import sqlite3
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _


def sqlite_path() -> Path:
    if connection.vendor != "sqlite":
        raise CommandError(
            _("backup and restore are for the SQLite deployment; use pg_dump for PostgreSQL.")
        )
    return Path(connection.settings_dict["NAME"])


class Command(BaseCommand):
    help = (
        "Copy the SQLite database to FILE with SQLite's online backup: consistent, and safe "
        "while the server and the worker keep writing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file: str, **options):
        source_path = sqlite_path()
        target = Path(file)
        if target.exists():
            raise CommandError(_("%(file)s exists; choose a new file.") % {"file": file})
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(source_path, timeout=30)
        copy = sqlite3.connect(target)
        try:
            # Page by page, letting writers in between steps.
            source.backup(copy, pages=256)
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
            source.close()
        check = sqlite3.connect(target)
        try:
            result = check.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            check.close()
        if result != "ok":
            raise CommandError(
                _("The copy failed its integrity check: %(result)s") % {"result": result}
            )
        self.stdout.write(_("Backed up to %(file)s.") % {"file": target})
