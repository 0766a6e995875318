import datetime
import re
from typing import Annotated, Literal

from django.db.models import Sum
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import Field, Header, Query, Router, Schema, Status
from pydantic import BeforeValidator, WithJsonSchema

from partnerdesk.api.idempotency import idempotent
from partnerdesk.api.problems import COMMON_ERRORS, Problem, stored_problem_response
from partnerdesk.api.routers.attachments import attachments_out
from partnerdesk.api.schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    CloseIn,
    NoteIn,
    NoteOut,
    SeverityIn,
    SupportRequestDetail,
    SupportRequestIn,
    SupportRequestOut,
    SupportRequestPage,
    Text,
    TimeEntryIn,
    TimeEntryOut,
)
from partnerdesk.benefits.models import Unit, in_unit
from partnerdesk.core import limits
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.core.quantities import json_number
from partnerdesk.support import assignment, selectors, services
from partnerdesk.support import permissions as who_may
from partnerdesk.support.catalog_snapshot import catalog
from partnerdesk.support.export import export_filename, export_lines
from partnerdesk.support.finding import (
    ACTIVE,
    ORDERINGS,
    SEARCH_MAX,
    RequestFilters,
    request_filters,
)
from partnerdesk.support.models import (
    RequestNote,
    RequestStatus,
    SupportRequest,
    TimeEntry,
)

router = Router(tags=["support requests"])
PAGE_DEFAULT, PAGE_MAX = 100, 200
OFFSET_MAX = 1_000_000_000  # past the end is an empty page; past this, a 422
ERRORS = {404: Problem, 409: Problem, **COMMON_ERRORS}


def hours(minutes: int | None) -> int | float | None:
    """Minutes as hours, as the benefits' amounts are given."""
    return json_number(in_unit(minutes, Unit.HOURS))


def _category_codes() -> dict[int, str]:
    return {c.pk: c.code for c in catalog().categories.values()}


def hours_out(values: dict, logged_minutes: int, codes: dict[int, str]) -> dict:
    """A request's category and advisory hours, from its stored values (a row of a page or
    an instance's ``__dict__``); requests from before categories are technical."""
    category_id = values.get("category_id")
    return {
        "category": codes.get(category_id, "technical") if category_id else "technical",
        "estimate_hours": hours(values.get("estimate_minutes")),
        "time_logged_hours": hours(logged_minutes),
        "settled": values.get("settled_at") is not None,
    }


def request_out(support_request: SupportRequest) -> dict:
    entitlement = support_request.entitlement
    # Only advisory requests take time entries: no query for the others.
    logged = services.time_logged(support_request) if support_request.is_advisory else 0
    return {
        "id": support_request.pk,
        "status": support_request.status,
        "resolution": support_request.resolution or None,
        "severity": support_request.severity,
        "title": support_request.title,
        "description": support_request.description,
        "error_message": support_request.error_message,
        "product_id": support_request.product_id,
        "product": support_request.product.name,
        "entitlement_id": support_request.entitlement_id,
        "contract_id": entitlement.contract_id if entitlement else None,
        "charged": support_request.charged,
        "customer_id": support_request.customer_id,
        "opened_by": support_request.opened_by.email,
        "assigned_to": support_request.assigned_to.email if support_request.assigned_to else None,
        "contact_name": support_request.contact_name,
        "contact_email": support_request.contact_email,
        "contact_phone": support_request.contact_phone,
        "created_at": support_request.created_at.isoformat(),
        "updated_at": support_request.updated_at.isoformat(),
        "closed_at": support_request.closed_at.isoformat() if support_request.closed_at else None,
        **_json_ready(
            selectors.request_derived(
                support_request.__dict__, catalog().topics, now=timezone.now()
            )
        ),
        **hours_out(support_request.__dict__, logged, _category_codes()),
    }


def page_out(rows: list[dict]) -> list[dict]:
    """A page's rows with their categories and hours: one more query, for the time
    logged on the page's advisory requests, only when there are any."""
    advisory = [row["id"] for row in rows if row.get("estimate_minutes") is not None]
    logged = {}
    if advisory:
        logged = dict(
            TimeEntry.objects.filter(support_request_id__in=advisory)
            .values("support_request_id")
            .annotate(total=Sum("minutes"))
            .values_list("support_request_id", "total")
        )
    codes = _category_codes()
    return [row | hours_out(row, logged.get(row["id"], 0), codes) for row in rows]


def time_entry_out(entry: TimeEntry) -> dict:
    return {
        "id": entry.pk,
        "minutes": entry.minutes,
        "note": entry.note,
        "engineer": entry.engineer.email,
        "created_at": entry.created_at,
    }


def _json_ready(values: dict) -> dict:
    """The answer is stored as JSON with its Idempotency-Key: instants as ISO 8601."""
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}


def note_out(note: RequestNote) -> dict:
    return {
        "id": note.pk,
        "author": note.author.email,
        "author_name": note.author.get_full_name(),
        "author_side": "engineer" if who_may.is_engineer(note.author) else "partner",
        "body": note.body,
        "internal": note.internal,
        "attention_needed": note.asks_partner,
        "created_at": note.created_at,
    }


def detail_out(support_request: SupportRequest, user=None) -> dict:
    """``user``: the reader (None reads as a partner: no internal notes)."""
    return {
        **request_out(support_request),
        # Partners never see an internal note (support.permissions).
        "notes": [note_out(n) for n in who_may.notes_visible_to(user, support_request)],
        "attachments": attachments_out(user, support_request),
        # Who logged what is the engineers' (partners see the total).
        "time_entries": [
            time_entry_out(e)
            for e in support_request.time_entries.select_related("engineer").order_by(
                "created_at", "pk"
            )
        ]
        if user is not None and who_may.is_engineer(user)
        else None,
    }


@router.post(
    "/support-requests",
    response={201: SupportRequestOut, 422: Problem, **ERRORS},
    summary="Open a support request",
    description=(
        "Charges the request by its `category`, atomically: `technical` and `billing` one "
        "incident to the support contract that covers the product (on-premises: Microsoft "
        "Product Support; cloud: Signature Cloud Support), `frontline` nothing, `advisory` "
        "reserves `estimate_hours` from the advisory hours (409 `hours_insufficient` when "
        "the hours left do not cover it). The first time an account uses a contract it "
        "must send `contract_id` and `access_id`. Honours `Idempotency-Key`: the same key "
        "and body replay the first answer."
    ),
)
def support_request_create(
    request: HttpRequest,
    payload: SupportRequestIn,
    idempotency_key: str = Header(
        None,
        alias="Idempotency-Key",
        max_length=limits.IDEMPOTENCY_KEY_MAX,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="1 to 255 visible ASCII characters; the same key and body replay the "
        "first answer for a day.",
    ),
):
    def perform() -> tuple[int, dict]:
        fields = payload.model_dump()
        estimate = fields.pop("estimate_hours")
        draft = services.SupportRequestDraft(
            **fields, estimate_minutes=round(estimate * 60) if estimate is not None else None
        )
        # What was just written is the answer: no re-read.
        return 201, request_out(services.support_request_create(user=request.auth, draft=draft))

    status, body = idempotent(
        user=request.auth, key=idempotency_key, payload=payload.model_dump(), perform=perform
    )
    if status >= 400:
        return stored_problem_response(status, body)
    return Status(status, body)


FILTERS_DESCRIPTION = (
    "Filters (all optional, combined): `status` (or `active`: open, in progress and "
    "attention needed), `severity` (A, B, C or critical, moderate, minimal), `product_id`, "
    "`family` (a product family: the console's queues), `customer_id` (CSP), `opener` and "
    "`assigned` (an e-mail; `assigned` also `me` or `none`), `created_from` and "
    "`created_to` (dates, both included), `q` (words of the title or description, each "
    "a prefix, all required). `ordering`: one of id, created_at, updated_at, severity, "
    "status, title, product, first_response_due, with `-` in front for descending "
    "(default `-created_at`); ties are broken by id."
)


StatusFilter = Literal[tuple([*RequestStatus.values, ACTIVE])]  # type: ignore[valid-type]
OrderingIn = Literal[tuple(o for key in ORDERINGS for o in (key, f"-{key}"))]  # type: ignore[valid-type]


# A calendar date as YYYY-MM-DD, and nothing else (pydantic alone would also take a
# number of seconds since 1970 for a date).
def _iso_date(value: object) -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date as YYYY-MM-DD")
    return datetime.date.fromisoformat(value)


DateIn = Annotated[
    datetime.date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date"}),
]


class RequestQuery(Schema):
    """What the OpenAPI document says of each filter is what the server accepts: a value
    the schema allows is never refused (schemathesis checks it)."""

    status: StatusFilter | None = None
    severity: SeverityIn | None = None
    product_id: int | None = Field(None, ge=1, le=2**63 - 1)
    family: Text(120) | None = None
    customer_id: int | None = Field(None, ge=1, le=2**63 - 1)
    opener: Text(limits.EMAIL_MAX) | None = None
    assigned: Text(limits.EMAIL_MAX) | None = None
    created_from: DateIn | None = None
    created_to: DateIn | None = None
    q: Text(SEARCH_MAX) | None = None
    ordering: OrderingIn | None = None


def _filters(query: RequestQuery) -> RequestFilters:
    filters, errors = request_filters(query.model_dump(), strict_range=False)
    if errors:
        raise ValidationFailed(errors)
    return filters


@router.get(
    "/support-requests",
    response={200: SupportRequestPage, 422: Problem, **COMMON_ERRORS},
    summary="The organization's support requests, filtered and sorted (newest first)",
    description=(
        "Paginated in the database: `limit` (1 to 200, default 100) and `offset`. "
        "`count` is the number of requests that match, counted exactly up to 10,000; "
        "past that `count` is 10000 and `count_exact` is false (at least that many). "
        "Support engineers see every organization's requests. " + FILTERS_DESCRIPTION
    ),
)
def support_request_list(
    request: HttpRequest,
    query: Query[RequestQuery],
    limit: int = Query(PAGE_DEFAULT, ge=1, le=PAGE_MAX),
    offset: int = Query(0, ge=0, le=OFFSET_MAX),
):
    rows, count, exact = selectors.support_request_page(
        user=request.auth, filters=_filters(query), offset=offset, limit=limit
    )
    return {"items": page_out(rows), "count": count, "count_exact": exact}


@router.get(
    "/support-requests/export",
    response={200: None, 422: Problem, **COMMON_ERRORS},
    summary="The filtered list as CSV (streamed)",
    description=(
        "Every request that matches, in the list's order, as `text/csv` (UTF-8 with a "
        "byte-order mark, for Excel), streamed as it is read. The same filters and "
        "`ordering` as the list. " + FILTERS_DESCRIPTION
    ),
    openapi_extra={
        "responses": {
            200: {
                "description": "CSV",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def support_request_export(request: HttpRequest, query: Query[RequestQuery]):
    return csv_response(export_lines(user=request.auth, filters=_filters(query)))


def csv_response(lines) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export_filename()}"'
    return response


@router.get(
    "/support-requests/{request_id}",
    response={200: SupportRequestDetail, **ERRORS},
    summary="One support request, with its notes",
)
def support_request_detail(request: HttpRequest, request_id: int):
    return detail_out(
        selectors.support_request_get(user=request.auth, request_id=request_id), request.auth
    )


@router.post(
    "/support-requests/{request_id}/withdraw",
    response={200: SupportRequestOut, **ERRORS},
    summary="Withdraw a request nobody has picked up (the incident is refunded)",
    description=(
        "For the person who opened the request and the organization's Global admins and MPN "
        "partner admins; another member gets 403 `role_required`, another organization (and "
        "a support engineer) 404. A request someone picked up answers 409 `not_withdrawable`."
    ),
)
def support_request_withdraw(request: HttpRequest, request_id: int):
    services.support_request_withdraw(user=request.auth, request_id=request_id)
    return request_out(selectors.support_request_get(user=request.auth, request_id=request_id))


@router.post(
    "/support-requests/{request_id}/close",
    response={200: SupportRequestOut, **ERRORS},
    summary="Close a request (support engineers only); refunds by its category",
    description=(
        "`technical`: `duplicate` and `product_bug` give the incident back; `billing`: "
        "every closure does; `advisory`: the reservation is settled against the time "
        "logged (what was not used goes back, what went over is charged). When the hours "
        "left do not cover the time over the estimate the answer is 409 "
        "`hours_insufficient`, unless `overdraw` (an operator's override) is sent."
    ),
)
def support_request_close(request: HttpRequest, request_id: int, payload: CloseIn):
    services.support_request_close(
        engineer=request.auth,
        request_id=request_id,
        resolution=payload.resolution,
        overdraw=payload.overdraw,
    )
    return request_out(selectors.support_request_get(user=request.auth, request_id=request_id))


@router.post(
    "/support-requests/{request_id}/time-entries",
    response={201: TimeEntryOut, 422: Problem, **ERRORS},
    summary="Log time on an advisory request (support engineers only)",
    description=(
        "`minutes`: 1 to 1440. Only advisory requests take time (else 422 at `minutes`); "
        "a resolved or closed request answers 409 `request_finished`. A partner gets 403 "
        "`role_required` (another organization's request: 404). Closing the request "
        "settles its reservation against the total."
    ),
)
def support_request_time_entry(request: HttpRequest, request_id: int, payload: TimeEntryIn):
    entry = services.time_entry_add(
        engineer=request.auth, request_id=request_id, minutes=payload.minutes, note=payload.note
    )
    return Status(201, time_entry_out(entry))


@router.post(
    "/support-requests/{request_id}/pick-up",
    response={200: SupportRequestOut, **ERRORS},
    summary="Pick a request up (support engineers only): it is yours, in progress",
    description="A request waiting on the partner (`attention_needed`) stays so.",
)
def support_request_pick_up(request: HttpRequest, request_id: int):
    assignment.support_request_pick_up(engineer=request.auth, request_id=request_id)
    return request_out(selectors.support_request_get(user=request.auth, request_id=request_id))


class AssignIn(Schema):
    engineer: Text(limits.EMAIL_MAX) | None = Field(
        ..., description="An active support engineer's e-mail; `null` unassigns."
    )


@router.post(
    "/support-requests/{request_id}/assign",
    response={200: SupportRequestOut, 422: Problem, **ERRORS},
    summary="Assign a request to an engineer, or unassign it (support engineers only)",
    description=(
        "`engineer`: an active support engineer's e-mail (else 422 at `engineer`), or "
        "`null` to give the request back to the queue (in progress becomes open)."
    ),
)
def support_request_assign(request: HttpRequest, request_id: int, payload: AssignIn):
    assignment.support_request_assign(
        engineer=request.auth, request_id=request_id, assignee_email=payload.engineer
    )
    return request_out(selectors.support_request_get(user=request.auth, request_id=request_id))


@router.post(
    "/support-requests/{request_id}/notes",
    response={201: NoteOut, 422: Problem, **ERRORS},
    summary="Reply in a request's conversation",
    description=(
        "Anyone who can see the request may reply. Support engineers may also write an "
        "`internal` note (partners never see it, nor are told of it) or ask the partner "
        "(`attention_needed`: the request waits on the partner, its first-response clock "
        "paused, until someone of the partner replies). A partner sending either gets 403 "
        "`role_required`; both at once is 422. A resolved or closed request answers 409 "
        "`request_finished`."
    ),
)
def support_request_note(request: HttpRequest, request_id: int, payload: NoteIn):
    note = services.support_request_add_note(
        author=request.auth,
        request_id=request_id,
        body=payload.body,
        internal=payload.internal,
        attention_needed=payload.attention_needed,
    )
    return Status(201, note_out(note))
