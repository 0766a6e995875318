import sqlite3
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from partnerdesk.core.management.commands.backup import sqlite_path


class Command(BaseCommand):
    help = (
        "Replace the SQLite database with a backup made by `partnerdesk backup`. Stop the "
        "server and the worker first."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, file: str, yes: bool, **options):
        target_path = sqlite_path()
        source_path = Path(file)
        if not source_path.is_file():
            raise CommandError(_("No backup at %(file)s.") % {"file": file})
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        try:
            if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise CommandError(_("%(file)s is damaged; nothing was restored.") % {"file": file})
            tables = {r[0] for r in source.execute("SELECT name FROM sqlite_master")}
            if "benefits_entitlement" not in tables:
                raise CommandError(_("%(file)s is not a partnerdesk backup.") % {"file": file})
            if not yes and input(_("Replace the current database? [y/N] ")).lower() != "y":
                raise CommandError(_("Nothing was restored."))
            connection.close()
            target = sqlite3.connect(target_path, timeout=30)
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
        self.stdout.write(_("Restored from %(file)s.") % {"file": file})
