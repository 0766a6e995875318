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
from partnerdesk.partners.catalog_snapshot import ProgramCatalog, program_catalog
from partnerdesk.partners.import_schema import ImportFile, OrganizationIn, error_path
from partnerdesk.partners.models import Competency, Organization, Qualification, SolutionArea

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


@dataclass(frozen=True)
class ImportNames:
    """What memberships name, read once per import: competencies and solution areas by
    their case-folded names (mapped to the catalog's spelling), and the programs."""

    competencies: dict[str, str]
    solution_areas: dict[str, str]
    programs: ProgramCatalog

    @classmethod
    def load(cls) -> ImportNames:
        return cls(
            competencies={c.name.casefold(): c.name for c in Competency.objects.all()},
            solution_areas={a.name.casefold(): a.name for a in SolutionArea.objects.all()},
            programs=program_catalog(),
        )


def import_validate(
    *, source: ImportSource, competencies: ImportNames, checked: Callable[[int], None]
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
    raw: Any, index: int, competencies: ImportNames
) -> tuple[OrganizationIn | None, list[Problem]]:
    """One organization, by the schema and by the rules that need no other record; its
    competencies and solution areas spelled as the catalog spells them."""
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
        for field_path, message in _membership_problems(m, competencies):
            fail(f"{path}.{field_path}", message)
        if m.ends < m.starts:
            fail(f"{path}.ends", _("ends before it starts"))
        key = (m.program, m.offer, m.competency, m.solution_area, m.starts)
        if key in keys:
            fail(path, _("the same membership is listed twice"))
        keys.add(key)
    tenants = set()
    for j, c in enumerate(org.customers):
        if c.tenant_id in tenants:
            fail(f"{base}.customers[{j}].tenant_id", _("duplicate tenant ID"))
        tenants.add(c.tenant_id)
    return org, problems


def _membership_problems(m, names: ImportNames) -> list[tuple[str, str]]:
    """The membership's program, offer and what the offer is held in, against the
    catalog; spells the competency or solution area as the catalog does."""
    program = names.programs.by_code.get(m.program)
    if program is None:
        known = ", ".join(sorted(names.programs.by_code))
        return [
            (
                "program",
                _("unknown program “%(code)s” (known: %(known)s)")
                % {"code": m.program, "known": known},
            )
        ]
    offer = names.programs.offers.get((program.pk, m.offer))
    if offer is None:
        known = ", ".join(
            o.code for o in names.programs.offers.values() if o.program_id == program.pk
        )
        return [
            (
                "offer",
                _("%(program)s has no offer “%(code)s” (its offers: %(known)s)")
                % {"program": program.code, "code": m.offer, "known": known},
            )
        ]
    problems = []
    held = {
        "competency": (Qualification.COMPETENCY, names.competencies),
        "solution_area": (Qualification.SOLUTION_AREA, names.solution_areas),
    }
    for field_name, (qualification, catalog) in held.items():
        value = getattr(m, field_name)
        if offer.held_in == qualification and not value:
            problems.append((field_name, _needed(field_name) % {"offer": m.offer}))
        elif offer.held_in != qualification and value:
            problems.append((field_name, _not_held(field_name) % {"offer": m.offer}))
        elif value and value.casefold() not in catalog:
            problems.append((field_name, _unknown(field_name) % {"name": value}))
        elif value:
            setattr(m, field_name, catalog[value.casefold()])
    return problems


def _needed(field_name: str) -> str:
    if field_name == "competency":
        return _("%(offer)s is held in a competency: name it")
    return _("%(offer)s is held in a solution area: name it")


def _not_held(field_name: str) -> str:
    if field_name == "competency":
        return _("%(offer)s is not held in a competency")
    return _("%(offer)s is not held in a solution area")


def _unknown(field_name: str) -> str:
    if field_name == "competency":
        return _("unknown competency “%(name)s”")
    return _("unknown solution area “%(name)s”")


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
