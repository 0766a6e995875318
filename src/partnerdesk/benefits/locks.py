"""Row locks of the benefits tables, in ``core.locks``' order: entitlements (second
level), then activations (third)."""

from __future__ import annotations

from partnerdesk.benefits.models import Activation, Entitlement
from partnerdesk.core.locks import locked


def entitlement_lock(entitlement_id: int) -> Entitlement | None:
    return locked(Entitlement.objects.filter(pk=entitlement_id)).first()


def entitlements_lock(**filters) -> list[Entitlement]:
    """Several entitlements at once (an organization's, for a sync), in primary-key order."""
    return list(locked(Entitlement.objects.filter(**filters)))


def activation_lock(activation_id: int) -> Activation | None:
    """Lock its entitlement first: an activation is only ever locked after it."""
    return locked(Activation.objects.filter(pk=activation_id)).first()
