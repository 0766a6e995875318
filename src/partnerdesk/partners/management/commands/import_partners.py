import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from tqdm import tqdm

from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.partners.services import partners_import

KIND_LABELS = {
    "organizations": gettext_lazy("Organizations"),
    "memberships": gettext_lazy("Memberships"),
    "users": gettext_lazy("Users"),
    "customers": gettext_lazy("CSP customers"),
}


class Command(BaseCommand):
    help = (
        "Import partner organizations, memberships, users and CSP customers from a JSON file. "
        "The whole file is validated first; on any error nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The JSON file (see CONTRACT.md), or - for stdin.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, file: str, no_progress: bool, **options):
        data = self._load(file)
        total = len(data.get("organizations") or []) if isinstance(data, dict) else 0
        bar = tqdm(
            total=total, unit="org", desc=_("Importing"), file=sys.stderr, disable=no_progress
        )

        def progress(items):
            for item in items:
                yield item
                bar.update(1)

        try:
            summary = partners_import(data=data, progress=progress)
        except ValidationFailed as error:
            bar.close()
            for problem in error.errors:
                self.stderr.write(f"{problem['path']}: {problem['message']}")
            count = len(error.errors)
            raise CommandError(
                ngettext(
                    "%(count)d error in %(file)s; nothing was written.",
                    "%(count)d errors in %(file)s; nothing was written.",
                    count,
                )
                % {"count": count, "file": file}
            ) from None
        bar.close()
        for kind, counts in summary.counts.items():
            self.stdout.write(
                _("%(kind)s: %(created)d created, %(updated)d updated, %(unchanged)d unchanged")
                % {
                    "kind": KIND_LABELS[kind],
                    "created": counts["created"],
                    "updated": counts["updated"],
                    "unchanged": counts["unchanged"],
                }
            )
        if not summary.changed_anything:
            self.stdout.write(_("Nothing changed."))

    def _load(self, file: str):
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": file, "error": error.strerror}
            ) from None
        except UnicodeDecodeError:
            raise CommandError(_("%(file)s is not UTF-8 text.") % {"file": file}) from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise CommandError(
                _("%(file)s is not valid JSON: %(error)s at line %(line)d, column %(column)d")
                % {"file": file, "error": error.msg, "line": error.lineno, "column": error.colno}
            ) from None
