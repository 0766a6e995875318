"""A ledger statement as PDF: ``benefits/statement.html`` rendered in the organization's
language (its dates in that language's formats, see ``partnerdesk.formats``) and laid
out by WeasyPrint, in DejaVu Sans, which has the Cyrillic and Polish letters.

The page is built from the statement's own text only; WeasyPrint is given nothing to
fetch (a URL in the HTML would be refused, not loaded)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext

from partnerdesk.benefits.models import Unit
from partnerdesk.benefits.statements import Statement
from partnerdesk.core.quantities import amount_text, quantity_text
from partnerdesk.partners.catalog_snapshot import offer_named, programs_by_id


def _signed(statement: Statement, value: int) -> str:
    shown = amount_text(statement.in_unit(abs(value)))
    return f"-{shown}" if value < 0 else f"+{shown}"


def _balance(statement: Statement, value: int, allowance: int | None) -> str:
    if allowance is None:
        return gettext("Unlimited")
    shown = amount_text(statement.in_unit(abs(value)))
    return f"-{shown}" if value < 0 else shown


def _total(statement: Statement, value: int) -> str:
    amount = statement.in_unit(abs(value))
    text = quantity_text(amount, statement.unit)
    return f"-{text}" if value < 0 else text


def _program(statement: Statement) -> str:
    benefit = statement.entitlement.benefit
    if benefit.is_paid_plan:
        return gettext("Paid support plan")
    program = programs_by_id().get(benefit.program_id)
    return program.display_name if program is not None else ""


def statement_context(statement: Statement) -> dict:
    """What the template shows, as text in the active language."""
    entitlement = statement.entitlement
    unlimited = entitlement.is_unlimited
    lines = []
    for line in statement.lines:
        if line.unlimited and line.kind == "grant":
            change = gettext("Unlimited")
        else:
            change = _signed(statement, line.delta)
        lines.append(
            {
                "line": line,
                "request": (
                    gettext("Request #%(number)s") % {"number": line.support_request_id}
                    if line.support_request_id
                    else ""
                ),
                "change": change,
                "balance": _balance(statement, line.balance_after, line.allowance_after),
                "actor": line.actor or pgettext("ledger entry made by", "System"),
            }
        )
    return {
        "statement": statement,
        "organization": statement.organization,
        "entitlement": entitlement,
        "benefit_name": entitlement.benefit.display_name,
        "program": _program(statement),
        "offer": ""
        if entitlement.benefit.is_paid_plan
        else offer_named(entitlement.benefit.program_id, entitlement.offer),
        "unit": Unit(statement.unit).label,
        "opening": _balance(statement, statement.opening, statement.opening_allowance)
        if statement.opening_allowance is None
        else _total(statement, statement.opening),
        "closing": _balance(statement, statement.closing, statement.closing_allowance)
        if statement.closing_allowance is None
        else _total(statement, statement.closing),
        "added": _total(statement, statement.added),
        # "Taken": its label says the direction, the amount needs no minus.
        "taken": _total(statement, -statement.taken),
        "unlimited": unlimited,
        "lines": lines,
        "produced_at": timezone.localtime(),
    }


def statement_html(statement: Statement) -> str:
    with translation.override(statement.language):
        return render_to_string("benefits/statement.html", statement_context(statement))


def statement_pdf(statement: Statement) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = statement_html(statement)
    # No protocol allowed: a URL in the page would be refused, never fetched.
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
