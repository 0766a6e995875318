"""Who works on a request: an engineer picks it up, hands it to another engineer, or
gives it back to the queue. Engineers only; every change locks the request
(``access_support_request``) and tells the listeners (``support.events``) in the same
transaction."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from partnerdesk.accounts.audit import audit_record
from partnerdesk.accounts.models import User
from partnerdesk.core.emails import email_normalized
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.support import events
from partnerdesk.support.access import access_support_request
from partnerdesk.support.exceptions import RequestFinished
from partnerdesk.support.models import RequestStatus, SupportRequest
from partnerdesk.support.services import _require_engineer


def engineers() -> list[User]:
    """Everyone a request can be assigned to: active support engineers (staff)."""
    return list(User.objects.filter(is_staff=True, is_active=True).order_by("name", "email"))


def _engineer_named(email: str) -> User:
    found = User.objects.filter(
        email=email_normalized(email), is_staff=True, is_active=True
    ).first()
    if found is None:
        raise ValidationFailed(
            [{"path": "engineer", "message": _("No active support engineer has that e-mail.")}]
        )
    return found


def _working_status(status: str) -> str:
    # Waiting on the partner stays so: taking a request over does not answer the question.
    return status if status == RequestStatus.ATTENTION_NEEDED else RequestStatus.IN_PROGRESS


def _assign(
    *, actor: User, request_id: int, assignee: User | None, kind: events.RequestEvent | None
) -> SupportRequest:
    with transaction.atomic():
        support_request = access_support_request(actor, request_id, lock=True)
        if support_request.is_finished:
            raise RequestFinished()
        previous = support_request.assigned_to_id
        support_request.assigned_to = assignee
        if assignee is not None:
            support_request.status = _working_status(support_request.status)
        elif support_request.status == RequestStatus.IN_PROGRESS:
            support_request.status = RequestStatus.OPEN
        support_request.save(update_fields=["assigned_to", "status", "updated_at"])
        audit_record(
            action="request.assigned",
            actor=actor,
            organization_id=support_request.organization_id,
            target=support_request,
            engineer=assignee.email if assignee is not None else None,
            previous=previous,
        )
        if kind is not None:
            events.emit(kind, support_request=support_request, actor=actor)
        else:
            events.record_status_change(support_request)
    return support_request


def support_request_pick_up(*, engineer: User, request_id: int) -> SupportRequest:
    """The engineer takes the request: in progress (unless it waits on the partner)."""
    _require_engineer(engineer, request_id)
    return _assign(
        actor=engineer,
        request_id=request_id,
        assignee=engineer,
        kind=events.RequestEvent.PICKED_UP,
    )


def support_request_assign(
    *, engineer: User, request_id: int, assignee_email: str | None
) -> SupportRequest:
    """Hand the request to the engineer with that e-mail; ``None`` gives it back to the
    queue (open again if it was in progress). Unassigning tells nobody."""
    _require_engineer(engineer, request_id)
    if assignee_email is None or not assignee_email.strip():
        return _assign(actor=engineer, request_id=request_id, assignee=None, kind=None)
    assignee = _engineer_named(assignee_email)
    kind = (
        events.RequestEvent.PICKED_UP
        if assignee.pk == engineer.pk
        else events.RequestEvent.ASSIGNED
    )
    return _assign(actor=engineer, request_id=request_id, assignee=assignee, kind=kind)
