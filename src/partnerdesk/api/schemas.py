from __future__ import annotations

import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import BaseModel, StringConstraints

from partnerdesk.support.models import Resolution


class Out(BaseModel):
    """An answer built by our own code as plain dicts: validated by pydantic-core alone,
    without ninja's attribute resolution for ORM objects (a tenth of the cost on a page
    of a hundred requests)."""


class OrganizationOut(Schema):
    id: int
    partner_id: str
    name: str
    programs: list[str]


class MeOut(Schema):
    id: int
    email: str
    name: str
    account_type: str
    language: str
    roles: list[str]
    is_operator: bool
    organization: OrganizationOut | None


class ActivationOut(Out):
    state: str
    requested_at: datetime.datetime
    requested_by: str | None
    due_at: datetime.datetime
    decided_at: datetime.datetime | None
    rejection_reason: str | None


class BenefitOut(Out):
    id: int
    benefit: str
    name: str
    offer: str
    competency: str | None
    status: str
    allowance: int | None
    used: int
    remaining: int | None
    expires: datetime.date | None
    activation_deadline: datetime.date
    activated_at: datetime.datetime | None
    access_id: str | None
    contract_id: str | None
    activation: ActivationOut | None


class Notice(Schema):
    code: str
    detail: str


class BenefitList(Out):
    items: list[BenefitOut]
    notice: Notice | None = None


class LedgerEntryOut(Schema):
    id: int
    kind: str
    delta: int
    balance_after: int
    allowance_after: int | None
    note: str
    created_at: datetime.datetime


class LedgerList(Schema):
    items: list[LedgerEntryOut]


class ProductOut(Schema):
    id: int
    name: str
    family: str
    version: str
    deployment: str
    released_on: datetime.date | None
    mainstream_ends_on: datetime.date | None
    entitled: bool


class ProductList(Schema):
    items: list[ProductOut]


class SupportRequestIn(Schema):
    product_id: int | None = None
    severity: Literal["A", "B", "C"]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    error_message: str = ""
    contact_name: Annotated[str, StringConstraints(max_length=200)] = ""
    contact_email: Annotated[str, StringConstraints(max_length=254)] = ""
    contact_phone: Annotated[str, StringConstraints(max_length=40)] = ""
    contract_id: str | None = None
    access_id: str | None = None
    customer_id: int | None = None
    workload: Annotated[str, StringConstraints(max_length=32)] | None = None


class NoteOut(Out):
    id: int
    author: str
    body: str
    created_at: datetime.datetime


class NoteIn(Schema):
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10000)]


class CloseIn(Schema):
    resolution: Literal[tuple(r.value for r in Resolution.closing())]  # type: ignore[valid-type]


class SupportRequestOut(Out):
    id: int
    status: str
    resolution: str | None
    severity: str
    title: str
    description: str
    error_message: str
    product_id: int
    product: str
    entitlement_id: int | None
    contract_id: str | None
    charged: bool
    customer_id: int | None
    opened_by: str
    assigned_to: str | None
    contact_name: str
    contact_email: str
    contact_phone: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    closed_at: datetime.datetime | None


class SupportRequestPage(Out):
    items: list[SupportRequestOut]
    count: int
    count_exact: bool


class SupportRequestDetail(SupportRequestOut):
    notes: list[NoteOut]


class CustomerOut(Schema):
    id: int
    name: str
    tenant_id: str


class CustomerList(Schema):
    items: list[CustomerOut]
