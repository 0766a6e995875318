from __future__ import annotations

from django.db.models import Prefetch

from partnerdesk.accounts.models import User
from partnerdesk.benefits.models import Activation, Entitlement, LedgerEntry
from partnerdesk.benefits.services import entitlements_refresh_if_stale
from partnerdesk.core.exceptions import NotAuthorized, NotFound


def mpn_organization(user: User):
    organization = user.organization if user.organization_id else None
    if organization is None or not organization.in_mpn:
        # CSP-only accounts (and operators without an organization) have no MPN benefits.
        raise NotAuthorized()
    return organization


def _with_activations(queryset):
    """Latest activation first, so ``entitlement.latest_activation`` needs no query."""
    return queryset.prefetch_related(
        Prefetch(
            "activations",
            queryset=Activation.objects.select_related("requested_by").order_by("-id"),
        )
    )


def benefit_list(*, user: User) -> list[Entitlement]:
    organization = mpn_organization(user)
    entitlements_refresh_if_stale(organization=organization)
    return list(
        _with_activations(
            Entitlement.objects.for_user(user)
            .visible()
            .select_related("benefit")
            .order_by("benefit__position", "benefit__code", "-created_at")
        )
    )


def benefit_get(*, user: User, entitlement_id: int) -> Entitlement:
    organization = mpn_organization(user)
    entitlements_refresh_if_stale(organization=organization)
    entitlement = (
        _with_activations(Entitlement.objects.for_user(user).visible())
        .select_related("benefit")
        .filter(pk=entitlement_id)
        .first()
    )
    if entitlement is None:
        raise NotFound()
    return entitlement


def entitlement_ledger(*, entitlement: Entitlement) -> list[LedgerEntry]:
    return list(entitlement.ledger_entries.select_related("actor").order_by("id"))


def ledger_list(*, user: User, entitlement_id: int) -> list[LedgerEntry]:
    return entitlement_ledger(entitlement=benefit_get(user=user, entitlement_id=entitlement_id))
