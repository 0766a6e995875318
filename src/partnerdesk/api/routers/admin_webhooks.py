"""Operators' webhooks: register endpoints, see their deliveries and the answers, replay
a delivery, resume a failing endpoint (docs/webhooks.md)."""

from __future__ import annotations

import datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from partnerdesk.api.operators import OPERATOR_AUTH, operator_of
from partnerdesk.api.problems import COMMON_ERRORS, Problem
from partnerdesk.api.schemas import Out, Text
from partnerdesk.events.models import EventType
from partnerdesk.webhooks import selectors, services
from partnerdesk.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from partnerdesk.webhooks.targets import URL_MAX

router = Router(tags=["operators: webhooks"], auth=OPERATOR_AUTH)
ERRORS = {404: Problem, 409: Problem, **COMMON_ERRORS}

EventTypeIn = Literal[tuple(EventType.values)]  # type: ignore[valid-type]


class WebhookIn(Schema):
    url: Text(URL_MAX, required=True) = Field(
        ..., description="https:// (http:// only with DEBUG, or to an allowed private address)."
    )
    events: list[EventTypeIn] = Field(
        default_factory=list, description="Event types to send; empty: every type."
    )
    organization: Text(32) | None = Field(
        None, description="A partner ID: only this organization's events; none: everyone's."
    )
    secret: Text(128) | None = Field(
        None, description="`whsec_` and base64 of 24 to 64 bytes; generated when absent."
    )
    description: Text(services.DESCRIPTION_MAX) = ""


class WebhookOut(Out):
    id: int
    url: str
    events: list[str]
    organization: str | None
    state: Literal["active", "failing", "disabled"]
    description: str
    created_at: datetime.datetime
    failing_since: datetime.datetime | None
    failure_reason: str


class WebhookCreated(WebhookOut):
    secret: str


class WebhookList(Out):
    items: list[WebhookOut]


class AttemptOut(Out):
    at: datetime.datetime
    status_code: int | None
    response_body: str
    error: str
    duration_ms: int


class DeliveryOut(Out):
    id: int
    event: dict
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime.datetime | None
    delivered_at: datetime.datetime | None
    answers: list[AttemptOut]


class DeliveryList(Out):
    items: list[DeliveryOut]


def endpoint_out(endpoint: WebhookEndpoint, *, secret: bool = False) -> dict:
    out = {
        "id": endpoint.pk,
        "url": endpoint.url,
        "events": list(endpoint.event_types),
        "organization": endpoint.organization.partner_id if endpoint.organization else None,
        "state": endpoint.state,
        "description": endpoint.description,
        "created_at": endpoint.created_at,
        "failing_since": endpoint.failing_since,
        "failure_reason": endpoint.failure_reason,
    }
    if secret:
        out["secret"] = endpoint.secret
    return out


def delivery_out(delivery: WebhookDelivery) -> dict:
    event = delivery.event
    return {
        "id": delivery.pk,
        "event": {
            "id": delivery.position,
            "uid": str(event.uid),
            "type": event.type,
            "organization": delivery.organization.partner_id,
        },
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": (
            delivery.next_attempt_at if delivery.state == DeliveryState.PENDING else None
        ),
        "delivered_at": delivery.delivered_at,
        "answers": [
            {
                "at": a.at,
                "status_code": a.status_code,
                "response_body": a.response_body,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in delivery.attempt_rows.all()
        ],
    }


@router.post(
    "/admin/webhooks",
    response={201: WebhookCreated, **ERRORS},
    summary="Register a webhook endpoint",
    description=(
        "Operators. The endpoint is sent the events published from now on, signed as "
        "Standard Webhooks says with its `secret` (shown here and in the detail). A URL "
        "whose host resolves to a loopback, private, link-local or reserved address is "
        "refused (422 on `url`) unless PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE=1."
    ),
)
def webhook_create(request: HttpRequest, payload: WebhookIn):
    operator = operator_of(request)
    endpoint = services.webhook_endpoint_create(
        operator=operator,
        draft=services.EndpointDraft(
            url=payload.url,
            event_types=payload.events,
            organization=payload.organization,
            secret=payload.secret,
            description=payload.description,
        ),
    )
    return Status(201, endpoint_out(endpoint, secret=True))


@router.get("/admin/webhooks", response={200: WebhookList, **COMMON_ERRORS}, summary="Webhooks")
def webhook_list(request: HttpRequest):
    operator_of(request)
    return {"items": [endpoint_out(e) for e in selectors.webhook_endpoints()]}


@router.get(
    "/admin/webhooks/{endpoint_id}",
    response={200: WebhookCreated, **ERRORS},
    summary="One webhook endpoint, with its secret",
)
def webhook_detail(request: HttpRequest, endpoint_id: int):
    operator_of(request)
    return endpoint_out(selectors.webhook_endpoint(endpoint_id), secret=True)


@router.delete(
    "/admin/webhooks/{endpoint_id}",
    response={204: None, **ERRORS},
    summary="Delete (disable) a webhook endpoint",
    description="Nothing more is sent to it; its deliveries stay listed.",
)
def webhook_delete(request: HttpRequest, endpoint_id: int):
    operator = operator_of(request)
    services.webhook_endpoint_disable(endpoint_id=endpoint_id, operator=operator)
    return HttpResponse(status=204)


@router.post(
    "/admin/webhooks/{endpoint_id}/resume",
    response={200: WebhookOut, **ERRORS},
    summary="Resume a failing webhook endpoint",
    description=(
        "Its failed deliveries are sent again now, and the ones that waited follow in "
        "order. 409 `webhook_disabled` for a deleted endpoint."
    ),
)
def webhook_resume(request: HttpRequest, endpoint_id: int):
    operator = operator_of(request)
    return endpoint_out(
        services.webhook_endpoint_resume(endpoint_id=endpoint_id, operator=operator)
    )


class DeliveryFilters(Schema):
    state: Literal["pending", "delivered", "failed"] | None = None
    before: int | None = Field(None, ge=0, description="Event position: the next page.")
    limit: int = Field(50, ge=1, le=selectors.DELIVERIES_MAX)


@router.get(
    "/admin/webhooks/{endpoint_id}/deliveries",
    response={200: DeliveryList, **ERRORS},
    summary="A webhook endpoint's deliveries and the answers",
    description="Newest event first; each with every attempt's status, answer and error.",
)
def webhook_deliveries(request: HttpRequest, endpoint_id: int, filters: Query[DeliveryFilters]):
    operator_of(request)
    found = selectors.webhook_deliveries(
        endpoint_id=endpoint_id, state=filters.state, before=filters.before, limit=filters.limit
    )
    return {"items": [delivery_out(d) for d in found]}


@router.post(
    "/admin/webhooks/deliveries/{delivery_id}/replay",
    response={202: DeliveryOut, **ERRORS},
    summary="Send a delivery again",
    description=(
        "A delivered or failed delivery is sent again (the same `webhook-id`). 409 "
        "`webhook_delivery_pending` while it is still being tried."
    ),
)
def webhook_replay(request: HttpRequest, delivery_id: int):
    operator = operator_of(request)
    delivery = services.webhook_delivery_replay(delivery_id=delivery_id, operator=operator)
    return Status(202, delivery_out(delivery))
