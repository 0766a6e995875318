import gc
import shutil
import sys
import tempfile
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from tqdm import tqdm

from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.onboarding.reader import FileSource, MalformedJSON, SourceChanged, TooDeep
from partnerdesk.onboarding.services import ImportInterrupted, ImportProgress, partners_import

KIND_LABELS = {
    "organizations": gettext_lazy("Organizations"),
    "memberships": gettext_lazy("Memberships"),
    "users": gettext_lazy("Users"),
    "customers": gettext_lazy("CSP customers"),
}


class Command(BaseCommand):
    help = (
        "Import partner organizations, memberships, users and CSP customers from a JSON file. "
        "The whole file is validated first; on any error nothing is written. Then it is "
        "written in short transactions of whole organizations, so the portal and the API "
        "keep writing meanwhile; if it stops part-way, run it again to complete it."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The JSON file (see CONTRACT.md), or - for stdin.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, file: str, no_progress: bool, **options):
        progress = _ProgressBars(disable=no_progress)
        # The import makes millions of short-lived objects; frozen, what Django loaded at
        # start-up is not walked again by every full collection (a fifth of the run).
        gc.collect()
        gc.freeze()
        try:
            with self._open(file) as stream:
                summary = partners_import(source=FileSource(stream), progress=progress)
        except ValidationFailed as error:
            progress.close()
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
        except UnicodeDecodeError:
            raise CommandError(_("%(file)s is not UTF-8 text.") % {"file": file}) from None
        except TooDeep as error:
            raise CommandError(
                _(
                    "%(file)s is refused: %(error)s (line %(line)d, column %(column)d); "
                    "nothing was written."
                )
                % {
                    "file": file,
                    "error": error.message,
                    "line": error.line,
                    "column": error.column,
                }
            ) from None
        except MalformedJSON as error:
            raise CommandError(
                _("%(file)s is not valid JSON: %(error)s at line %(line)d, column %(column)d")
                % {
                    "file": file,
                    "error": error.message,
                    "line": error.line,
                    "column": error.column,
                }
            ) from None
        except SourceChanged as error:
            raise CommandError(self._source_changed(file, error.written)) from None
        except ImportInterrupted as error:
            raise CommandError(self._interrupted(error.reason, error.written)) from None
        finally:
            progress.close()
            gc.unfreeze()
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
        if options["verbosity"] >= 2:
            self.stdout.write(
                ngettext(
                    "Written in %(count)d transaction, the longest %(seconds).3f s.",
                    "Written in %(count)d transactions, the longest %(seconds).3f s.",
                    summary.transactions,
                )
                % {"count": summary.transactions, "seconds": summary.longest_transaction}
            )

    @staticmethod
    def _interrupted(reason: str, written: int) -> str:
        if not written:
            return _("The database refused a write (%(reason)s); nothing was written.") % {
                "reason": reason
            }
        return ngettext(
            "The database refused a write (%(reason)s) after %(count)d organization "
            "was written, whole; run the import again to complete it.",
            "The database refused a write (%(reason)s) after %(count)d organizations "
            "were written, each whole; run the import again to complete it.",
            written,
        ) % {"reason": reason, "count": written}

    @staticmethod
    def _source_changed(file: str, written: int) -> str:
        if not written:
            return _("%(file)s changed while it was being imported; nothing was written.") % {
                "file": file
            }
        return ngettext(
            "%(file)s changed while it was being imported, after %(count)d organization "
            "was written, whole; check the file and run the import again.",
            "%(file)s changed while it was being imported, after %(count)d organizations "
            "were written, each whole; check the file and run the import again.",
            written,
        ) % {"file": file, "count": written}

    def _open(self, file: str) -> TextIO:
        """The file, read twice by the import (checked, then written): standard input is
        copied to a temporary file first. A byte-order mark is allowed."""
        try:
            if file != "-":
                return open(file, encoding="utf-8-sig")
            spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (returned)
            shutil.copyfileobj(sys.stdin, spool)
            spool.seek(0)  # and flushed, before the import notes its size and time
            return spool
        except OSError as error:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": file, "error": error.strerror}
            ) from None


class _ProgressBars(ImportProgress):
    """Two bars on standard error: the check (its total unknown until it ends), then the
    writing."""

    def __init__(self, *, disable: bool) -> None:
        self._disable = disable
        self._checking = None
        self._writing = None

    def _bar(self, description: str, total: int | None = None) -> tqdm:
        return tqdm(
            total=total, unit="org", desc=description, file=sys.stderr, disable=self._disable
        )

    def checked(self, count: int) -> None:
        if self._checking is None:
            self._checking = self._bar(_("Checking"))
        self._checking.update(count)

    def written(self, count: int, total: int) -> None:
        if self._writing is None:
            if self._checking is not None:
                self._checking.close()
            self._writing = self._bar(_("Importing"), total)
        self._writing.update(count)

    def close(self) -> None:
        for bar in (self._checking, self._writing):
            if bar is not None:
                bar.close()
