"""Ledger statements: one entitlement's ledger over a period, as CSV or PDF, for the
organization that holds it. Pure reads.

A statement covers whole days, ``start`` to ``end`` (both included, in the site's time
zone): the balance when ``start`` began (the balance after the last entry before it; 0
when there was none), every entry of the period in the ledger's order, the balance when
``end`` ended, and the totals added and taken. Without dates it covers the entitlement's
whole life so far: from the day it was created to today. Amounts are in the benefit's
unit (the ledger keeps hours as minutes; a statement shows hours).

The PDF is written in the organization's language (``organization_language``); the CSV
keeps the API's names in its header and codes in ``kind``, with the entry in words (in
the same language) beside them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partnerdesk.accounts.models import User
from partnerdesk.benefits.models import Entitlement, LedgerKind, in_unit
from partnerdesk.benefits.selectors import benefit_get
from partnerdesk.core.csvfile import csv_pieces
from partnerdesk.core.exceptions import ValidationFailed

FORMATS = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}
CSV_HEADER = [
    "entry_id",
    "created_at",
    "kind",
    "entry",
    "support_request_id",
    "delta",
    "balance_after",
    "allowance_after",
    "unit",
    "actor",
    "note",
]
# The first and the last row of the CSV: the balances the period starts and ends with.
OPENING, CLOSING = "opening_balance", "closing_balance"


@dataclass(frozen=True)
class StatementLine:
    """One ledger entry, in ledger units (minutes for hours)."""

    entry_id: int
    created_at: datetime.datetime
    kind: str
    support_request_id: int | None
    delta: int
    balance_after: int
    allowance_after: int | None
    actor: str  # the e-mail of who made it; empty for the system
    note: str

    @property
    def kind_text(self) -> str:
        return str(LedgerKind(self.kind).label)

    @property
    def unlimited(self) -> bool:
        return self.allowance_after is None


@dataclass(frozen=True)
class Statement:
    entitlement: Entitlement
    start: datetime.date
    end: datetime.date
    opening: int  # ledger units
    opening_allowance: int | None
    lines: list[StatementLine]
    language: str

    @property
    def organization(self):
        return self.entitlement.organization

    @property
    def unit(self) -> str:
        return self.entitlement.benefit.unit

    @property
    def closing(self) -> int:
        return self.lines[-1].balance_after if self.lines else self.opening

    @property
    def closing_allowance(self) -> int | None:
        return self.lines[-1].allowance_after if self.lines else self.opening_allowance

    @property
    def added(self) -> int:
        return sum(line.delta for line in self.lines if line.delta > 0)

    @property
    def taken(self) -> int:
        return sum(line.delta for line in self.lines if line.delta < 0)

    def in_unit(self, value: int | None) -> int | Decimal | None:
        return in_unit(value, self.unit)


@dataclass(frozen=True)
class StatementFile:
    content: bytes
    content_type: str
    filename: str


def organization_language(organization) -> str:
    """The language the organization reads: its program contact's, else that of its
    first admin (Global admin or MPN partner admin) who chose one, else of any of its
    users who did, else the site's."""
    users = User.objects.filter(organization=organization, is_active=True).exclude(language="")
    contact = (organization.contact_email or "").strip()
    languages = {code for code, _name in settings.LANGUAGES}
    for chosen in (
        users.filter(email__iexact=contact) if contact else users.none(),
        users.filter(Q(is_global_admin=True) | Q(is_mpn_partner_admin=True)),
        users,
    ):
        language = chosen.order_by("pk").values_list("language", flat=True).first()
        if language in languages:
            return language
    return settings.LANGUAGE_CODE


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def statement_period(
    *,
    entitlement: Entitlement,
    start: datetime.date | None,
    end: datetime.date | None,
    today: datetime.date,
) -> tuple[datetime.date, datetime.date]:
    """The days a statement covers: those given, else from the entitlement's first day
    to today. Only a range given whole can end before it starts."""
    if end is None:
        end = max(today, start) if start is not None else today
    if start is None:
        start = min(timezone.localdate(entitlement.created_at), end)
    if start > end:
        raise ValidationFailed(
            [{"path": "to", "message": gettext("The end date is before the start date.")}]
        )
    return start, end


def entitlement_statement(
    *,
    entitlement: Entitlement,
    start: datetime.date,
    end: datetime.date,
    language: str | None = None,
) -> Statement:
    """The statement of ``entitlement`` (with its benefit and organization) for the days
    ``start`` to ``end``, both included."""
    entries = entitlement.ledger_entries.all()
    began, ended = _day_start(start), _day_start(end + datetime.timedelta(days=1))
    before = (
        entries.filter(created_at__lt=began)
        .order_by("-id")
        .values_list("balance_after", "allowance_after")
        .first()
    )
    if before is None:
        opening, opening_allowance = 0, entitlement.allowance
    else:
        opening, opening_allowance = before
    rows = (
        entries.filter(created_at__gte=began, created_at__lt=ended)
        .order_by("id")
        .values_list(
            "id",
            "created_at",
            "kind",
            "support_request_id",
            "delta",
            "balance_after",
            "allowance_after",
            "actor__email",
            "note",
        )
    )
    lines = [StatementLine(*row[:7], row[7] or "", row[8]) for row in rows]
    return Statement(
        entitlement=entitlement,
        start=start,
        end=end,
        opening=opening,
        opening_allowance=opening_allowance,
        lines=lines,
        language=language or organization_language(entitlement.organization),
    )


def statement_csv(statement: Statement) -> bytes:
    """The opening balance, each entry, the closing balance (its delta: the period's net
    change); amounts in the benefit's unit, ``allowance_after`` empty when unlimited."""
    amount, unit = statement.in_unit, statement.unit
    with translation.override(statement.language):
        rows = [
            (
                None,
                statement.start,
                OPENING,
                gettext("Opening balance"),
                None,
                None,
                amount(statement.opening),
                amount(statement.opening_allowance),
                unit,
                "",
                "",
            )
        ]
        rows += [
            (
                line.entry_id,
                line.created_at,
                line.kind,
                line.kind_text,
                line.support_request_id,
                amount(line.delta),
                amount(line.balance_after),
                amount(line.allowance_after),
                unit,
                line.actor,
                line.note,
            )
            for line in statement.lines
        ]
        rows.append(
            (
                None,
                statement.end,
                CLOSING,
                gettext("Closing balance"),
                None,
                amount(statement.closing - statement.opening),
                amount(statement.closing),
                amount(statement.closing_allowance),
                unit,
                "",
                "",
            )
        )
        return "".join(csv_pieces(CSV_HEADER, rows)).encode()


def statement_filename(statement: Statement, file_format: str) -> str:
    organization, benefit = statement.organization, statement.entitlement.benefit
    return (
        f"statement-{organization.partner_id}-{benefit.code}-"
        f"{statement.start.isoformat()}-{statement.end.isoformat()}.{file_format}"
    )


UNKNOWN_FORMAT = _("Choose csv or pdf.")
# A PDF is laid out whole, in the request: past this many entries, a shorter period or CSV.
PDF_MAX_ENTRIES = 2000


def benefit_statement(
    *,
    user: User,
    entitlement_id: int,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    file_format: str = "csv",
    today: datetime.date | None = None,
) -> StatementFile:
    """The statement of one of the caller's organization's benefits, as a file (another
    organization's benefit is not found, as everywhere)."""
    entitlement = benefit_get(user=user, entitlement_id=entitlement_id)
    if file_format not in FORMATS:
        raise ValidationFailed([{"path": "format", "message": str(UNKNOWN_FORMAT)}])
    start, end = statement_period(
        entitlement=entitlement, start=start, end=end, today=today or timezone.localdate()
    )
    entitlement.organization = user.organization
    statement = entitlement_statement(entitlement=entitlement, start=start, end=end)
    if file_format == "pdf":
        from partnerdesk.benefits.statement_pdf import statement_pdf

        if len(statement.lines) > PDF_MAX_ENTRIES:
            message = gettext(
                "More than %(count)s entries in this period: choose a shorter period, or CSV."
            ) % {"count": PDF_MAX_ENTRIES}
            raise ValidationFailed([{"path": "to", "message": message}])

        content = statement_pdf(statement)
    else:
        content = statement_csv(statement)
    return StatementFile(content, FORMATS[file_format], statement_filename(statement, file_format))
