"""A benefit's forecast (benefits.forecast) as sentences in the reader's language: when it
runs out at the current pace, with the pace's window stated, and how much will expire
unused."""

from __future__ import annotations

from django.utils.formats import date_format
from django.utils.translation import ngettext

from partnerdesk.benefits.forecast import MIN_HISTORY_DAYS, Basis, Forecast, Outlook
from partnerdesk.benefits.models import Unit
from partnerdesk.core.quantities import amount_text, plural_count, quantity_text


def unused_text(amount, unit: str, day) -> str:
    """ "About 3 incidents will expire unused on March 31, 2027." """
    values = {"count": amount_text(amount), "date": date_format(day, "DATE_FORMAT")}
    n = plural_count(amount)
    if unit == Unit.HOURS:
        return (
            ngettext(
                "About %(count)s hour will expire unused on %(date)s.",
                "About %(count)s hours will expire unused on %(date)s.",
                n,
            )
            % values
        )
    return (
        ngettext(
            "About %(count)s incident will expire unused on %(date)s.",
            "About %(count)s incidents will expire unused on %(date)s.",
            n,
        )
        % values
    )


def _pace_line(forecast: Forecast) -> str:
    days = forecast.window_days
    if forecast.outlook == Outlook.RUNS_OUT:
        return ngettext(
            "Runs out around %(date)s at the current pace (%(amount)s in the last %(days)d day).",
            "Runs out around %(date)s at the current pace (%(amount)s in the last %(days)d days).",
            days,
        ) % {
            "date": date_format(forecast.runs_out_on, "DATE_FORMAT"),
            "amount": quantity_text(forecast.window_used_in_unit, forecast.unit),
            "days": days,
        }
    if forecast.window_used:
        return ngettext(
            "Will not run out before it expires at the current pace "
            "(%(amount)s in the last %(days)d day).",
            "Will not run out before it expires at the current pace "
            "(%(amount)s in the last %(days)d days).",
            days,
        ) % {"amount": quantity_text(forecast.window_used_in_unit, forecast.unit), "days": days}
    return ngettext(
        "Will not run out before it expires: nothing used in the last %(days)d day.",
        "Will not run out before it expires: nothing used in the last %(days)d days.",
        days,
    ) % {"days": days}


def forecast_lines(forecast: Forecast | None) -> list[str]:
    """What a limited benefit's card and page say about its future; nothing for an
    unlimited, exhausted or inactive one."""
    if forecast is None or forecast.basis == Basis.NOT_ACTIVE:
        return []
    if forecast.outlook in (Outlook.UNLIMITED, Outlook.EXHAUSTED):
        return []
    if forecast.basis == Basis.TOO_LITTLE_HISTORY:
        return [
            ngettext(
                "No forecast yet: activated fewer than %(days)d day ago.",
                "No forecast yet: activated fewer than %(days)d days ago.",
                MIN_HISTORY_DAYS,
            )
            % {"days": MIN_HISTORY_DAYS}
        ]
    lines = [_pace_line(forecast)]
    if forecast.unused_at_expiry and forecast.ends_on is not None:
        lines.append(unused_text(forecast.unused_in_unit, forecast.unit, forecast.ends_on))
    return lines
