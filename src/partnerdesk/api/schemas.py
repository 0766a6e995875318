from __future__ import annotations

import datetime

from ninja import Schema


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


class ActivationOut(Schema):
    state: str
    requested_at: datetime.datetime
    requested_by: str | None
    due_at: datetime.datetime
    decided_at: datetime.datetime | None
    rejection_reason: str | None


class BenefitOut(Schema):
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


class BenefitList(Schema):
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
