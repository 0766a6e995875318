"""The request pages' category and advisory hours: ``{% request_hours support_request as
hours %}`` gives the category and, for an advisory request, what was reserved, the time
logged and (once closed) how the reservation was settled, as sentences."""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.utils.translation import gettext

from partnerdesk.support.models import Charging
from partnerdesk.support.services import category_of, hours_text, time_logged

register = template.Library()


@dataclass(frozen=True)
class RequestHours:
    category: object
    advisory: bool
    free: bool
    reserved: str = ""
    logged: str = ""
    logged_minutes: int = 0
    settled: str = ""


def settlement_text(reserved: int, logged: int) -> str:
    """How closing settled the reservation against the time logged."""
    if logged < reserved:
        return gettext("%(logged)s used; %(back)s given back") % {
            "logged": hours_text(logged),
            "back": hours_text(reserved - logged),
        }
    if logged > reserved:
        return gettext("%(logged)s used; %(over)s more than reserved charged") % {
            "logged": hours_text(logged),
            "over": hours_text(logged - reserved),
        }
    return gettext("%(logged)s used, as reserved") % {"logged": hours_text(logged)}


@register.simple_tag
def request_hours(support_request) -> RequestHours:
    category = category_of(support_request)
    free = category is not None and category.charging == Charging.FREE
    if not support_request.is_advisory:
        return RequestHours(category=category, advisory=False, free=free)
    logged = time_logged(support_request)
    reserved = support_request.estimate_minutes
    return RequestHours(
        category=category,
        advisory=True,
        free=False,
        reserved=hours_text(reserved),
        logged=hours_text(logged),
        logged_minutes=logged,
        settled=settlement_text(reserved, logged) if support_request.settled_at else "",
    )
