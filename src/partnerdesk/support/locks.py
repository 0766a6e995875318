"""Row locks of support requests: the last level of ``core.locks``' order."""

from __future__ import annotations

from partnerdesk.core.locks import locked
from partnerdesk.support.models import SupportRequest


def support_request_lock(request_id: int) -> SupportRequest | None:
    """Lock the request's contract (``benefits.locks.entitlement_lock``) before this."""
    return locked(SupportRequest.objects.filter(pk=request_id)).first()
