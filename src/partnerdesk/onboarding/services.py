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

from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from partnerdesk.accounts.audit import audit_record
from partnerdesk.accounts.models import User
from partnerdesk.benefits.services import entitlements_sync
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.events.services import events_record_many
from partnerdesk.onboarding.events import membership_changed
from partnerdesk.onboarding.pacing import Pacer
from partnerdesk.onboarding.reader import DataSource, ImportSource, MalformedJSON, SourceChanged
from partnerdesk.onboarding.validation import (
    CheckedImport,
    ImportNames,
    import_validate,
    organization_parsed,
)
from partnerdesk.onboarding.writer import ImportSummary, ImportWriter
from partnerdesk.partners.locks import organization_lock
from partnerdesk.partners.models import Competency, Organization, SolutionArea

__all__ = [
    "ImportInterrupted",
    "ImportProgress",
    "ImportSummary",
    "OrganizationSynced",
    "memberships_changed",
    "organization_sync",
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
    writer = _writer(competencies, checked, pacer)
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


def _writer(names: ImportNames, checked: CheckedImport, pacer: Pacer | None) -> ImportWriter:
    return ImportWriter(
        competency_ids=dict(Competency.objects.values_list("name", "pk")),
        solution_area_ids=dict(SolutionArea.objects.values_list("name", "pk")),
        program_ids={code: p.pk for code, p in names.programs.by_code.items()},
        checked=checked,
        pacer=pacer,
    )


@dataclass(frozen=True)
class OrganizationSynced:
    """What ``organization_sync`` did: ``created`` the organization, or ``changed``
    something of it (its entitlements re-derived included), or neither."""

    organization: Organization
    created: bool
    changed: bool
    summary: ImportSummary


# The import's paths name the file's list; one organization's are relative to it.
_ONE = "organizations[0]"


def _relative(path: str) -> str:
    """``organizations[0].memberships[1].offer`` -> ``memberships[1].offer``; the object
    itself is ``$``."""
    if not path.startswith(_ONE):
        return path
    return path[len(_ONE) :].lstrip(".") or "$"


def organization_sync(
    *, partner_id: str, data: Any, actor: User | None = None
) -> OrganizationSynced:
    """One organization of the import format (``data``, parsed JSON) upserted as the
    import does it, in one transaction: checked whole first (the import's check, paths
    relative to the object: ``memberships[0].offer``; ``ValidationFailed``, nothing
    written), then written with its entitlements derived. ``partner_id`` is the
    organization's; the object may leave its own out, or must say the same. Memberships,
    users and customers the object does not list stay as they are, as in the import.
    The same object twice: the second call writes nothing (no audit event either)."""
    try:
        with transaction.atomic():
            return _organization_synced(partner_id, data, actor)
    except (IntegrityError, connection.Database.IntegrityError):
        # Another call created this organization (or one of its users' addresses) after
        # this one found it new: check and write again, against what that one wrote.
        # (PostgreSQL: the first insert waited for the other transaction, then failed.)
        with transaction.atomic():
            return _organization_synced(partner_id, data, actor)


def _other_partner_id(address: str) -> dict[str, str]:
    return {
        "path": f"{_ONE}.partner_id",
        "message": _("the partner ID must be the one in the address, “%(address)s”")
        % {"address": address},
    }


def _organization_synced(partner_id: str, data: Any, actor: User | None) -> OrganizationSynced:
    stored_id = (
        Organization.objects.filter(partner_id=partner_id).values_list("pk", flat=True).first()
    )
    if stored_id is not None:
        # Serialises this call with the organization's other syncs, imports and moves;
        # everything below reads what they committed.
        organization_lock(stored_id)
    problems: list[dict[str, str]] = []
    if isinstance(data, dict):
        given = data.get("partner_id")
        if isinstance(given, str) and given.strip() != partner_id:
            problems.append(_other_partner_id(partner_id))
        # Left out: the address's (and checked as if the object said it).
        data = {"partner_id": partner_id, **data}
    names = ImportNames.load()
    source = DataSource({"organizations": [data]})
    try:
        checked = import_validate(source=source, competencies=names, checked=lambda count: None)
    except ValidationFailed as error:
        problems.extend(error.errors)
    if not problems:
        item, problems = organization_parsed(data, 0, names)
        if item.partner_id != partner_id:  # the address's, with white space around it
            problems.append(_other_partner_id(partner_id))
    if problems:
        raise ValidationFailed(
            [
                {"path": _relative(p["path"]), "message": p["message"].replace(f"{_ONE}.", "")}
                for p in problems
            ]
        )
    writer = _writer(names, checked, Pacer())
    writer.event_reason = "api"
    writer.write([item])
    summary = writer.summary
    organization = Organization.objects.get(partner_id=item.partner_id)
    created = summary.counts["organizations"]["created"] > 0
    changed = summary.changed_anything or summary.entitlements_synced > 0
    if changed:
        audit_record(
            action="organization.synced",
            actor=actor,
            organization=organization,
            created=created,
            **{kind: dict(counts) for kind, counts in summary.counts.items()},
        )
    return OrganizationSynced(
        organization=organization, created=created, changed=changed, summary=summary
    )


def memberships_changed(*, organization: Organization, actor: User | None = None) -> None:
    """Call after any membership edit outside the import (the operator console)."""
    with transaction.atomic():
        entitlements_sync(organization=organization, actor_id=actor.pk if actor else None)
        events_record_many([membership_changed(organization, reason="admin")])
