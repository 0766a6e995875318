from __future__ import annotations

import datetime
from typing import Annotated, Literal

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

from partnerdesk.core import limits
from partnerdesk.support.catalog import CATEGORIES
from partnerdesk.support.models import Resolution, Severity, SlaState
from partnerdesk.support.services import ESTIMATE_MAX_MINUTES, TIME_ENTRY_MAX_MINUTES

# What the OpenAPI document promises about text, as JSON Schema regular expressions: the
# control characters core.limits refuses are outside every text field's pattern.
_ONE_LINE_REFUSED = r"\u0000-\u0008\u000a-\u001f\u007f-\u009f"
_MULTI_LINE_REFUSED = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
# An Idempotency-Key: 1 to 255 visible ASCII characters (spaces inside only).
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]{0,253}[!-~])?$"


def text_pattern(*, multiline: bool, required: bool) -> str:
    refused = _MULTI_LINE_REFUSED if multiline else _ONE_LINE_REFUSED
    if required:  # at least one character that is not white space
        return rf"^[^{refused}]*[^\s{refused}][^{refused}]*$"
    return rf"^[^{refused}]*$"


def _cleaned(*, multiline: bool, required: bool):
    """Leading and trailing white space dropped, then refused: control characters, and
    (``required``) nothing left."""

    def clean(value: str) -> str:
        value = value.strip()
        index = limits.forbidden_character(value, multiline=multiline)
        if index is not None:
            raise PydanticCustomError(
                "control_character", limits.forbidden_character_message(value, index)
            )
        if required and not value:
            raise PydanticCustomError("blank", _("This field may not be blank."))
        return value

    return AfterValidator(clean)


def Text(max_length: int, *, required: bool = False, multiline: bool = False):
    """A text field of at most ``max_length`` characters as sent, without control
    characters (tab, and in long text line breaks, allowed) and, ``required``, with
    something besides white space; the OpenAPI pattern says the same."""
    return Annotated[
        str,
        StringConstraints(min_length=1 if required else 0, max_length=max_length),
        _cleaned(multiline=multiline, required=required),
        Field(json_schema_extra={"pattern": text_pattern(multiline=multiline, required=required)}),
    ]


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


class ForecastOut(Out):
    """At the current pace (docs/forecasts.md): net use over the last 90 days, or since
    activation when that is shorter; every amount in the benefit's `unit`."""

    runs_out_on: datetime.date | None = Field(
        description="The day the remaining balance reaches 0 at the current pace. Null when "
        "unlimited, already exhausted, not used in the window, when that day would come after "
        "the benefit expires (it does not run out: `outlook` `lasts`), or without a pace."
    )
    unused_at_expiry: int | float | None = Field(
        description="What will expire unused at the current pace: the remaining balance less "
        "the pace's use until `ends_on`, never below 0. Null when unlimited or without a pace."
    )
    outlook: Literal["runs_out", "lasts", "exhausted", "unlimited"] | None = Field(
        description="`runs_out` before it expires, `lasts` until it expires (it will not run "
        "out before it expires), `exhausted` already, `unlimited`; null when not active, or "
        "limited without a pace."
    )
    basis: Literal["last_90_days", "since_activation", "too_little_history", "not_active"] = Field(
        description="How the pace was measured: over the last 90 days, or since activation "
        "(activated fewer than 90 days ago); `too_little_history` (activated fewer than 14 "
        "days ago) and `not_active` (not activated, pending or expired) have no pace."
    )
    pace_window_days: int | None = Field(description="The window's length in days.")
    pace_window_used: int | float | None = Field(
        description="Net use in the window (uses less refunds; reservations and settlements "
        "for hours), never below 0."
    )
    pace: int | float | None = Field(description="Net use per 30 days at the window's pace.")
    ends_on: datetime.date | None = Field(
        description="The last day the balance can be used: its expiry, or the end of the "
        "membership it goes with when that comes first."
    )


class BenefitOut(Out):
    id: int
    benefit: str
    name: str
    program: str | None = Field(
        description="The partner program whose offers grant it (`mpn-2021`, "
        "`ai-cloud-2025`); null for a paid support plan."
    )
    unit: Literal["incidents", "hours"] = Field(
        description="What `allowance`, `used` and `remaining` count."
    )
    offer: str = Field(
        description="The granting offer's code; where a program adds offers up, every "
        "granting offer's, joined by `+` (`success_core+solutions_partner`)."
    )
    competency: str | None
    status: str
    allowance: int | float | None = Field(description="In `unit`; null is unlimited.")
    used: int | float
    remaining: int | float | None
    expires: datetime.date | None
    activation_deadline: datetime.date
    activated_at: datetime.datetime | None
    access_id: str | None
    contract_id: str | None
    activation: ActivationOut | None
    forecast: ForecastOut = Field(
        description="When it runs out and how much will expire unused, at the current pace."
    )


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
    support_request_id: int | None
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


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" for c in word)


# A letter, or Partner Center's name for it, in any case: the pattern says exactly what
# Severity.parse accepts, so the OpenAPI document and the server agree.
SEVERITY_PATTERN = (
    "^(?:" + "|".join(_any_case(word) for word in ["A", "B", "C", *Severity.aliases()]) + ")$"
)
SeverityIn = Annotated[
    str,
    StringConstraints(pattern=SEVERITY_PATTERN),
    AfterValidator(lambda value: Severity.parse(value).value),
    Field(
        description=(
            "`A`, `B` or `C`, or Partner Center's names `critical` (A), `moderate` (B), "
            "`minimal` (C), in any case. The answer always gives the letter."
        ),
        json_schema_extra={"examples": ["A", "B", "C", "critical", "moderate", "minimal"]},
    ),
]


# The program's request categories (support.catalog); the service refuses the rest.
CategoryIn = Literal[tuple(c["code"] for c in CATEGORIES)]  # type: ignore[valid-type]


class SupportRequestIn(Schema):
    product_id: int | None = None
    severity: SeverityIn
    topic_id: int | None = Field(
        None,
        description=(
            "Optional: a support topic of the product's family "
            "(`GET /api/v1/support-topics?product_id=`)."
        ),
    )
    title: Text(limits.TITLE_MAX, required=True)
    description: Text(limits.DESCRIPTION_MAX, required=True, multiline=True)
    error_message: Text(limits.ERROR_MESSAGE_MAX, multiline=True) = ""
    contact_name: Text(limits.NAME_MAX) = ""
    contact_email: Text(limits.EMAIL_MAX) = ""
    contact_phone: Text(limits.PHONE_MAX) = ""
    contract_id: Text(64) | None = None
    access_id: Text(64) | None = None
    customer_id: int | None = None
    workload: (
        Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[-a-zA-Z0-9_]+$")]
        | None
    ) = None
    category: CategoryIn = Field(
        "technical",
        description=(
            "What the request is about, and so how it is charged: `technical` (one incident, "
            "given back for a duplicate or a product bug), `billing` (one incident, given "
            "back when the request is closed), `frontline` (free), `advisory` (the "
            "`estimate_hours` are reserved from the advisory hours, and settled against the "
            "time the engineers log when the request is closed)."
        ),
    )
    estimate_hours: float | None = Field(
        None,
        # At least one minute: every estimate the schema allows is a whole number of
        # minutes once rounded (round(hours * 60)).
        ge=1 / 60,
        le=ESTIMATE_MAX_MINUTES // 60,
        description=(
            "Advisory requests only (and required for them): the time expected, in hours, "
            "counted to the minute (1.5 is 90 minutes)."
        ),
    )

    # A request is either for a product of the partner's own, or (CSP) for a customer's
    # workload: the OpenAPI document says so (the service refuses the rest, field by field).
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["product_id"],
                    "properties": {
                        "product_id": {"type": "integer"},
                        "customer_id": {"type": "null"},
                        "workload": {"type": "null"},
                    },
                },
                {
                    "required": ["customer_id", "workload"],
                    "properties": {
                        "customer_id": {"type": "integer"},
                        "workload": {"type": "string"},
                    },
                },
            ]
        }
    )


class NoteOut(Out):
    id: int
    author: str
    author_name: str
    # "engineer" (Microsoft support) or "partner": who is speaking in the conversation.
    author_side: Literal["engineer", "partner"]
    body: str
    internal: bool
    attention_needed: bool
    created_at: datetime.datetime


class NoteIn(Schema):
    body: Text(limits.NOTE_MAX, required=True, multiline=True)
    internal: bool = Field(
        False, description="Engineers only: partners never see the note, nor are told of it."
    )
    attention_needed: bool = Field(
        False,
        description="Engineers only: a question; the request waits on the partner (its "
        "first-response clock paused) until someone of the partner replies.",
    )

    # An internal note cannot ask the partner (partners don't see it): the document says so.
    model_config = ConfigDict(
        json_schema_extra={
            "not": {
                "required": ["internal", "attention_needed"],
                "properties": {"internal": {"const": True}, "attention_needed": {"const": True}},
            }
        }
    )


class CloseIn(Schema):
    resolution: Literal[tuple(r.value for r in Resolution.closing())]  # type: ignore[valid-type]
    overdraw: bool = Field(
        False,
        description=(
            "Advisory requests: an operator's override that lets the settlement take the "
            "hours below zero when the time logged is more than the estimate and the hours "
            "left (otherwise 409 `hours_insufficient`). Recorded in the audit log."
        ),
    )


class TimeEntryIn(Schema):
    minutes: int = Field(
        ..., ge=1, le=TIME_ENTRY_MAX_MINUTES, description="Time spent, to the minute."
    )
    note: Text(300) = ""


class TimeEntryOut(Out):
    id: int
    minutes: int
    note: str
    engineer: str
    created_at: datetime.datetime


Hours = int | float


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
    topic_id: int | None
    topic: str | None
    first_response_due: datetime.datetime | None
    sla_state: SlaState | None
    refunded: bool
    refunded_at: datetime.datetime | None
    category: str = Field(
        description="`technical`, `billing`, `frontline` or `advisory` (requests from "
        "before categories are `technical`)."
    )
    estimate_hours: Hours | None = Field(
        description="Advisory requests: the hours reserved when it was opened; else null."
    )
    time_logged_hours: Hours = Field(description="The time the engineers logged, in hours.")
    settled: bool = Field(
        description="Advisory requests: whether closing settled the reservation against "
        "the time logged."
    )


class SupportRequestPage(Out):
    items: list[SupportRequestOut]
    count: int
    count_exact: bool


class AttachmentOut(Out):
    id: int
    name: str
    size: int
    content_type: str
    url: str


class SupportRequestDetail(SupportRequestOut):
    notes: list[NoteOut]
    attachments: list[AttachmentOut]
    time_entries: list[TimeEntryOut] | None = Field(
        None, description="Support engineers only (partners see `time_logged_hours`)."
    )


class CustomerOut(Schema):
    id: int
    name: str
    tenant_id: str


class CustomerList(Schema):
    items: list[CustomerOut]
