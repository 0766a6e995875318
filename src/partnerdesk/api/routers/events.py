"""The events feed: the outbox read by position, for those who cannot take webhooks."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from partnerdesk.api.operators import is_operator
from partnerdesk.api.problems import COMMON_ERRORS, Problem
from partnerdesk.core.exceptions import NotFound, OperatorRequired
from partnerdesk.events.models import EventType
from partnerdesk.events.selectors import MAX_PAGE, event_envelope, events_after
from partnerdesk.partners.models import Organization

router = Router(tags=["events"])

EventTypeCode = Literal[tuple(EventType.values)]  # type: ignore[valid-type]


class EventOut(Schema):
    id: int = Field(description="The event's position: pass the last one you read as `after`.")
    uid: str = Field(description="Unique for ever; the `webhook-id` of its deliveries.")
    type: EventTypeCode
    occurred_at: str
    organization: str = Field(description="The organization's partner ID.")
    data: dict = Field(description="Per type; see docs/events.md for each type's JSON Schema.")


class EventList(Schema):
    items: list[EventOut]
    next_after: int = Field(description="The `after` of the next call.")


class EventQuery(Schema):
    after: int = Field(0, ge=0, description="Events after this position (0: from the start).")
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    type: list[EventTypeCode] = Field(default_factory=list, description="Only these types.")
    organization: str | None = Field(
        None, description="Operators: one organization's events (its partner ID)."
    )


@router.get(
    "/events",
    response={200: EventList, 403: Problem, 404: Problem, **COMMON_ERRORS},
    summary="Events, oldest first",
    description=(
        "The caller's organization's events after the position `after`, oldest first "
        "(`GET /api/v1/events?after=<the last id you read>`). An operator's token "
        "(`createtoken --scope operator`) reads every organization's, or one's with "
        "`organization`. Events appear here once published, about a second after their "
        "change committed; the same objects are what the webhooks deliver."
    ),
)
def event_list(request: HttpRequest, query: Query[EventQuery]):
    user = request.auth
    if is_operator(user):
        organization_id = None
        if query.organization is not None:
            organization_id = (
                Organization.objects.filter(partner_id=query.organization)
                .values_list("pk", flat=True)
                .first()
            )
            if organization_id is None:
                raise NotFound()
    elif user.organization_id is not None:
        organization_id = user.organization_id
        if query.organization not in (None, user.organization.partner_id):
            raise NotFound()
    else:
        raise OperatorRequired()
    found = events_after(
        after=query.after,
        limit=query.limit,
        organization_id=organization_id,
        types=query.type,
    )
    return {
        "items": [event_envelope(e) for e in found],
        "next_after": found[-1].position if found else query.after,
    }
