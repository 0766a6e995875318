"""Row locks of partners' tables: the first level of ``core.locks``' order."""

from __future__ import annotations

from partnerdesk.core.locks import locked
from partnerdesk.partners.models import Organization


def organization_lock(organization_id: int) -> Organization | None:
    """Serialises the writers of one organization's entitlements (sync, plan grants)."""
    return locked(Organization.objects.filter(pk=organization_id)).first()
