"""Activating an entitlement: role-gated, asynchronous, completed exactly once."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from partnerdesk.accounts.audit import audit_record
from partnerdesk.accounts.models import User
from partnerdesk.accounts.roles import Role
from partnerdesk.benefits.access import access_entitlement
from partnerdesk.benefits.catalog_snapshot import benefits_by_id
from partnerdesk.benefits.events import of_entitlement
from partnerdesk.benefits.exceptions import ActivationNotPending, EntitlementExpired
from partnerdesk.benefits.ids import new_access_id, new_contract_id
from partnerdesk.benefits.locks import activation_lock, entitlement_lock
from partnerdesk.benefits.models import (
    Activation,
    ActivationState,
    Entitlement,
    EntitlementState,
)
from partnerdesk.benefits.selectors import mpn_organization
from partnerdesk.core.exceptions import NotFound, RoleRequired, ValidationFailed
from partnerdesk.events.models import EventType, utc_timestamp
from partnerdesk.events.services import event_record
from partnerdesk.partners.catalog_snapshot import programs_by_id
from partnerdesk.partners.models import months_after


@dataclass(frozen=True)
class ActivationOutcome:
    entitlement: Entitlement
    activation: Activation | None
    created: bool


def term_end(day: datetime.date, months: int) -> datetime.date:
    """The last day of a term of ``months`` that starts on ``day``."""
    return months_after(day, months) - datetime.timedelta(days=1)


def one_year_after(day: datetime.date) -> datetime.date:
    """The last day of an entitlement activated on ``day`` for a year."""
    return term_end(day, 12)


_MINUTE, _HOUR, _DAY = 60, 3600, 86400


def _rounded(seconds: float, unit: int) -> int:
    return max(1, round(seconds / unit))


def activation_duration(seconds: float | None = None) -> str:
    """How long activation takes, as a person says it: "about a minute", "5 minutes",
    "3 days" (the configured ``PARTNERDESK_ACTIVATION_DELAY`` unless given), for "Activation
    takes …"."""
    if seconds is None:
        seconds = settings.PARTNERDESK_ACTIVATION_DELAY
    if seconds < 90:
        return _("about a minute")
    if seconds < _HOUR:
        count = _rounded(seconds, _MINUTE)
        return ngettext("%(count)d minute", "%(count)d minutes", count) % {"count": count}
    if seconds < _DAY:
        count = _rounded(seconds, _HOUR)
        return ngettext("%(count)d hour", "%(count)d hours", count) % {"count": count}
    count = _rounded(seconds, _DAY)
    return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}


def activation_expected(due_at: datetime.datetime, *, now: datetime.datetime | None = None) -> str:
    """When a pending activation should be done, for "… should be complete …": within a
    day, how soon ("in about a minute", "in 3 hours"); further off, the date."""
    left = (due_at - (now or timezone.now())).total_seconds()
    if left <= 0:
        return _("any moment now")
    if left < 90:
        return _("in about a minute")
    if left < _HOUR:
        count = _rounded(left, _MINUTE)
        return ngettext("in %(count)d minute", "in %(count)d minutes", count) % {"count": count}
    if left < _DAY:
        count = _rounded(left, _HOUR)
        return ngettext("in %(count)d hour", "in %(count)d hours", count) % {"count": count}
    return _("by %(date)s") % {"date": date_format(timezone.localdate(due_at), "DATE_FORMAT")}


def activation_pending_text(activation: Activation, *, now: datetime.datetime | None = None) -> str:
    """The pending benefit's sentence: who asked, how long it takes, when it is due."""
    requested_by = activation.requested_by
    return _(
        "Requested by %(who)s on %(when)s. Activation takes %(duration)s and should be "
        "complete %(expected)s; the IDs will appear here."
    ) % {
        "who": requested_by.get_full_name() or requested_by.email if requested_by else "—",
        "when": date_format(timezone.localdate(activation.requested_at), "DATE_FORMAT"),
        "duration": activation_duration(
            (activation.due_at - activation.requested_at).total_seconds()
        ),
        "expected": activation_expected(activation.due_at, now=now),
    }


def activation_requested_text(activation: Activation | None) -> str:
    """The message right after asking for activation."""
    if activation is None:
        return _("Activation requested; this page shows when it is done.")
    return _(
        "Activation requested. It takes %(duration)s and should be complete %(expected)s; "
        "this page shows when it is done."
    ) % {
        "duration": activation_duration(
            (activation.due_at - activation.requested_at).total_seconds()
        ),
        "expected": activation_expected(activation.due_at),
    }


def can_activate(user: User) -> bool:
    return user.has_role(*Role.admins())


def activation_request(*, user: User, entitlement_id: int) -> ActivationOutcome:
    """Ask for activation. Asking again while pending (or once active) changes nothing."""
    mpn_organization(user)
    access_entitlement(user, entitlement_id)
    if not can_activate(user):
        raise RoleRequired(_("Only a Global admin or an MPN partner admin can activate benefits."))
    try:
        with transaction.atomic():
            return _request_locked(user=user, entitlement_id=entitlement_id)
    except IntegrityError:
        # A concurrent request created the pending activation first: same answer as a repeat.
        with transaction.atomic():
            return _request_locked(user=user, entitlement_id=entitlement_id)


def _request_locked(*, user: User, entitlement_id: int) -> ActivationOutcome:
    entitlement = access_entitlement(user, entitlement_id, lock=True)
    if entitlement.state == EntitlementState.ACTIVATION_PENDING:
        pending = entitlement.activations.filter(state=ActivationState.PENDING).first()
        return ActivationOutcome(entitlement, pending, created=False)
    if entitlement.state == EntitlementState.ACTIVE:
        return ActivationOutcome(entitlement, None, created=False)
    today = timezone.localdate()
    if (
        entitlement.state != EntitlementState.NOT_ACTIVATED
        or entitlement.activation_deadline < today
    ):
        raise EntitlementExpired(
            _("The last date to activate this benefit was %(date)s; it can no longer be activated.")
            % {"date": date_format(entitlement.activation_deadline)}
        )
    activation = Activation.objects.create(
        entitlement=entitlement,
        requested_by=user,
        due_at=timezone.now() + datetime.timedelta(seconds=settings.PARTNERDESK_ACTIVATION_DELAY),
    )
    entitlement.state = EntitlementState.ACTIVATION_PENDING
    entitlement.save(update_fields=["state"])
    audit_record(
        action="activation.requested",
        actor=user,
        organization=user.organization,
        target=entitlement,
        due_at=activation.due_at.isoformat(),
    )
    from partnerdesk.benefits.tasks import complete_activation

    transaction.on_commit(
        lambda: complete_activation.using(run_after=activation.due_at).enqueue(activation.pk)
    )
    return ActivationOutcome(entitlement, activation, created=True)


def activation_complete(
    *, activation_id: int, operator: User | None = None, now: datetime.datetime | None = None
) -> bool:
    """Issue the IDs and make the entitlement active. Runs at most once per activation
    however often it is called (the worker, a restarted worker's sweep, an operator):
    the row lock and the state check decide, and a unique constraint backs them up."""
    now = now or timezone.now()
    with transaction.atomic():
        locked_pair = _lock_with_entitlement(activation_id)
        if locked_pair is None:
            return False
        entitlement, activation = locked_pair
        if activation.state != ActivationState.PENDING:
            return False
        if operator is None and activation.due_at > now:
            return False
        if entitlement.state != EntitlementState.ACTIVATION_PENDING:
            activation.state = ActivationState.CANCELLED
            activation.save(update_fields=["state"])
            return False
        entitlement.state = EntitlementState.ACTIVE
        entitlement.activated_at = now
        program = programs_by_id().get(benefits_by_id()[entitlement.benefit_id].program_id)
        term = program.term_months if program is not None else 12
        entitlement.expires_on = term_end(timezone.localdate(now), term)
        entitlement.access_id = new_access_id()
        entitlement.contract_id = new_contract_id()
        entitlement.save(
            update_fields=["state", "activated_at", "expires_on", "access_id", "contract_id"]
        )
        activation.state = ActivationState.COMPLETED
        activation.decided_by = operator
        activation.decided_at = now
        activation.save(update_fields=["state", "decided_by", "decided_at"])
        audit_record(
            action="activation.completed",
            actor=operator,
            organization=entitlement.organization,
            target=entitlement,
            activation=activation.pk,
            approved_by_operator=operator is not None,
        )
        event_record(
            type=EventType.ENTITLEMENT_ACTIVATED,
            organization_id=entitlement.organization_id,
            data={
                "entitlement": of_entitlement(entitlement),
                "activated_at": utc_timestamp(now),
                "approved_by_operator": operator is not None,
            },
            at=now,
        )
        _notify_after_commit(activation.pk)
    return True


def activation_reject(*, activation_id: int, operator: User, reason: str) -> Activation:
    reason = reason.strip()
    if not reason:
        raise ValidationFailed([{"path": "reason", "message": _("Give the partner a reason.")}])
    with transaction.atomic():
        locked_pair = _lock_with_entitlement(activation_id)
        if locked_pair is None:
            raise NotFound()
        entitlement, activation = locked_pair
        if activation.state != ActivationState.PENDING:
            raise ActivationNotPending()
        activation.state = ActivationState.REJECTED
        activation.decided_by = operator
        activation.decided_at = timezone.now()
        activation.rejection_reason = reason
        activation.save(update_fields=["state", "decided_by", "decided_at", "rejection_reason"])
        if entitlement.state == EntitlementState.ACTIVATION_PENDING:
            entitlement.state = EntitlementState.NOT_ACTIVATED
            entitlement.save(update_fields=["state"])
        audit_record(
            action="activation.rejected",
            actor=operator,
            organization=entitlement.organization,
            target=entitlement,
            activation=activation.pk,
            reason=reason,
        )
        _notify_after_commit(activation.pk)
    return activation


def _lock_with_entitlement(activation_id: int) -> tuple[Entitlement, Activation] | None:
    """Lock an activation the way ``core.locks`` orders it: its entitlement first (found
    by an unlocked read: an activation never moves to another entitlement), then the
    activation itself."""
    entitlement_id = (
        Activation.objects.filter(pk=activation_id).values_list("entitlement_id", flat=True).first()
    )
    if entitlement_id is None:
        return None
    entitlement = entitlement_lock(entitlement_id)
    activation = activation_lock(activation_id)
    if entitlement is None or activation is None:
        return None
    return entitlement, activation


def activations_complete_due(*, now: datetime.datetime | None = None) -> int:
    """Complete every pending activation overdue by more than the grace period: the
    periodic sweep that makes a lost or interrupted task harmless."""
    now = now or timezone.now()
    overdue = now - datetime.timedelta(seconds=settings.PARTNERDESK_SWEEP_GRACE)
    due = Activation.objects.filter(state=ActivationState.PENDING, due_at__lte=overdue)
    return sum(
        activation_complete(activation_id=pk, now=now)
        for pk in due.order_by("due_at", "pk").values_list("pk", flat=True)
    )


def _notify_after_commit(activation_id: int) -> None:
    from partnerdesk.benefits.tasks import send_activation_notice

    transaction.on_commit(lambda: send_activation_notice.enqueue(activation_id))
