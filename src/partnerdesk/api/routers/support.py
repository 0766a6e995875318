from django.http import HttpRequest
from django.utils import timezone
from ninja import Header, Query, Router, Status

from partnerdesk.api.idempotency import idempotent
from partnerdesk.api.problems import COMMON_ERRORS, Problem, stored_problem_response
from partnerdesk.api.schemas import (
    IDEMPOTENCY_KEY_PATTERN,
    CloseIn,
    NoteIn,
    NoteOut,
    SupportRequestDetail,
    SupportRequestIn,
    SupportRequestOut,
    SupportRequestPage,
)
from partnerdesk.core import limits
from partnerdesk.support import selectors, services
from partnerdesk.support.catalog_snapshot import catalog
from partnerdesk.support.models import RequestStatus, SupportRequest

router = Router(tags=["support requests"])
PAGE_DEFAULT, PAGE_MAX = 100, 200
OFFSET_MAX = 1_000_000_000  # past the end is an empty page; past this, a 422
ERRORS = {404: Problem, 409: Problem, **COMMON_ERRORS}


def request_out(support_request: SupportRequest) -> dict:
    entitlement = support_request.entitlement
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
    }


def _json_ready(values: dict) -> dict:
    """The answer is stored as JSON with its Idempotency-Key: instants as ISO 8601."""
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in values.items()}


def detail_out(support_request: SupportRequest) -> dict:
    return {
        **request_out(support_request),
        "notes": [
            {"id": n.pk, "author": n.author.email, "body": n.body, "created_at": n.created_at}
            for n in support_request.notes.select_related("author")
        ],
    }


@router.post(
    "/support-requests",
    response={201: SupportRequestOut, 422: Problem, **ERRORS},
    summary="Open a support request",
    description=(
        "Charges one incident to the support contract that covers the product (on-premises: "
        "Microsoft Product Support; cloud: Signature Cloud Support), atomically. The first "
        "time an account uses a contract it must send `contract_id` and `access_id`. "
        "Honours `Idempotency-Key`: the same key and body replay the first answer."
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
        draft = services.SupportRequestDraft(**payload.model_dump())
        # What was just written is the answer: no re-read.
        return 201, request_out(services.support_request_create(user=request.auth, draft=draft))

    status, body = idempotent(
        user=request.auth, key=idempotency_key, payload=payload.model_dump(), perform=perform
    )
    if status >= 400:
        return stored_problem_response(status, body)
    return Status(status, body)


@router.get(
    "/support-requests",
    response={200: SupportRequestPage, **COMMON_ERRORS},
    summary="The organization's support requests, newest first",
    description=(
        "Paginated in the database: `limit` (1 to 200, default 100) and `offset`. "
        "`count` is the number of requests that match, counted exactly up to 10,000; "
        "past that `count` is 10000 and `count_exact` is false (at least that many). "
        "Support engineers see every organization's requests."
    ),
)
def support_request_list(
    request: HttpRequest,
    status: RequestStatus = Query(None),
    limit: int = Query(PAGE_DEFAULT, ge=1, le=PAGE_MAX),
    offset: int = Query(0, ge=0, le=OFFSET_MAX),
):
    rows, count, exact = selectors.support_request_page(
        user=request.auth, status=status, offset=offset, limit=limit
    )
    return {"items": rows, "count": count, "count_exact": exact}


@router.get(
    "/support-requests/{request_id}",
    response={200: SupportRequestDetail, **ERRORS},
    summary="One support request, with its notes",
)
def support_request_detail(request: HttpRequest, request_id: int):
    return detail_out(selectors.support_request_get(user=request.auth, request_id=request_id))


@router.post(
    "/support-requests/{request_id}/withdraw",
    response={200: SupportRequestOut, **ERRORS},
    summary="Withdraw a request nobody has picked up (the incident is refunded)",
)
def support_request_withdraw(request: HttpRequest, request_id: int):
    services.support_request_withdraw(user=request.auth, request_id=request_id)
    return request_out(selectors.support_request_get(user=request.auth, request_id=request_id))


@router.post(
    "/support-requests/{request_id}/close",
    response={200: SupportRequestOut, **ERRORS},
    summary="Close a request (support engineers only); duplicate and product_bug refund",
)
def support_request_close(request: HttpRequest, request_id: int, payload: CloseIn):
    services.support_request_close(
        engineer=request.auth, request_id=request_id, resolution=payload.resolution
    )
    return request_out(selectors.support_request_get(user=request.auth, request_id=request_id))


@router.post(
    "/support-requests/{request_id}/notes",
    response={201: NoteOut, **ERRORS},
    summary="Add a note to a request",
)
def support_request_note(request: HttpRequest, request_id: int, payload: NoteIn):
    note = services.support_request_add_note(
        author=request.auth, request_id=request_id, body=payload.body
    )
    return Status(
        201,
        {
            "id": note.pk,
            "author": note.author.email,
            "body": note.body,
            "created_at": note.created_at,
        },
    )
