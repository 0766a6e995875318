"""Microsoft Entra tenant IDs: GUIDs, stored lowercase with dashes, as Entra's `tid`
claim spells them."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Personal Microsoft accounts all sign in from this one tenant: it is nobody's organization.
CONSUMER_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def tenant_id_normalized(value: str) -> str:
    return value.strip().lower()


def tenant_id_problem(value: str) -> str | None:
    """Why ``value`` (normalized) cannot be an organization's tenant ID, or None."""
    if not GUID.match(value):
        return str(_("not a tenant ID: a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47"))
    if value == CONSUMER_TENANT_ID:
        return str(_("this is the tenant of personal Microsoft accounts, not an organization's"))
    return None


def validate_tenant_id(value: str) -> None:
    problem = tenant_id_problem(tenant_id_normalized(value)) if value else None
    if problem:
        raise ValidationError(problem, code="tenant_id")
