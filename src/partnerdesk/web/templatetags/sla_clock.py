"""The first-response clock as a person reads it: when it is due (in the time zone of the
request's business calendar), how long is left or how late it is, and its state.

    {% load sla_clock %}{% first_response support_request %}
    {{ seconds|time_left }}  → "in 1 hour 20 minutes" / "overdue by 35 minutes"
"""

from __future__ import annotations

import datetime
import math
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from partnerdesk.support import sla
from partnerdesk.support.models import SlaState

register = template.Library()


def duration(seconds: float) -> str:
    """The two largest units, in whole minutes rounded down (never "0 minutes": at
    least one)."""
    minutes = max(1, math.floor(abs(seconds) / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(days)d day", "%(days)d days", days) % {"days": days})
        if hours:
            parts.append(ngettext("%(hours)d hour", "%(hours)d hours", hours) % {"hours": hours})
        return " ".join(parts)
    if hours:
        parts.append(ngettext("%(hours)d hour", "%(hours)d hours", hours) % {"hours": hours})
    if minutes:
        parts.append(
            ngettext("%(minutes)d minute", "%(minutes)d minutes", minutes) % {"minutes": minutes}
        )
    return " ".join(parts)


@register.filter
def topic_label(support_request) -> str:
    """The request's topic, by name in the reader's language (from the catalog snapshot)."""
    from partnerdesk.support.catalog_snapshot import catalog
    from partnerdesk.support.selectors import topic_name

    topic = catalog().topics.get(getattr(support_request, "topic_id", None))
    return topic_name(topic) if topic is not None else ""


@register.filter
def time_left(seconds: float | None) -> str:
    """Seconds until the due time (negative: past it) in words."""
    if seconds is None:
        return ""
    if seconds > 0:
        return _("in %(duration)s") % {"duration": duration(seconds)}
    return _("overdue by %(duration)s") % {"duration": duration(seconds)}


def _zone(support_request) -> ZoneInfo:
    calendar_id = getattr(support_request, "calendar_id", None)
    hours = sla.calendars().by_id.get(calendar_id) if calendar_id is not None else None
    if hours is None or hours.always:
        return ZoneInfo("UTC")
    return hours.zone


@register.inclusion_tag("partnerdesk/sla_clock.html")
def first_response(support_request, now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    state = sla.request_sla_state(support_request, now)
    due = support_request.first_response_due
    zone = _zone(support_request)
    left = None
    if state in (SlaState.ON_TRACK, SlaState.WARNING, SlaState.BREACHED) and due is not None:
        answered = support_request.first_responded_at or support_request.closed_at
        left = (due - (answered or now)).total_seconds()
    return {
        "state": state,
        "state_label": SlaState(state).label if state else "",
        "due": due.astimezone(zone) if due is not None else None,
        "zone": str(zone),
        "time_left": time_left(left) if left is not None and state != SlaState.MET else "",
        "answered": support_request.first_responded_at,
    }
