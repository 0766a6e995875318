from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from partnerdesk.api.problems import COMMON_ERRORS, Problem
from partnerdesk.api.routers.support import DateIn
from partnerdesk.api.schemas import BenefitList, BenefitOut, LedgerList
from partnerdesk.benefits import selectors
from partnerdesk.benefits.activation import activation_request
from partnerdesk.benefits.forecast import Forecast, entitlement_forecasts
from partnerdesk.benefits.messages import (
    MEMBERSHIP_ENDED_HINT,
    NO_BENEFITS,
    WRONG_ACCOUNT_HINT,
    membership_ended_text,
)
from partnerdesk.benefits.models import Activation, Entitlement, EntitlementState
from partnerdesk.benefits.services import entitlement_ids_viewed
from partnerdesk.benefits.statements import benefit_statement
from partnerdesk.core.downloads import file_attachment
from partnerdesk.core.quantities import json_number
from partnerdesk.partners.catalog_snapshot import program_code

router = Router(tags=["benefits"])


def activation_out(activation: Activation | None) -> dict | None:
    if activation is None:
        return None
    return {
        "state": activation.state,
        "requested_at": activation.requested_at,
        "requested_by": activation.requested_by.email if activation.requested_by else None,
        "due_at": activation.due_at,
        "decided_at": activation.decided_at,
        "rejection_reason": activation.rejection_reason or None,
    }


def forecast_out(forecast: Forecast) -> dict:
    return {
        "runs_out_on": forecast.runs_out_on,
        "unused_at_expiry": json_number(forecast.unused_in_unit),
        "outlook": None if forecast.outlook is None else str(forecast.outlook),
        "basis": str(forecast.basis),
        "pace_window_days": forecast.window_days,
        "pace_window_used": json_number(forecast.window_used_in_unit),
        "pace": json_number(forecast.pace_in_unit),
        "ends_on": forecast.ends_on,
    }


def benefit_out(entitlement: Entitlement, today, forecast: Forecast) -> dict:
    return {
        "id": entitlement.pk,
        "benefit": entitlement.benefit.code,
        "name": entitlement.benefit.display_name,
        "program": program_code(entitlement.benefit.program_id),
        "unit": entitlement.benefit.unit,
        "offer": entitlement.offer,
        "competency": entitlement.competency_name or None,
        "status": entitlement.status_on(today),
        "allowance": json_number(entitlement.allowance_in_unit),
        "used": json_number(entitlement.used_in_unit),
        "remaining": json_number(entitlement.remaining_in_unit),
        "expires": entitlement.expires,
        "activation_deadline": entitlement.activation_deadline,
        "activated_at": entitlement.activated_at,
        "access_id": entitlement.access_id,
        "contract_id": entitlement.contract_id,
        "activation": activation_out(entitlement.latest_activation),
        "forecast": forecast_out(forecast),
    }


def benefit_one(entitlement: Entitlement) -> dict:
    today = timezone.localdate()
    forecasts = entitlement_forecasts(entitlements=[entitlement], today=today)
    return benefit_out(entitlement, today, forecasts[entitlement.pk])


@router.get(
    "/benefits",
    response={200: BenefitList, **COMMON_ERRORS},
    summary="Benefits",
    description=(
        "One item per entitlement. With no items, `notice` says why: `membership_ended` "
        "(every membership of the organization has ended; the detail gives the date) or "
        "`no_benefits` (none yet; perhaps the wrong account)."
    ),
)
def benefit_list(request: HttpRequest):
    today = timezone.localdate()
    entitlements = selectors.benefit_list(user=request.auth)
    forecasts = entitlement_forecasts(entitlements=entitlements, today=today)
    items = [benefit_out(e, today, forecasts[e.pk]) for e in entitlements]
    notice = None
    if not items:
        ended_on = selectors.membership_ended_on(
            organization=request.auth.organization, today=today
        )
        if ended_on is not None:
            detail = f"{membership_ended_text(ended_on)} {MEMBERSHIP_ENDED_HINT}"
            notice = {"code": "membership_ended", "detail": detail}
        else:
            notice = {"code": "no_benefits", "detail": f"{NO_BENEFITS} {WRONG_ACCOUNT_HINT}"}
    return {"items": items, "notice": notice}


@router.get(
    "/benefits/{benefit_id}",
    response={200: BenefitOut, 404: Problem, **COMMON_ERRORS},
    summary="One benefit",
)
def benefit_detail(request: HttpRequest, benefit_id: int):
    entitlement = selectors.benefit_get(user=request.auth, entitlement_id=benefit_id)
    entitlement_ids_viewed(user=request.auth, entitlement=entitlement)
    return benefit_one(entitlement)


@router.get(
    "/benefits/{benefit_id}/ledger",
    response={200: LedgerList, 404: Problem, **COMMON_ERRORS},
    summary="A benefit's ledger",
)
def benefit_ledger(request: HttpRequest, benefit_id: int):
    return {"items": selectors.ledger_list(user=request.auth, entitlement_id=benefit_id)}


class StatementQuery(Schema):
    start: DateIn | None = Field(None, alias="from")
    end: DateIn | None = Field(None, alias="to")
    format: Literal["csv", "pdf"] = "csv"


@router.get(
    "/benefits/{benefit_id}/statement",
    response={200: None, 404: Problem, **COMMON_ERRORS},
    summary="A benefit's ledger statement (CSV or PDF)",
    description=(
        "The ledger of one benefit over the days `from` to `to` (YYYY-MM-DD, both "
        "included; `to` before `from` is a 422 `validation_error`): the opening balance, "
        "every entry, the closing balance and the totals, in the benefit's unit (hours "
        "for advisory hours). Without `from` it starts on the day the benefit was "
        "created; without `to` it ends today. `format`: `csv` (default; UTF-8 with a "
        "byte-order mark; the first row is `opening_balance`, the last `closing_balance` "
        "with the period's net change as its `delta`) or `pdf` (in the organization's "
        "language). Sent as an attachment."
    ),
    openapi_extra={
        "responses": {
            200: {
                "description": "The statement",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    },
)
def benefit_statement_file(request: HttpRequest, benefit_id: int, query: Query[StatementQuery]):
    statement = benefit_statement(
        user=request.auth,
        entitlement_id=benefit_id,
        start=query.start,
        end=query.end,
        file_format=query.format,
    )
    return file_attachment(
        statement.content, name=statement.filename, content_type=statement.content_type
    )


@router.post(
    "/benefits/{benefit_id}/activate",
    response={200: BenefitOut, 202: BenefitOut, 404: Problem, 409: Problem, **COMMON_ERRORS},
    summary="Activate a benefit",
    description=(
        "Requests activation (Global admin or MPN partner admin only). Answers 202 with "
        "status `activation_pending`; asking again while pending returns the same pending "
        "activation, and an active benefit answers 200 unchanged. Activation completes in "
        "the background after the configured delay, or when an operator approves it."
    ),
)
def benefit_activate(request: HttpRequest, benefit_id: int):
    activation_request(user=request.auth, entitlement_id=benefit_id)
    entitlement = selectors.benefit_get(user=request.auth, entitlement_id=benefit_id)
    pending = entitlement.state == EntitlementState.ACTIVATION_PENDING
    return Status(202 if pending else 200, benefit_one(entitlement))
