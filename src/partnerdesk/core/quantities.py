"""Amounts in a benefit's unit, as a reader sees them: "12 incidents", "7.5 hours" (or
"7,5 godziny"). Incidents are whole; hours are kept to the minute and shown with up to
two decimals."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format
from django.utils.translation import ngettext


def amount_text(amount) -> str:
    """A whole amount as digits, a fraction with the reader's decimal separator."""
    # Rounded to two decimals first (number_format cuts digits): 10 minutes are 0.17 h.
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if value == value.to_integral_value():
        return str(int(value))
    digits = 1 if (value * 10) == (value * 10).to_integral_value() else 2
    return number_format(value, decimal_pos=digits)


def json_number(value):
    """An amount for the API: whole as an integer, a fraction (hours to the minute) as a
    number with four decimals."""
    if value is None or isinstance(value, int):
        return value
    return round(float(value), 4)


def plural_count(amount) -> int:
    """The number that picks an amount's plural form: a fraction takes the form Russian
    and Polish use for 2 ("7,5 часа", "7,5 godziny")."""
    value = Decimal(str(amount))
    return int(value) if value == value.to_integral_value() else 2


def quantity_text(amount, unit: str) -> str:
    value = Decimal(str(amount))
    if unit == "hours":
        return ngettext("%(count)s hour", "%(count)s hours", plural_count(value)) % {
            "count": amount_text(value)
        }
    return ngettext("%(count)d incident", "%(count)d incidents", int(value)) % {"count": int(value)}


def remaining_of_text(remaining, allowance, unit: str) -> str:
    """ "12 of 50 incidents", "7.5 of 10 hours": what is left of a limited allowance."""
    value = Decimal(str(allowance))
    n = plural_count(value)
    values = {"remaining": amount_text(remaining), "count": amount_text(value)}
    if unit == "hours":
        return ngettext(
            "%(remaining)s of %(count)s hour", "%(remaining)s of %(count)s hours", n
        ) % (values)
    return (
        ngettext("%(remaining)s of %(count)s incident", "%(remaining)s of %(count)s incidents", n)
        % values
    )
