"""Bringing partners in: the bulk import of CONTRACT.md's file, and re-deriving the
entitlements after the operator console edits memberships.

The import goes through its source twice, one organization at a time: first it checks
everything (``validation``), keeping only the small indexes that checks across records
need; then, if all is well, it writes (``writer``), a thousand organizations per round,
in one transaction."""

from __future__ import annotations

from django.db import transaction

from partnerdesk.accounts.models import User
from partnerdesk.benefits.services import entitlements_sync
from partnerdesk.core import sql
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.onboarding.reader import ImportSource, SourceChanged
from partnerdesk.onboarding.validation import CHUNK, import_validate, organization_parsed
from partnerdesk.onboarding.writer import ImportSummary, ImportWriter
from partnerdesk.partners.models import Competency, Organization

__all__ = ["ImportProgress", "ImportSummary", "memberships_changed", "partners_import"]


class ImportProgress:
    """What an import reports as it goes; the command draws it, other callers ignore it."""

    def checked(self, count: int) -> None:
        """``count`` more organizations were checked."""

    def written(self, count: int, total: int) -> None:
        """``count`` more of the ``total`` organizations were written."""


def partners_import(
    *, source: ImportSource, progress: ImportProgress | None = None
) -> ImportSummary:
    """Check the whole source, then upsert it in one transaction (by ``partner_id`` and
    by user ``email``). Raises ``ValidationFailed`` with every bad record's path, having
    written nothing (``MalformedJSON`` for a file that is not JSON, ``SourceChanged`` for
    one that changed between the two passes). Importing the same file twice changes
    nothing."""
    progress = progress or ImportProgress()
    competencies = {c.name.casefold(): c.name for c in Competency.objects.all()}
    checked = import_validate(source=source, competencies=competencies, checked=progress.checked)
    writer = ImportWriter(
        competency_ids=dict(Competency.objects.values_list("name", "pk")), checked=checked
    )
    written = 0
    with transaction.atomic():
        for chunk in sql.batched(enumerate(source.organizations()), CHUNK):
            items = []
            for index, raw in chunk:
                item, problems = organization_parsed(raw, index, competencies)
                if problems:
                    raise ValidationFailed(problems)  # the file changed since the check
                items.append(item)
            writer.write(items)
            written += len(items)
            progress.written(len(items), checked.count)
        if written != checked.count:
            raise SourceChanged
    return writer.summary


def memberships_changed(*, organization: Organization, actor: User | None = None) -> None:
    """Call after any membership edit outside the import (the operator console)."""
    entitlements_sync(organization=organization, actor_id=actor.pk if actor else None)
