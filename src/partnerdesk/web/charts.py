"""Server-side SVG charts: no JavaScript, readable by screen readers through their title
and description.

A usage chart's time axis is the entitlement's term (activation to expiry) once it has
one, else the twelve months up to today; it is marked by month, in the reader's
language, with a line for today. Two sizes: a card's (the dashboard) and a page's (the
benefit's own page); each is drawn for the width it is shown at, so its labels keep
their size instead of being scaled up with a wide picture (see the ``/* charts */``
block of portal.css).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from partnerdesk.benefits.usage import usage_series


@dataclass(frozen=True)
class Size:
    name: str
    width: int
    height: int
    left: int = 30
    right: int = 16
    top: int = 22
    bottom: int = 30
    font: int = 10


CARD = Size("card", 360, 150)
WIDE = Size("wide", 720, 220, left=36, right=24, font=12, bottom=34)


def months_between(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The first day of every month after ``start`` up to ``end``, and ``start`` itself
    when it is a first: where the axis is marked."""
    day = start if start.day == 1 else _next_month(start)
    months = []
    while day <= end:
        months.append(day)
        day = _next_month(day)
    return months


def _next_month(day: datetime.date) -> datetime.date:
    return datetime.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def year_before(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def chart_span(entitlement, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The entitlement's term once activated, else the last twelve months."""
    if entitlement.activated_at and entitlement.expires_on:
        start = entitlement.activated_at.date()
        if start < entitlement.expires_on:
            return start, entitlement.expires_on
    return year_before(today), today


def usage_chart(
    *,
    points: list[tuple[datetime.date, int]],
    ceiling: int | None,
    label: str,
    span: tuple[datetime.date, datetime.date],
    today: datetime.date,
    chart_id: str,
    size: Size = CARD,
) -> SafeString:
    start, end = span
    days = max((end - start).days, 1)
    top = max(ceiling or 0, max(used for _, used in points), 1)
    plot_right = size.width - size.right
    plot_w, plot_h = plot_right - size.left, size.height - size.bottom - size.top
    base = size.top + plot_h

    def x(day: datetime.date) -> float:
        day = min(max(day, start), end)
        return round(size.left + (day - start).days / days * plot_w, 1)

    def y(used: int) -> float:
        return round(base - used / top * plot_h, 1)

    # A step line: use stays level until the day it changes; drawn up to today only.
    coords, previous = [], 0
    for day, used in points:
        if day > end:
            break
        coords += [(x(day), y(previous)), (x(day), y(used))]
        previous = used
    if start <= today <= end:
        coords.append((x(today), y(previous)))
    polyline = " ".join(f"{cx},{cy}" for cx, cy in coords)

    parts = [
        format_html(
            '<line class="grid-line" x1="{}" x2="{}" y1="{}" y2="{}"/>',
            size.left,
            plot_right,
            base,
            base,
        )
    ]
    if ceiling:
        parts.append(
            format_html(
                '<line class="ceiling" x1="{}" x2="{}" y1="{}" y2="{}"/>',
                size.left,
                plot_right,
                y(ceiling),
                y(ceiling),
            )
        )
    months = months_between(start, end)
    # Every month is marked; on a card a long span labels every other one.
    step = 2 if size is CARD and len(months) > 7 else 1
    ticks, labels = [], []
    for index, month in enumerate(months):
        mx = x(month)
        ticks.append((mx, mx, base, base + 4))
        if index % step:
            continue
        labels.append((mx, base + size.font + 4, "middle", "month", date_format(month, "M")))
        if index == 0 or month.month == 1:
            labels.append((mx, base + 2 * size.font + 6, "middle", "year", month.year))
    labels += [
        (size.left - 4, y(top) + size.font / 3, "end", "value", top),
        (size.left - 4, base, "end", "value", 0),
    ]
    parts.append(
        format_html_join("", '<line class="tick" x1="{}" x2="{}" y1="{}" y2="{}"/>', ticks)
    )
    if start <= today <= end:
        tx = x(today)
        anchor = "end" if tx > size.left + plot_w * 0.85 else "start"
        parts.append(
            format_html(
                '<g class="today"><line x1="{x}" x2="{x}" y1="{t}" y2="{b}"/>'
                '<text x="{lx}" y="{ly}" text-anchor="{a}" font-size="{f}">{label}</text></g>',
                x=tx,
                t=size.top - 6,
                b=base,
                lx=tx + (3 if anchor == "start" else -3),
                ly=size.top - 8,
                a=anchor,
                f=size.font,
                label=_("Today"),
            )
        )
    parts.append(format_html('<polyline class="series" points="{}"/>', polyline))
    parts.append(
        format_html_join(
            "",
            '<text class="{}" x="{}" y="{}" text-anchor="{}" font-size="{}">{}</text>',
            [(kind, lx, ly, anchor, size.font, text) for lx, ly, anchor, kind, text in labels],
        )
    )
    description = _("From %(start)s to %(end)s, by month; today is %(today)s.") % {
        "start": date_format(start),
        "end": date_format(end),
        "today": date_format(today),
    }
    return format_html(
        '<svg class="usage-chart {size}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'role="img" aria-labelledby="{id}-title {id}-desc" data-start="{start}" '
        'data-end="{end}"><title id="{id}-title">{label}</title>'
        '<desc id="{id}-desc">{desc}</desc>{body}</svg>',
        size=size.name,
        w=size.width,
        h=size.height,
        id=chart_id,
        start=start.isoformat(),
        end=end.isoformat(),
        label=label,
        desc=description,
        body=format_html_join("", "{}", ((part,) for part in parts)),
    )


def chart_label(entitlement, points) -> str:
    used, since = points[-1][1], date_format(points[0][0])
    if entitlement.benefit.unit == "hours":
        from partnerdesk.benefits.models import in_unit
        from partnerdesk.core.quantities import amount_text, quantity_text

        hours = amount_text(in_unit(used, "hours"))
        if entitlement.allowance is None:
            return _("%(used)s hours used since %(date)s") % {"used": hours, "date": since}
        return _("%(used)s of %(allowance)s used since %(date)s") % {
            "used": hours,
            "allowance": quantity_text(entitlement.allowance_in_unit, "hours"),
            "date": since,
        }
    if entitlement.allowance is None:
        return ngettext(
            "%(used)d incident used since %(date)s",
            "%(used)d incidents used since %(date)s",
            used,
        ) % {"used": used, "date": since}
    return ngettext(
        "%(used)d of %(allowance)d incident used since %(date)s",
        "%(used)d of %(allowance)d incidents used since %(date)s",
        entitlement.allowance,
    ) % {"used": used, "allowance": entitlement.allowance, "date": since}


def _in_unit_value(value, entitlement):
    """The chart draws the benefit's unit (advisory hours are kept in minutes), in floats
    where a fraction: its geometry is float arithmetic."""
    from partnerdesk.benefits.models import in_unit

    amount = in_unit(value, entitlement.benefit.unit)
    return amount if amount is None or isinstance(amount, int) else round(float(amount), 2)


def _in_unit(points, entitlement):
    return [(day, _in_unit_value(used, entitlement)) for day, used in points]


def entitlement_charts(entitlements, today, *, wide: bool = False) -> dict[int, str]:
    series = usage_series(entitlements=entitlements, today=today)
    return {
        e.pk: usage_chart(
            points=_in_unit(series[e.pk], e),
            ceiling=_in_unit_value(e.allowance, e),
            label=chart_label(e, series[e.pk]),
            span=chart_span(e, today),
            today=today,
            chart_id=f"usage-chart-{e.pk}",
            size=WIDE if wide else CARD,
        )
        for e in entitlements
    }
