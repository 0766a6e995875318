"""Server-side SVG charts: no JavaScript, readable by screen readers through their label."""

from __future__ import annotations

import datetime

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from partnerdesk.benefits.usage import usage_series

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 320, 110, 28, 18, 8


def usage_chart(
    *, points: list[tuple[datetime.date, int]], ceiling: int | None, label: str
) -> SafeString:
    start, end = points[0][0], points[-1][0]
    span = max((end - start).days, 1)
    top = max(ceiling or 0, max(used for _, used in points), 1)
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP

    def x(day: datetime.date) -> float:
        return round(LEFT + (day - start).days / span * plot_w, 1)

    def y(used: int) -> float:
        return round(TOP + plot_h - used / top * plot_h, 1)

    # A step line: use stays level until the day it changes.
    coords, previous = [], 0
    for day, used in points:
        coords += [(x(day), y(previous)), (x(day), y(used))]
        previous = used
    polyline = " ".join(f"{cx},{cy}" for cx, cy in coords)
    ceiling_line = (
        format_html(
            '<line class="ceiling" x1="{}" x2="{}" y1="{}" y2="{}"/>',
            LEFT,
            WIDTH - 4,
            y(ceiling),
            y(ceiling),
        )
        if ceiling
        else ""
    )
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="{}">{}</text>',
        [
            (LEFT, HEIGHT - 4, "start", date_format(start, "SHORT_DATE_FORMAT")),
            (WIDTH - 4, HEIGHT - 4, "end", date_format(end, "SHORT_DATE_FORMAT")),
            (LEFT - 4, y(top) + 4, "end", top),
            (LEFT - 4, y(0), "end", 0),
        ],
    )
    return format_html(
        '<svg class="usage-chart" viewBox="0 0 {w} {h}" role="img" aria-label="{label}">'
        "<title>{label}</title>"
        '<line class="grid-line" x1="{l}" x2="{r}" y1="{b}" y2="{b}"/>'
        "{ceiling}"
        '<polyline class="series" points="{points}"/>'
        "{labels}</svg>",
        w=WIDTH,
        h=HEIGHT,
        label=label,
        l=LEFT,
        r=WIDTH - 4,
        b=y(0),
        ceiling=ceiling_line,
        points=polyline,
        labels=labels,
    )


def chart_label(entitlement, points) -> str:
    used, since = points[-1][1], date_format(points[0][0])
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


def entitlement_charts(entitlements, today) -> dict[int, str]:
    series = usage_series(entitlements=entitlements, today=today)
    return {
        e.pk: usage_chart(
            points=series[e.pk], ceiling=e.allowance, label=chart_label(e, series[e.pk])
        )
        for e in entitlements
    }
