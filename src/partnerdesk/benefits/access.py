"""``access_<thing>``: fetch through the caller's tenant scope, lock if asked, and answer a
missing object and another organization's the same way (404), so nobody can probe for IDs."""

from __future__ import annotations

from partnerdesk.accounts.models import User
from partnerdesk.benefits.models import Entitlement
from partnerdesk.core.exceptions import NotFound
from partnerdesk.core.locks import locked


def access_entitlement(user: User, entitlement_id: int, *, lock: bool = False) -> Entitlement:
    queryset = Entitlement.objects.for_user(user).visible().filter(pk=entitlement_id)
    entitlement = (locked(queryset) if lock else queryset).first()
    if entitlement is None:
        raise NotFound()
    return entitlement
