"""The import's check: every organization against the schema and the rules, one at a
time, and the checks across records, which keep only where each partner ID and e-mail
address was first seen. It only reads: no lock is taken, whatever the file's size.

E-mail addresses are compared as ``core.emails`` spells them (the schema spells the
file's so); a stored address spelled otherwise (an account from before addresses were
normalized, ``Dan@Example.com``) is still the same person, and the writing re-spells it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pydantic
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from partnerdesk.accounts.models import User
from partnerdesk.core import sql
from partnerdesk.core.emails import email_normalized
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.core.field_errors import field_message
from partnerdesk.onboarding.reader import ImportSource
from partnerdesk.partners.import_schema import ImportFile, OrganizationIn, error_path
from partnerdesk.partners.models import Offer, Organization

CHUNK = 1000
Problem = dict[str, str]


@dataclass
class CheckedImport:
    """What the check learnt: how many organizations there are, which of their partner
    IDs and (normalized) e-mail addresses are stored already (the rest are new), and the
    stored spelling of each address that is not stored normalized."""

    count: int = 0
    stored_partner_ids: set[str] = field(default_factory=set)
    stored_emails: set[str] = field(default_factory=set)
    stored_spellings: dict[str, list[str]] = field(default_factory=dict)

    def spellings(self, email: str) -> list[str]:
        """How a normalized address may be stored: as it is, or as it was once typed."""
        return [email, *self.stored_spellings.get(email, ())]


def _spelled_otherwise() -> dict[str, list[str]]:
    """Stored addresses that are not normalized (none, unless written around the
    accounts' manager): one scan of the users, once per import."""
    spellings: dict[str, list[str]] = defaultdict(list)
    for email in User.objects.exclude(email=Lower("email")).values_list("email", flat=True):
        if email_normalized(email) != email:
            spellings[email_normalized(email)].append(email)
    return dict(spellings)


def import_validate(
    *, source: ImportSource, competencies: dict[str, str], checked: Callable[[int], None]
) -> CheckedImport:
    """Go through the whole source; raise ``ValidationFailed`` with every problem in it.
    ``checked`` hears of each chunk done."""
    problems: list[Problem] = []
    result = CheckedImport(stored_spellings=_spelled_otherwise())
    across = _CrossRecordChecks(problems, result)
    for chunk in sql.batched(enumerate(source.organizations()), CHUNK):
        for index, raw in chunk:
            item, found = organization_parsed(raw, index, competencies)
            problems.extend(found)
            if item is not None:
                across.add(index, item)
        across.check_database()
        result.count += len(chunk)
        checked(len(chunk))
    try:
        ImportFile.model_validate(source.outline())
    except pydantic.ValidationError as error:
        problems[:0] = [
            {"path": error_path(e["loc"]), "message": field_message(e)} for e in error.errors()
        ]
    if problems:
        raise ValidationFailed(problems)
    return result


def organization_parsed(
    raw: Any, index: int, competencies: dict[str, str]
) -> tuple[OrganizationIn | None, list[Problem]]:
    """One organization, by the schema and by the rules that need no other record; its
    competencies spelled as the catalog spells them."""
    try:
        org = OrganizationIn.model_validate(raw)
    except pydantic.ValidationError as error:
        return None, [
            {"path": error_path(("organizations", index, *e["loc"])), "message": field_message(e)}
            for e in error.errors()
        ]
    problems: list[Problem] = []

    def fail(path: str, message: str) -> None:
        problems.append({"path": path, "message": message})

    base = f"organizations[{index}]"
    if not org.programs:
        fail(f"{base}.programs", _("at least one program (mpn, csp) is required"))
    if org.customers and "csp" not in org.programs:
        fail(f"{base}.customers", _("only a CSP organization has customers"))
    keys = set()
    for j, m in enumerate(org.memberships):
        path = f"{base}.memberships[{j}]"
        if m.offer == Offer.ACTION_PACK and m.competency:
            fail(f"{path}.competency", _("Action Pack is not held in a competency"))
        if m.offer != Offer.ACTION_PACK and not m.competency:
            fail(f"{path}.competency", _("Silver and Gold are held in a competency"))
        if m.competency:
            if m.competency.casefold() not in competencies:
                fail(
                    f"{path}.competency",
                    _("unknown competency “%(name)s”") % {"name": m.competency},
                )
            else:
                m.competency = competencies[m.competency.casefold()]
        if m.ends < m.starts:
            fail(f"{path}.ends", _("ends before it starts"))
        key = (m.offer, m.competency, m.starts)
        if key in keys:
            fail(path, _("the same membership is listed twice"))
        keys.add(key)
    tenants = set()
    for j, c in enumerate(org.customers):
        if c.tenant_id in tenants:
            fail(f"{base}.customers[{j}].tenant_id", _("duplicate tenant ID"))
        tenants.add(c.tenant_id)
    return org, problems


def _user_path(index: int, j: int) -> str:
    return f"organizations[{index}].users[{j}].email"


class _CrossRecordChecks:
    """What one organization cannot tell alone: a partner ID or an e-mail address listed
    twice, an address that already belongs to someone else. Keeps where each partner ID
    and address was first seen, and which are stored already, nothing more."""

    def __init__(self, problems: list[Problem], result: CheckedImport) -> None:
        self._problems = problems
        self._result = result
        self._partner_ids: dict[str, int] = {}
        self._emails: dict[str, tuple[int, int]] = {}
        self._unchecked_partner_ids: list[str] = []
        self._unchecked: list[tuple[str, str, str]] = []  # e-mail, partner ID, path

    def _fail(self, path: str, message: str) -> None:
        self._problems.append({"path": path, "message": message})

    def add(self, index: int, org: OrganizationIn) -> None:
        first = self._partner_ids.setdefault(org.partner_id, index)
        if first == index:
            self._unchecked_partner_ids.append(org.partner_id)
        else:
            self._fail(
                f"organizations[{index}].partner_id",
                _("duplicate partner ID, also at organizations[%(index)d]") % {"index": first},
            )
        for j, user in enumerate(org.users):
            seen = self._emails.setdefault(user.email, (index, j))
            if seen != (index, j):
                self._fail(
                    _user_path(index, j),
                    _("duplicate e-mail address, also at %(path)s") % {"path": _user_path(*seen)},
                )
            else:
                self._unchecked.append((user.email, org.partner_id, _user_path(index, j)))

    def check_database(self) -> None:
        """An address that already belongs to another organization (or to an operator)
        cannot be moved by an import: that would silently hand one partner's account to
        another."""
        for chunk in sql.batched(self._unchecked_partner_ids, CHUNK):
            self._result.stored_partner_ids.update(
                Organization.objects.filter(partner_id__in=chunk).values_list(
                    "partner_id", flat=True
                )
            )
        self._unchecked_partner_ids.clear()
        for chunk in sql.batched(self._unchecked, CHUNK):
            claimed = {email: (partner_id, path) for email, partner_id, path in chunk}
            spellings = [s for email in claimed for s in self._result.spellings(email)]
            stored: dict[str, list[tuple[str, str | None, bool]]] = defaultdict(list)
            for row in User.objects.filter(email__in=spellings).values_list(
                "email", "organization__partner_id", "is_staff"
            ):
                stored[email_normalized(row[0])].append(row)
            for email, rows in stored.items():
                self._result.stored_emails.add(email)
                importing, path = claimed[email]
                if len(rows) > 1:
                    self._fail(
                        path,
                        _("this address is stored more than once, spelled %(spellings)s")
                        % {"spellings": ", ".join(sorted(row[0] for row in rows))},
                    )
                    continue
                _email, partner_id, is_staff = rows[0]
                if partner_id is None and is_staff:
                    self._fail(path, _("this address belongs to an operator account"))
                elif partner_id is not None and partner_id != importing:
                    self._fail(
                        path,
                        _("this address already belongs to organization %(partner_id)s")
                        % {"partner_id": partner_id},
                    )
        self._unchecked.clear()
