"""Bringing partners in: the bulk import of CONTRACT.md's file, and re-deriving the
entitlements after the operator console edits memberships.

The import goes through its source twice, one organization at a time: first it checks
everything (``validation``), reading only and keeping only the small indexes that checks
across records need — on any problem nothing is written; then it writes (``writer``) in
many short transactions, each holding whole organizations and sized to keep the write
lock a fraction of a second (``pacing``), so the API's and the worker's writes go on
meanwhile. Stopped part-way (a crash, a kill, a refused write), what was written is
consistent, and running the same file again completes it."""

from __future__ import annotations

from itertools import islice

from django.db import DatabaseError, connection, transaction

from partnerdesk.accounts.models import User
from partnerdesk.benefits.services import entitlements_sync
from partnerdesk.events.services import events_record_many
from partnerdesk.onboarding.events import membership_changed
from partnerdesk.onboarding.pacing import Pacer
from partnerdesk.onboarding.reader import ImportSource, MalformedJSON, SourceChanged
from partnerdesk.onboarding.validation import ImportNames, import_validate, organization_parsed
from partnerdesk.onboarding.writer import ImportSummary, ImportWriter
from partnerdesk.partners.models import Competency, Organization, SolutionArea

__all__ = [
    "ImportInterrupted",
    "ImportProgress",
    "ImportSummary",
    "memberships_changed",
    "partners_import",
]


class ImportInterrupted(Exception):
    """The database refused a write part-way (a row written by someone else since the
    check, a lock not had in time). That transaction was rolled back; the ``written``
    organizations before it stand, each whole."""

    def __init__(self, *, written: int, reason: str) -> None:
        self.written, self.reason = written, reason
        super().__init__(f"{reason} ({written} organizations written)")


class ImportProgress:
    """What an import reports as it goes; the command draws it, other callers ignore it."""

    def checked(self, count: int) -> None:
        """``count`` more organizations were checked."""

    def written(self, count: int, total: int) -> None:
        """``count`` more of the ``total`` organizations were written."""


def partners_import(
    *, source: ImportSource, progress: ImportProgress | None = None, pacer: Pacer | None = None
) -> ImportSummary:
    """Check the whole source, then upsert it (by ``partner_id`` and by user ``email``)
    in short transactions of whole organizations. Raises ``ValidationFailed`` with every
    bad record's path, having written nothing (``MalformedJSON`` for a file that is not
    JSON or nests too deep); ``SourceChanged`` for a file that changed after the check,
    and ``ImportInterrupted`` for a write the database refused, both saying how many
    organizations were written before. Importing the same file twice changes nothing."""
    progress = progress or ImportProgress()
    competencies = ImportNames.load()
    checked = import_validate(source=source, competencies=competencies, checked=progress.checked)
    writer = ImportWriter(
        competency_ids=dict(Competency.objects.values_list("name", "pk")),
        solution_area_ids=dict(SolutionArea.objects.values_list("name", "pk")),
        program_ids={code: p.pk for code, p in competencies.programs.by_code.items()},
        checked=checked,
        pacer=pacer,
    )
    read = 0
    organizations = enumerate(source.organizations())
    try:
        # Each chunk is read and parsed while the lock is free for others.
        while chunk := list(islice(organizations, writer.chunk_size())):
            items = []
            for index, raw in chunk:
                item, problems = organization_parsed(raw, index, competencies)
                if problems:
                    raise SourceChanged  # it passed the check: the file is not the same
                items.append(item)
            writer.write(items)
            read += len(items)
            progress.written(len(items), checked.count)
        if read != checked.count:
            raise SourceChanged
    except (SourceChanged, MalformedJSON, UnicodeDecodeError) as error:
        # The second reading of what was checked whole can only fail if it changed.
        raise SourceChanged(writer.summary.organizations_written) from error
    except (DatabaseError, connection.Database.DatabaseError) as error:
        # The driver's own too: bulk statements (COPY) go to it without Django's wrapper.
        raise ImportInterrupted(
            written=writer.summary.organizations_written, reason=" ".join(str(error).split())
        ) from error
    return writer.summary


def memberships_changed(*, organization: Organization, actor: User | None = None) -> None:
    """Call after any membership edit outside the import (the operator console)."""
    with transaction.atomic():
        entitlements_sync(organization=organization, actor_id=actor.pk if actor else None)
        events_record_many([membership_changed(organization, reason="admin")])
