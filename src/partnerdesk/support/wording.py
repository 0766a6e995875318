"""How a request's plan and its incident are told to people, in one place: the request
pages and the e-mails say the same sentence. A request on the Cloud Solution Provider
plan never mentions incidents."""

from __future__ import annotations

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from partnerdesk.support.models import Resolution, SupportRequest


def refund_reason(resolution: str) -> str:
    return {
        Resolution.WITHDRAWN: _("withdrawn"),
        Resolution.DUPLICATE: _("duplicate"),
        Resolution.PRODUCT_BUG: _("product bug"),
    }.get(resolution, "")


def incident_text(support_request: SupportRequest) -> str:
    """ "1 incident charged", "1 incident charged — refunded on <date> (withdrawn)", or
    nothing at all (nothing was charged: the Cloud Solution Provider plan)."""
    if not support_request.charged:
        return ""
    if support_request.refunded_at is None:
        return _("1 incident charged")
    reason = refund_reason(support_request.resolution)
    date = formats.date_format(timezone.localtime(support_request.refunded_at), "DATE_FORMAT")
    if not reason:
        return _("1 incident charged — refunded on %(date)s") % {"date": date}
    return _("1 incident charged — refunded on %(date)s (%(reason)s)") % {
        "date": date,
        "reason": reason,
    }
