"""Who may do what with a support request, written once: the services enforce it, the API
and the pages ask it (a page hides what its reader may not do).

- Seeing a request: its organization's members, and every support engineer (Django
  staff); another organization's request is missing, not forbidden (``access``).
- Replying: anyone who can see the request.
- Internal notes and questions that wait on the partner: support engineers only.
- Withdrawing: the person who opened the request and the organization's admins
  (``Role.admins()``); another member gets ``role_required``.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from partnerdesk.accounts.models import User
from partnerdesk.accounts.roles import Role
from partnerdesk.core.exceptions import RoleRequired
from partnerdesk.support.models import RequestNote, SupportRequest


def is_engineer(user: User) -> bool:
    return bool(user.is_authenticated and user.is_staff)


def may_withdraw(user: User, support_request: SupportRequest) -> bool:
    """The opener and the organization's admins; nobody outside the organization."""
    if not user.is_authenticated or user.organization_id != support_request.organization_id:
        return False
    return support_request.opened_by_id == user.pk or user.has_role(*Role.admins())


def require_withdraw(user: User, support_request: SupportRequest) -> None:
    if not may_withdraw(user, support_request):
        raise RoleRequired(
            _(
                "Only the person who opened the request and your organization's admins "
                "can withdraw it."
            )
        )


def may_write_internal(user: User) -> bool:
    return is_engineer(user)


def may_ask_partner(user: User) -> bool:
    return is_engineer(user)


def require_note_options(user: User, *, internal: bool, attention_needed: bool) -> None:
    if (internal and not may_write_internal(user)) or (
        attention_needed and not may_ask_partner(user)
    ):
        raise RoleRequired(
            _("Only support engineers can write internal notes or ask the partner to reply.")
        )


def notes_visible_to(user: User | None, support_request: SupportRequest) -> QuerySet[RequestNote]:
    """The conversation as ``user`` may read it: partners never see an internal note."""
    notes = RequestNote.objects.filter(support_request_id=support_request.pk).select_related(
        "author"
    )
    if user is None or not is_engineer(user):
        notes = notes.filter(internal=False)
    return notes.order_by("created_at", "id")
