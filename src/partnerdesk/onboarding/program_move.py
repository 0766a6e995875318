"""An operator moves an organization from one partner program to the next on a date: its
memberships of other programs that run then end the day before, the new program's
memberships start that day, and the ledger records both sides — the old benefits' expiry
and the new ones' grants — at once when the date has come, else on that date (the
periodic ``entitlements_refresh_due``). Checked whole first; on any problem nothing is
written."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from types import SimpleNamespace

import pydantic
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.accounts.audit import audit_record
from partnerdesk.benefits.locks import entitlements_lock
from partnerdesk.benefits.models import CURRENT_STATES, LedgerEntry
from partnerdesk.benefits.services import entitlements_sync
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.core.field_errors import field_message
from partnerdesk.events.services import events_record_many
from partnerdesk.onboarding.events import membership_changed
from partnerdesk.onboarding.validation import ImportNames, Problem, _membership_problems
from partnerdesk.partners.import_schema import MembershipIn
from partnerdesk.partners.locks import organization_lock
from partnerdesk.partners.models import (
    Competency,
    Membership,
    Organization,
    Program,
    Qualification,
    SolutionArea,
    months_after,
)

OfferChoice = tuple[str, str | None]  # (offer code, its competency or solution area)
DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class MoveResult:
    """What the move wrote: the memberships it closed (ending the day before ``on``) and
    opened, and the ledger entries it wrote now (none while ``on`` is ahead:
    ``recorded_now`` is False and the periodic refresh writes them on that date)."""

    organization: Organization
    program: Program
    on: datetime.date
    ends: datetime.date
    closed: list[Membership]
    opened: list[Membership]
    entries: list[LedgerEntry]
    recorded_now: bool


def program_move(
    *,
    partner_id: str,
    to_program: str,
    on: datetime.date,
    offers: list[OfferChoice],
    ends: datetime.date | None = None,
    actor=None,
) -> MoveResult:
    """Close the organization's memberships of other programs that run on ``on`` (they
    end the day before) and open one membership of ``to_program`` per offer, from ``on``
    to ``ends`` (a year by default). Raises ``ValidationFailed`` with every problem,
    having written nothing."""
    organization = Organization.objects.filter(partner_id=partner_id).first()
    if organization is None:
        raise ValidationFailed(
            [
                {
                    "path": "partner_id",
                    "message": _("no organization has the partner ID “%(partner_id)s”")
                    % {"partner_id": partner_id},
                }
            ]
        )
    ends = ends or months_after(on, 12) - DAY
    today = timezone.localdate()
    with transaction.atomic():
        # Serialises this move with the organization's syncs, imports and other moves;
        # the memberships are read and checked under it.
        organization_lock(organization.pk)
        names = ImportNames.load()
        checked = _offers_checked(offers, to_program=to_program, on=on, ends=ends, names=names)
        program = names.programs.by_code.get(to_program)
        problems = checked.problems
        closing: list[Membership] = []
        if program is not None:
            closing, later = _closing(organization, program=program, on=on)
            problems.extend(later)
            if not closing and not later:
                problems.append(
                    {
                        "path": "to",
                        "message": _(
                            "%(partner_id)s has no membership of another program on %(on)s: "
                            "there is nothing to move from"
                        )
                        % {"partner_id": partner_id, "on": on.isoformat()},
                    }
                )
            problems.extend(_overlaps(organization, checked.memberships, program=program))
        if problems:
            raise ValidationFailed(problems)
        from_programs = sorted({names.programs.programs[m.program_id].code for m in closing})
        for membership in closing:
            membership.ends = on - DAY
            membership.save(update_fields=["ends", "updated_at"])
        opened = [_opened(organization, program, m) for m in checked.memberships]
        # The entitlements are locked before the ledger's last entry is read, so every
        # entry after it on them is this move's (and the sync's, in the same order).
        entitlements_lock(organization=organization, state__in=CURRENT_STATES)
        before = LedgerEntry.objects.aggregate(last=Max("pk"))["last"] or 0
        # Run even when ``on`` is ahead: nothing is granted or lapsed before then, but the
        # dates the old entitlements show (a 2021 benefit's last date to activate is its
        # membership's end) follow the closed memberships at once.
        entitlements_sync(
            organization=organization, today=today, actor_id=getattr(actor, "pk", None)
        )
        entries = list(
            LedgerEntry.objects.filter(entitlement__organization=organization, pk__gt=before)
            .select_related("entitlement__benefit")
            .order_by("pk")
        )
        events_record_many([membership_changed(organization, reason="program_move")])
        audit_record(
            action="program.moved",
            actor=actor,
            organization=organization,
            **{
                "from": from_programs,
                "to": program.code,
                "on": on.isoformat(),
                "ends": ends.isoformat(),
                "offers": [
                    {"offer": m.offer, "qualification": m.competency or m.solution_area}
                    for m in checked.memberships
                ],
            },
        )
    return MoveResult(
        organization=organization,
        program=program,
        on=on,
        ends=ends,
        closed=closing,
        opened=opened,
        entries=entries,
        recorded_now=on <= today,
    )


@dataclass
class _CheckedOffers:
    memberships: list[MembershipIn]
    problems: list[Problem]


def _offers_checked(
    offers: list[OfferChoice],
    *,
    to_program: str,
    on: datetime.date,
    ends: datetime.date,
    names: ImportNames,
) -> _CheckedOffers:
    """Each offer as the import checks a membership (``MembershipIn`` and
    ``_membership_problems``), at the move's paths: ``to``, ``offers[1].solution_area``."""
    result = _CheckedOffers(memberships=[], problems=[])

    def fail(path: str, message: str) -> None:
        result.problems.append({"path": path, "message": message})

    program = names.programs.by_code.get(to_program)
    if program is None:
        # Its offers cannot be checked without it; the import's words for it.
        for _field, message in _membership_problems(SimpleNamespace(program=to_program), names):
            fail("to", message)
        return result
    if not (program.valid_from <= on and (program.valid_to is None or on <= program.valid_to)):
        fail("on", _validity_message(program))
    if not offers:
        fail("offers", _("name at least one offer of the new program"))
    if ends < on:
        fail("ends", _("ends before it starts"))
    seen = set()
    for index, (code, qualification) in enumerate(offers):
        base = f"offers[{index}]"
        raw = {"program": to_program, "offer": code, "starts": on, "ends": ends}
        if qualification is not None:
            raw[_qualification_field(program, code, names)] = qualification
        try:
            membership = MembershipIn.model_validate(raw)
        except pydantic.ValidationError as error:
            for e in error.errors():
                fail(_path(base, str(e["loc"][0]) if e["loc"] else ""), field_message(e))
            continue
        found = _membership_problems(membership, names)
        for field_path, message in found:
            fail(_path(base, field_path), message)
        if found:
            continue
        key = (membership.offer, membership.competency, membership.solution_area)
        if key in seen:
            fail(base, _("the same membership is listed twice"))
        seen.add(key)
        result.memberships.append(membership)
    return result


def _validity_message(program: Program) -> str:
    if program.valid_to is None:
        return _("%(program)s starts on %(from)s; a move to it cannot be earlier") % {
            "program": program.code,
            "from": program.valid_from.isoformat(),
        }
    return _("%(program)s runs from %(from)s to %(to)s; a move to it must fall in between") % {
        "program": program.code,
        "from": program.valid_from.isoformat(),
        "to": program.valid_to.isoformat(),
    }


def _qualification_field(program: Program, code: str, names: ImportNames) -> str:
    """What the offer is held in decides where its qualification goes; an offer held in
    nothing (or unknown) gets it where its program's other offers are held."""
    offers = [o for o in names.programs.offers.values() if o.program_id == program.pk]
    offer = next((o for o in offers if o.code == code), None)
    if offer is not None and offer.held_in != Qualification.NONE:
        return offer.held_in
    if any(o.held_in == Qualification.COMPETENCY for o in offers):
        return "competency"
    return "solution_area"


def _path(base: str, field_path: str) -> str:
    if field_path == "program":
        return "to"
    if field_path == "starts":
        return "on"
    if field_path == "ends":
        return "ends"
    return f"{base}.{field_path}" if field_path else base


def _closing(
    organization: Organization, *, program: Program, on: datetime.date
) -> tuple[list[Membership], list[Problem]]:
    """The memberships of other programs that run on ``on``, and a problem for each that
    starts on that date or after: it cannot end the day before."""
    closing, later = [], []
    others = (
        Membership.objects.filter(organization=organization, ends__gte=on)
        .exclude(program=program)
        .select_related("competency", "solution_area")
        .order_by("starts", "pk")
    )
    for membership in others:
        if membership.starts < on:
            closing.append(membership)
            continue
        later.append(
            {
                "path": "on",
                "message": _(
                    "%(membership)s starts on %(starts)s, not before the move: it cannot end "
                    "the day before; move on a later date"
                )
                % {"membership": membership, "starts": membership.starts.isoformat()},
            }
        )
    return closing, later


def _overlaps(
    organization: Organization, memberships: list[MembershipIn], *, program: Program
) -> list[Problem]:
    """A new membership the organization already holds for part of its period."""
    problems = []
    for index, m in enumerate(memberships):
        held = Membership.objects.filter(
            organization=organization,
            program=program,
            offer=m.offer,
            competency__name=m.competency,
            solution_area__name=m.solution_area,
            starts__lte=m.ends,
            ends__gte=m.starts,
        ).first()
        if held is not None:
            problems.append(
                {
                    "path": f"offers[{index}]",
                    "message": _("the organization already holds %(membership)s")
                    % {"membership": held},
                }
            )
    return problems


def _opened(organization: Organization, program: Program, m: MembershipIn) -> Membership:
    return Membership.objects.create(
        organization=organization,
        program=program,
        offer=m.offer,
        competency=Competency.objects.get(name=m.competency) if m.competency else None,
        solution_area=SolutionArea.objects.get(name=m.solution_area) if m.solution_area else None,
        starts=m.starts,
        ends=m.ends,
    )
