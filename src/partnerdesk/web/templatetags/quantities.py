"""An entitlement's amounts in its benefit's unit: ``{{ entitlement|allotment }}`` ("50
incidents", "10 hours", "Unlimited"), ``{{ entitlement|remaining_of }}`` ("12 of 50
incidents"), ``{{ value|amount }}`` ("7.5", "7,5"), and ``{{ entitlement|offer_label }}``
(the granting offers as the entitlement's program calls them)."""

from django import template
from django.utils.translation import gettext, ngettext

from partnerdesk.core.quantities import amount_text, quantity_text, remaining_of_text
from partnerdesk.partners.catalog_snapshot import offer_named, programs_by_id

register = template.Library()


@register.filter
def allotment(entitlement) -> str:
    if entitlement.is_unlimited:
        return gettext("Unlimited")
    return quantity_text(entitlement.allowance_in_unit, entitlement.benefit.unit)


@register.filter
def remaining_of(entitlement) -> str:
    if entitlement.is_unlimited:
        return gettext("Unlimited")
    return remaining_of_text(
        entitlement.remaining_in_unit, entitlement.allowance_in_unit, entitlement.benefit.unit
    )


@register.filter
def ledger_amount(value, entitlement) -> str:
    """A ledger quantity (a change: ``signed``) in the entitlement's unit: minutes of
    advisory hours as hours ("-1.5"), incidents as they are."""
    from partnerdesk.benefits.models import in_unit

    shown = amount_text(in_unit(abs(value), entitlement.benefit.unit))
    return shown if value >= 0 else f"-{shown}"


@register.filter
def signed_ledger_amount(value, entitlement) -> str:
    text = ledger_amount(value, entitlement)
    return text if value < 0 else f"+{text}"


@register.filter
def amount(value) -> str:
    return amount_text(value)


@register.filter
def offer_label(entitlement) -> str:
    return offer_named(entitlement.benefit.program_id, entitlement.offer)


@register.filter
def program_name(entitlement) -> str:
    program = programs_by_id().get(entitlement.benefit.program_id)
    return program.display_name if program is not None else ""


@register.filter
def term_text(entitlement) -> str:
    """How long the benefit lasts once activated, as its program says."""
    program = programs_by_id().get(entitlement.benefit.program_id)
    months = program.term_months if program is not None else 12
    if months == 12:
        return gettext("One year after activation")
    return ngettext(
        "%(count)d month after activation", "%(count)d months after activation", months
    ) % {"count": months}
