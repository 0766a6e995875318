"""Membership sync by API: an operator's CRM puts one organization of the import format
(``docs/import.md``) and reads it back. Operators only (``api.operators``)."""

from __future__ import annotations

import datetime
import json
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Status
from pydantic import Field

from partnerdesk.api.operators import OPERATOR_AUTH, operator_of
from partnerdesk.api.problems import COMMON_ERRORS, Problem
from partnerdesk.api.schemas import Out
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.onboarding import selectors
from partnerdesk.onboarding.services import organization_sync
from partnerdesk.partners.import_schema import OrganizationIn

router = Router(tags=["operators"], auth=OPERATOR_AUTH)


class ContactOut(Out):
    name: str
    email: str


class MembershipOut(Out):
    program: str
    offer: str
    competency: str | None
    solution_area: str | None
    starts: datetime.date
    ends: datetime.date


class UserOut(Out):
    email: str
    name: str
    account_type: Literal["work", "personal"]
    roles: list[str]


class CustomerOut(Out):
    name: str
    tenant_id: str


class ImportedOrganization(Out):
    """One organization exactly as the import file holds it: sent back unchanged, it
    changes nothing."""

    partner_id: str
    name: str
    programs: list[Literal["mpn", "csp"]]
    program_contact: ContactOut | None
    tenant_id: str | None
    memberships: list[MembershipOut]
    users: list[UserOut]
    customers: list[CustomerOut]


class SyncedBenefit(Out):
    benefit: str
    program: str | None
    unit: Literal["incidents", "hours"]
    offer: str = Field(description="The granting offers' codes, joined by `+`.")
    competency: str | None
    status: str
    allowance: int | float | None = Field(description="In `unit`; null is unlimited.")
    used: int | float
    remaining: int | float | None
    activation_deadline: datetime.date
    expires: datetime.date | None


class OutcomeCounts(Out):
    created: int
    updated: int
    unchanged: int


class SyncCounts(Out):
    organizations: OutcomeCounts
    memberships: OutcomeCounts
    users: OutcomeCounts
    customers: OutcomeCounts


class OrganizationSyncOut(Out):
    changed: bool = Field(
        description="Whether this call wrote anything; false for an object already stored "
        "as it is (nothing was written, not even an audit event)."
    )
    counts: SyncCounts = Field(description="What the call did, as the import counts it.")
    organization: ImportedOrganization = Field(description="The organization as stored now.")
    benefits: list[SyncedBenefit] = Field(
        description="Its current entitlements, derived from all of its memberships."
    )


def _inlined(schema: Any, definitions: dict[str, Any]) -> Any:
    """The JSON Schema with its ``$defs`` written in place (the document's components
    hold the API's own schemas only)."""
    if isinstance(schema, dict):
        reference = schema.get("$ref", "")
        if reference.startswith("#/$defs/"):
            return _inlined(definitions[reference.removeprefix("#/$defs/")], definitions)
        return {k: _inlined(v, definitions) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(v, definitions) for v in schema]
    return schema


def _body_schema() -> dict[str, Any]:
    schema = OrganizationIn.model_json_schema()
    body = _inlined(schema, schema.get("$defs", {}))
    body["required"] = [name for name in body["required"] if name != "partner_id"]
    body["title"] = "ImportOrganization"
    body["description"] = (
        "One organization of the import file (docs/import.md); `partner_id` may be left "
        "out, else it must be the address's."
    )
    return body


SYNC_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _body_schema()}},
    }
}


def _body(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body)
    except (UnicodeDecodeError, ValueError):
        raise ValidationFailed(
            [{"path": "$", "message": _("The body is not valid JSON.")}]
        ) from None


@router.put(
    "/admin/organizations/{partner_id}",
    # 404: an address that is no partner ID's at all (a "/" in it) is no operation's.
    response={200: OrganizationSyncOut, 201: OrganizationSyncOut, 404: Problem, **COMMON_ERRORS},
    summary="Sync one organization (operators)",
    description=(
        "Creates or updates the organization `partner_id` from one organization object of "
        "the import format (docs/import.md), checked as `partnerdesk import-partners` "
        "checks a file: any problem is 422 `validation_error` with every bad value's path, "
        "relative to the object (`memberships[0].offer`), and nothing is written. Written in "
        "one transaction with its entitlements derived: 201 when the organization was "
        "created, else 200. As in the import, memberships, users and customers the object "
        "does not list are left as they are (a membership is ended by sending it with an "
        "earlier `ends`). PUT is idempotent by itself: the same object again writes nothing "
        "and answers `changed: false`; an `Idempotency-Key` header is not needed and is "
        "ignored. For a staff user's token created with `createtoken --scope operator` "
        "only; any other caller is 403 `operator_required`."
    ),
    openapi_extra=SYNC_BODY,
)
def organization_put(request: HttpRequest, partner_id: str):
    operator = operator_of(request)
    synced = organization_sync(partner_id=partner_id, data=_body(request), actor=operator)
    organization = synced.organization
    answer = {
        "changed": synced.changed,
        "counts": {
            kind: {outcome: counts[outcome] for outcome in ("created", "updated", "unchanged")}
            for kind, counts in synced.summary.counts.items()
        },
        "organization": selectors.organization_exported(organization=organization),
        "benefits": selectors.organization_benefits(
            organization=organization, today=timezone.localdate()
        ),
    }
    return Status(201 if synced.created else 200, answer)


@router.get(
    "/admin/organizations/{partner_id}",
    response={200: ImportedOrganization, 404: Problem, **COMMON_ERRORS},
    summary="One organization in the import format (operators)",
    description=(
        "The organization as the import file holds it, every stored membership, user and "
        "customer included: what a CRM compares with its own record. Sent back with PUT "
        "unchanged, it changes nothing. Operators only, as PUT."
    ),
)
def organization_get(request: HttpRequest, partner_id: str):
    operator_of(request)
    organization = selectors.organization_by_partner_id(partner_id=partner_id)
    return selectors.organization_exported(organization=organization)
