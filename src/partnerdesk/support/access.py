"""``access_support_request``: fetch a request through what the caller may see, lock it
(after its contract, in ``core.locks``' order) if asked, and answer a missing request and
another organization's the same way."""

from __future__ import annotations

from partnerdesk.accounts.models import User
from partnerdesk.benefits.locks import entitlement_lock
from partnerdesk.core.exceptions import NotFound
from partnerdesk.support.locks import support_request_lock
from partnerdesk.support.models import SupportRequest
from partnerdesk.support.selectors import requests_visible_to


def access_support_request(
    user: User, request_id: int, *, lock: bool = False, own_organization: bool = False
) -> SupportRequest:
    """Engineers reach every request; with ``own_organization`` (a partner's action, such
    as withdrawing) only the caller's organization's requests count, for engineers too."""
    scope = SupportRequest.objects.for_user(user) if own_organization else requests_visible_to(user)
    if not lock:
        support_request = scope.filter(pk=request_id).first()
        if support_request is None:
            raise NotFound()
        return support_request
    # The contract is found by an unlocked read (a request never changes contract), and
    # locked before the request, so refunds and charges queue in the same order.
    found = scope.filter(pk=request_id).values_list("entitlement_id")
    row = found.first()
    if row is None:
        raise NotFound()
    if row[0] is not None:
        entitlement_lock(row[0])
    support_request = support_request_lock(request_id)
    if support_request is None:
        raise NotFound()
    return support_request
