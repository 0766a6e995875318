"""Writes for support requests: opening (and charging), withdrawing, working, closing."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.accounts.audit import audit_record
from partnerdesk.accounts.models import User
from partnerdesk.benefits.events import entitlement_data
from partnerdesk.benefits.exceptions import EntitlementExpired, IncidentsExhausted
from partnerdesk.benefits.ids import same_access_id, same_contract_id
from partnerdesk.benefits.ledger import Balance, ledger_post
from partnerdesk.benefits.locks import entitlement_lock
from partnerdesk.benefits.models import (
    Entitlement,
    EntitlementState,
    EntitlementStatus,
    LedgerEntry,
    LedgerKind,
    Unit,
    in_unit,
)
from partnerdesk.benefits.selectors import mpn_organization
from partnerdesk.core import sql
from partnerdesk.core.exceptions import NotFound, RoleRequired, ValidationFailed
from partnerdesk.core.quantities import json_number, quantity_text
from partnerdesk.events.models import EventType
from partnerdesk.events.services import NewEvent, events_record_many
from partnerdesk.partners.models import Customer
from partnerdesk.support import permissions as who_may
from partnerdesk.support import sla
from partnerdesk.support.access import access_support_request
from partnerdesk.support.catalog_snapshot import catalog
from partnerdesk.support.events import RequestEvent, emit, opened_event, request_data
from partnerdesk.support.exceptions import (
    UNKNOWN_CONTRACT_ID,
    WRONG_ACCESS_ID,
    ContractLinkRequired,
    HoursInsufficient,
    NotActivated,
    NotWithdrawable,
    ProductNotEntitled,
    RequestFinished,
)
from partnerdesk.support.locks import contracts_lock
from partnerdesk.support.models import (
    Charging,
    ContractLink,
    Product,
    RequestCategory,
    RequestNote,
    RequestStatus,
    Resolution,
    SupportRequest,
    TimeEntry,
)
from partnerdesk.support.selectors import csp_organization


@dataclass(frozen=True)
class SupportRequestDraft:
    product_id: int | None
    severity: str
    title: str
    description: str
    error_message: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    contract_id: str | None = None
    access_id: str | None = None
    customer_id: int | None = None
    workload: str | None = None
    topic_id: int | None = None
    # A RequestCategory code; advisory requests give the time they expect, in minutes.
    category: str = "technical"
    estimate_minutes: int | None = None


# The longest a request's estimate or one time entry may be: a working week, and a day.
ESTIMATE_MAX_MINUTES = 40 * 60
TIME_ENTRY_MAX_MINUTES = 24 * 60


def _category(draft: SupportRequestDraft, snapshot) -> RequestCategory:
    category = snapshot.categories.get(draft.category)
    if category is None:
        known = ", ".join(sorted(snapshot.categories))
        raise ValidationFailed(
            [
                {
                    "path": "category",
                    "message": _("Unknown category; choose one of: %(known)s.") % {"known": known},
                }
            ]
        )
    hours = category.charging == Charging.HOURS
    if hours and not draft.estimate_minutes:
        message = _("Say how long you expect the advice to take: it is reserved from your hours.")
        raise ValidationFailed([{"path": "estimate_hours", "message": message}])
    if hours and draft.estimate_minutes > ESTIMATE_MAX_MINUTES:
        message = _("An estimate is at most %(hours)d hours.") % {
            "hours": ESTIMATE_MAX_MINUTES // 60
        }
        raise ValidationFailed([{"path": "estimate_hours", "message": message}])
    if not hours and draft.estimate_minutes is not None:
        message = _("Only advisory requests take an estimate.")
        raise ValidationFailed([{"path": "estimate_hours", "message": message}])
    return category


def hours_text(minutes: int) -> str:
    """Minutes of advisory time as the reader sees them: "1.5 hours", "0.33 hours"."""
    return quantity_text(in_unit(minutes, Unit.HOURS), Unit.HOURS)


def category_of(support_request: SupportRequest) -> RequestCategory | None:
    """The request's category; requests from before categories were technical."""
    categories = catalog().categories
    if support_request.category_id is None:
        return categories.get("technical")
    return next((c for c in categories.values() if c.pk == support_request.category_id), None)


def _wrong_ids(entitlement: Entitlement, draft: SupportRequestDraft) -> ContractLinkRequired:
    """Why a first use was refused: no IDs given, or the Access ID of a known contract wrong
    (an unknown Contract ID is told in ``_choose_contract``)."""
    if draft.access_id and same_contract_id(entitlement.contract_id, draft.contract_id):
        return ContractLinkRequired(WRONG_ACCESS_ID % {"contract": entitlement.contract_id})
    return ContractLinkRequired()


def _choose_contract(
    *,
    contracts: list[Entitlement],
    product: Product,
    draft: SupportRequestDraft,
    catalog,
    hours: bool = False,
) -> Entitlement:
    """The contract to charge: the one named by Contract ID, else a usable linked one;
    advisory hours for an advisory request, incidents covering the product otherwise."""
    if hours:
        covering = [e for e in contracts if catalog.benefits[e.benefit_id].unit == Unit.HOURS]
    else:
        covering = [
            e
            for e in contracts
            if catalog.benefits[e.benefit_id].covers_deployment(product.deployment)
        ]
    if draft.contract_id:
        named = next(
            (e for e in contracts if same_contract_id(e.contract_id, draft.contract_id)), None
        )
        if named is None:
            raise ContractLinkRequired(UNKNOWN_CONTRACT_ID)
        if named not in covering:
            raise ProductNotEntitled()
        return named
    if not covering:
        raise ProductNotEntitled()
    today = timezone.localdate()
    linked = [e for e in covering if e.linked]
    usable = [e for e in linked if e.status_on(today) == EntitlementStatus.ACTIVE]
    if usable:
        return usable[0]
    if linked:
        return linked[0]
    if any(e.state == EntitlementState.ACTIVE for e in covering):
        raise ContractLinkRequired()
    return covering[0]


def _check_usable(entitlement: Entitlement) -> None:
    """Exhaustion is left to the charge itself (``ledger_post``), under the lock."""
    status = entitlement.status_on(timezone.localdate())
    if status == EntitlementStatus.EXPIRED:
        raise EntitlementExpired(_("This support contract has expired."))
    if status in (EntitlementStatus.NOT_ACTIVATED, EntitlementStatus.ACTIVATION_PENDING):
        raise NotActivated()


def support_request_create(*, user: User, draft: SupportRequestDraft) -> SupportRequest:
    """Open a request and charge one incident to the right contract, in one transaction
    (the caller's, if it has one: the API's Idempotency-Key claim and stored answer
    commit with it): on any refusal nothing is written, not even the first-use link.
    With ``customer_id`` and ``workload`` it is a CSP partner's request for a customer."""
    if draft.customer_id is not None or draft.workload:
        return _create_for_customer(user=user, draft=draft)
    mpn_organization(user)
    snapshot = catalog()
    product = snapshot.products.get(draft.product_id) if draft.product_id is not None else None
    if product is None and draft.product_id is None:
        raise ValidationFailed([{"path": "product_id", "message": _("Choose a product.")}])
    if product is None:
        # Like any object a request names that does not exist: 404, with the field.
        raise NotFound(
            _("There is no such product."),
            extra={"errors": [{"path": "product_id", "message": _("Unknown product.")}]},
        )
    if product.pk not in snapshot.entitled_product_ids(timezone.localdate()):
        raise ProductNotEntitled(
            _(
                "This support plan can't be used for the selected product: only the current "
                "version and the previous one while in mainstream support are covered."
            )
        )
    _check_topic(draft, product, snapshot)
    return _charge_and_open(user=user, product=product, draft=draft, catalog=snapshot)


def _check_topic(draft: SupportRequestDraft, product: Product, snapshot) -> None:
    """The topic, when given, must be one of the product family's (Partner Center asks
    for it after the product)."""
    if draft.topic_id is None:
        return
    topic = snapshot.topics.get(draft.topic_id)
    if topic is None:
        raise NotFound(
            _("There is no such support topic."),
            extra={"errors": [{"path": "topic_id", "message": _("Unknown support topic.")}]},
        )
    if topic.family != product.family:
        message = _("This topic belongs to another product: choose one for %(family)s.") % {
            "family": product.family
        }
        raise ValidationFailed([{"path": "topic_id", "message": message}])


def _charge_and_open(
    *,
    user: User,
    product: Product,
    draft: SupportRequestDraft,
    catalog,
    customer: Customer | None = None,
) -> SupportRequest:
    # A savepoint when the caller has a transaction (the API's Idempotency-Key): a
    # refusal then undoes this unit of work and leaves the caller's transaction usable.
    category = _category(draft, catalog)
    if category.charging == Charging.FREE:
        # Answered by the frontline team: no contract, nothing charged.
        return _open(
            user=user,
            product=product,
            draft=draft,
            customer=customer,
            entitlement=None,
            category=category,
        )
    hours = category.charging == Charging.HOURS
    with transaction.atomic():
        contracts = contracts_lock(user)
        entitlement = _choose_contract(
            contracts=contracts, product=product, draft=draft, catalog=catalog, hours=hours
        )
        _check_usable(entitlement)
        if not entitlement.linked:
            if not (
                same_contract_id(entitlement.contract_id, draft.contract_id)
                and same_access_id(entitlement.access_id, draft.access_id)
            ):
                raise _wrong_ids(entitlement, draft)
            # Two first uses by one account may race: linking again is not an error.
            ContractLink.objects.bulk_create(
                [ContractLink(user=user, entitlement=entitlement)], ignore_conflicts=True
            )
        support_request = _open(
            user=user,
            product=product,
            draft=draft,
            customer=customer,
            entitlement=entitlement,
            category=category,
            record=hours,
        )
        if hours:
            _reserve(user=user, entitlement=entitlement, support_request=support_request)
        else:
            entry = ledger_post(
                entitlement_id=entitlement.pk,
                kind=LedgerKind.CONSUME,
                delta=-1,
                actor_id=user.pk,
                support_request_id=support_request.pk,
                locked_balance=Balance.of(entitlement),
                record_crossings=False,
            )
            # The request's events in one statement: opened, charged, and what the
            # charge did to the balance (used up, running low).
            events_record_many(
                [
                    opened_event(support_request),
                    _use_event(EventType.INCIDENT_CHARGED, support_request, entitlement, entry),
                    *entry.crossings,
                ]
            )
            audit_record(
                action="incident.charged",
                actor=user,
                organization_id=user.organization_id,
                target=support_request,
                entitlement=entitlement.pk,
            )
    return support_request


def _reserve(*, user: User, entitlement: Entitlement, support_request: SupportRequest) -> None:
    """Hold the estimate against the hours left, under the contract's lock: two requests
    cannot both take the last hours."""
    minutes = support_request.estimate_minutes
    try:
        ledger_post(
            entitlement_id=entitlement.pk,
            kind=LedgerKind.RESERVE,
            delta=-minutes,
            actor_id=user.pk,
            support_request_id=support_request.pk,
            locked_balance=Balance.of(entitlement),
        )
    except IncidentsExhausted:
        raise HoursInsufficient(
            _("%(left)s left on this contract; the estimate is %(estimate)s.")
            % {
                "left": hours_text(max(entitlement.balance, 0)),
                "estimate": hours_text(minutes),
            }
        ) from None
    audit_record(
        action="hours.reserved",
        actor=user,
        organization_id=user.organization_id,
        target=support_request,
        entitlement=entitlement.pk,
        minutes=minutes,
    )


def _open(
    *,
    user: User,
    product: Product,
    draft: SupportRequestDraft,
    customer: Customer | None,
    entitlement: Entitlement | None,
    category: RequestCategory | None = None,
    record: bool = True,
) -> SupportRequest:
    """Insert the request; ``record``: its ``support_request.opened`` now (the charging
    path writes it with the charge's event instead)."""
    calendar_id, hours = sla.calendars().for_organization(user.organization_id)
    clock = sla.clock_start(draft.severity, timezone.now(), hours)
    # The request and its event commit together (the caller's transaction, if any).
    with transaction.atomic(savepoint=False):
        support_request = sql.insert_instance(
            SupportRequest(
                organization_id=user.organization_id,
                opened_by=user,
                customer=customer,
                product=product,
                entitlement=entitlement,
                charged=entitlement is not None,
                severity=draft.severity,
                title=draft.title,
                description=draft.description,
                error_message=draft.error_message,
                contact_name=draft.contact_name or user.get_full_name(),
                contact_email=draft.contact_email or user.email,
                contact_phone=draft.contact_phone,
                topic_id=draft.topic_id,
                category=category,
                estimate_minutes=(
                    draft.estimate_minutes
                    if category is not None and category.charging == Charging.HOURS
                    else None
                ),
                calendar_id=calendar_id,
                first_response_due=clock.due,
                sla_warning_at=clock.warning_at,
            )
        )
        if record:
            events_record_many([opened_event(support_request)])
        support_request.loaded_status = support_request.status
        return support_request


def _create_for_customer(*, user: User, draft: SupportRequestDraft) -> SupportRequest:
    """Azure goes on the Cloud Solution Provider plan (no contract, nothing charged); the
    other workloads charge the partner's cloud support contract like any cloud request.
    The CSP plan never covers the partner's own subscriptions: it needs a customer."""
    missing = [
        {"path": path, "message": _("CSP requests need both customer_id and workload.")}
        for path, value in (("customer_id", draft.customer_id), ("workload", draft.workload))
        if value is None or value == ""
    ]
    if missing:
        raise ValidationFailed(missing)
    customer = Customer.objects.for_user(user).filter(pk=draft.customer_id).first()
    if customer is None:
        raise NotFound()
    csp_organization(user)
    snapshot = catalog()
    workload = snapshot.workloads.get(draft.workload)
    if workload is None:
        raise NotFound(
            _("There is no such workload."),
            extra={"errors": [{"path": "workload", "message": _("Unknown workload.")}]},
        )
    if draft.product_id is not None and draft.product_id != workload.product_id:
        raise ProductNotEntitled(
            _("The product does not match the workload: leave it out, or choose %(product)s.")
            % {"product": workload.product.name}
        )
    _check_topic(draft, workload.product, snapshot)
    if workload.csp_plan:
        return _open(
            user=user, product=workload.product, draft=draft, customer=customer, entitlement=None
        )
    if not user.organization.in_mpn:
        raise ProductNotEntitled(
            _(
                "The Cloud Solution Provider plan covers Azure only; %(workload)s requests use "
                "your organization's cloud support contract, which needs an MPN membership."
            )
            % {"workload": workload.name}
        )
    return _charge_and_open(
        user=user, product=workload.product, draft=draft, catalog=snapshot, customer=customer
    )


def contract_link(*, user: User, access_id: str, contract_id: str) -> Entitlement:
    """Link a contract to this account ahead of a request (idempotent)."""
    mpn_organization(user)
    entitlement = next(
        (
            e
            for e in Entitlement.objects.for_user(user).visible()
            if same_contract_id(e.contract_id, contract_id)
        ),
        None,
    )
    if entitlement is None:
        raise ContractLinkRequired(UNKNOWN_CONTRACT_ID)
    if not same_access_id(entitlement.access_id, access_id):
        raise ContractLinkRequired(WRONG_ACCESS_ID % {"contract": entitlement.contract_id})
    try:
        with transaction.atomic():
            ContractLink.objects.get_or_create(user=user, entitlement=entitlement)
    except IntegrityError:
        pass  # linked concurrently: the same outcome
    return entitlement


def _refund(*, support_request: SupportRequest, actor: User, note: str) -> None:
    if (
        support_request.charged
        and not support_request.is_advisory
        and not support_request.ledger_entries.filter(kind=LedgerKind.REFUND).exists()
    ):
        entry = ledger_post(
            entitlement_id=support_request.entitlement_id,
            kind=LedgerKind.REFUND,
            delta=1,
            actor_id=actor.pk,
            note=note,
            support_request_id=support_request.pk,
        )
        _record_use(
            EventType.INCIDENT_REFUNDED,
            support_request,
            entry.entitlement,
            entry,
            reason=note,
        )
        support_request.refunded_at = timezone.now()
        SupportRequest.objects.filter(pk=support_request.pk).update(
            refunded_at=support_request.refunded_at
        )
        audit_record(
            action="incident.refunded",
            actor=actor,
            organization_id=support_request.organization_id,
            target=support_request,
            reason=note,
        )


def _record_use(
    type: EventType,
    support_request: SupportRequest,
    entitlement: Entitlement,
    entry: LedgerEntry,
    **extra,
) -> None:
    events_record_many([_use_event(type, support_request, entitlement, entry, **extra)])


def _use_event(
    type: EventType,
    support_request: SupportRequest,
    entitlement: Entitlement,
    entry: LedgerEntry,
    **extra,
) -> NewEvent:
    """A charge, refund or settlement for the outbox: the request, and the entitlement
    as the entry left it."""
    return NewEvent(
        type,
        support_request.organization_id,
        {
            "support_request": request_data(support_request),
            "entitlement": entitlement_data(
                entitlement_id=entry.entitlement_id,
                benefit_id=entitlement.benefit_id,
                allowance=entry.allowance_after,
                remaining=entry.balance_after,
                expires_on=entitlement.expires_on,
            ),
            **extra,
        },
    )


def time_logged(support_request: SupportRequest) -> int:
    """Minutes the engineers logged on the request."""
    return support_request.time_entries.aggregate(total=Sum("minutes"))["total"] or 0


def _settle(*, support_request: SupportRequest, actor: User, overdraw: bool = False) -> None:
    """Close an advisory request's reservation against the time logged: give back what
    was not used, or charge what went over. Below zero only with an operator's override
    (``overdraw``), which is recorded on the entry and in the audit log."""
    if not support_request.is_advisory or support_request.settled_at is not None:
        return
    reserved, logged = support_request.estimate_minutes, time_logged(support_request)
    delta = reserved - logged
    entitlement = entitlement_lock(support_request.entitlement_id)
    # Only a charge can overdraw: a release (or a settlement at zero) never needs the override.
    short = entitlement.allowance is not None and delta < 0 and entitlement.balance + delta < 0
    if short and not (overdraw and actor.is_staff):
        raise HoursInsufficient(
            _(
                "%(logged)s were logged against an estimate of %(estimate)s, and the contract "
                "has %(left)s left: an operator's override is needed to go below zero."
            )
            % {
                "logged": hours_text(logged),
                "estimate": hours_text(reserved),
                "left": hours_text(max(entitlement.balance, 0)),
            }
        )
    entry = ledger_post(
        entitlement_id=entitlement.pk,
        kind=LedgerKind.SETTLE,
        delta=delta,
        actor_id=actor.pk,
        note=f"{logged} of {reserved} min",
        support_request_id=support_request.pk,
        locked_balance=Balance.of(entitlement),
        overdraw=short,
    )
    support_request.settled_at = timezone.now()
    SupportRequest.objects.filter(pk=support_request.pk).update(
        settled_at=support_request.settled_at
    )
    _record_use(
        EventType.HOURS_SETTLED,
        support_request,
        entitlement,
        entry,
        reserved_hours=json_number(in_unit(reserved, Unit.HOURS)),
        logged_hours=json_number(in_unit(logged, Unit.HOURS)),
        settled_hours=json_number(in_unit(-delta, Unit.HOURS)),
        overdrawn=short,
    )
    audit_record(
        action="hours.overdrawn" if short else "hours.settled",
        actor=actor,
        organization_id=support_request.organization_id,
        target=support_request,
        reserved=reserved,
        logged=logged,
    )


def time_entry_add(*, engineer: User, request_id: int, minutes: int, note: str = "") -> TimeEntry:
    """An engineer's time on an advisory request, to the minute."""
    _require_engineer(engineer, request_id)
    if not 0 < minutes <= TIME_ENTRY_MAX_MINUTES:
        message = _("Give between 1 minute and %(hours)d hours.") % {
            "hours": TIME_ENTRY_MAX_MINUTES // 60
        }
        raise ValidationFailed([{"path": "minutes", "message": message}])
    with transaction.atomic():
        support_request = access_support_request(engineer, request_id, lock=True)
        if not support_request.is_advisory:
            raise ValidationFailed(
                [{"path": "minutes", "message": _("Time is logged on advisory requests only.")}]
            )
        if support_request.is_finished:
            raise RequestFinished()
        return TimeEntry.objects.create(
            support_request=support_request,
            engineer=engineer,
            minutes=minutes,
            note=note.strip()[:300],
        )


def support_request_withdraw(*, user: User, request_id: int) -> SupportRequest:
    with transaction.atomic():
        support_request = access_support_request(user, request_id, lock=True, own_organization=True)
        who_may.require_withdraw(user, support_request)
        if not support_request.can_be_withdrawn:
            raise NotWithdrawable()
        support_request.status = RequestStatus.CLOSED
        support_request.resolution = Resolution.WITHDRAWN
        support_request.closed_at = timezone.now()
        support_request.save(update_fields=["status", "resolution", "closed_at", "updated_at"])
        _refund(support_request=support_request, actor=user, note="withdrawn")
        _settle(support_request=support_request, actor=user)
        emit(RequestEvent.CLOSED, support_request=support_request, actor=user)
    return support_request


def _require_engineer(user: User, request_id: int) -> None:
    if user.is_staff:
        return
    if not SupportRequest.objects.for_user(user).filter(pk=request_id).exists():
        raise NotFound()  # another organization's request: missing, not forbidden
    raise RoleRequired(_("Only support engineers can do this."))


def support_request_close(
    *, engineer: User, request_id: int, resolution: str, overdraw: bool = False
) -> SupportRequest:
    """Close with ``resolution``: the category's refund rule gives the incident back, or an
    advisory request's reservation is settled against the time logged (``overdraw``: an
    operator lets the settlement take the hours below zero)."""
    _require_engineer(engineer, request_id)
    if resolution not in Resolution.closing():
        raise ValidationFailed(
            [{"path": "resolution", "message": _("Choose solved, duplicate or product_bug.")}]
        )
    with transaction.atomic():
        support_request = access_support_request(engineer, request_id, lock=True)
        if support_request.is_finished:
            raise RequestFinished()
        support_request.status = (
            RequestStatus.RESOLVED if resolution == Resolution.SOLVED else RequestStatus.CLOSED
        )
        support_request.resolution = resolution
        support_request.closed_at = timezone.now()
        if support_request.assigned_to_id is None:
            support_request.assigned_to = engineer
        support_request.save(
            update_fields=["status", "resolution", "closed_at", "assigned_to", "updated_at"]
        )
        category = category_of(support_request)
        if category is not None and category.refunds_on(resolution):
            _refund(support_request=support_request, actor=engineer, note=resolution)
        _settle(support_request=support_request, actor=engineer, overdraw=overdraw)
        emit(RequestEvent.CLOSED, support_request=support_request, actor=engineer)
    return support_request


def support_request_add_note(
    *,
    author: User,
    request_id: int,
    body: str,
    internal: bool = False,
    attention_needed: bool = False,
) -> RequestNote:
    """A reply in the request's conversation (``support.permissions`` says who may write
    what). An engineer's question (``attention_needed``) puts the request in
    attention_needed and pauses the first-response clock; the partner's reply clears it
    and resumes the clock. An engineer's first reply the partner sees is the first
    response. Finished requests take no more replies."""
    body = body.strip()
    if not body:
        raise ValidationFailed([{"path": "body", "message": _("Write something first.")}])
    if internal and attention_needed:
        raise ValidationFailed(
            [
                {
                    "path": "attention_needed",
                    "message": _("An internal note cannot ask the partner: partners don't see it."),
                }
            ]
        )
    with transaction.atomic():
        support_request = access_support_request(author, request_id, lock=True)
        who_may.require_note_options(author, internal=internal, attention_needed=attention_needed)
        if support_request.is_finished:
            raise RequestFinished()
        note = RequestNote.objects.create(
            support_request=support_request,
            author=author,
            body=body,
            internal=internal,
            asks_partner=attention_needed,
        )
        changed = _conversation_moves(support_request, author=author, note=note)
        if changed:
            support_request.save(update_fields=[*changed, "updated_at"])
        kind = RequestEvent.ATTENTION_NEEDED if attention_needed else RequestEvent.REPLY
        emit(kind, support_request=support_request, actor=author, note=note)
    return note


def _conversation_moves(
    support_request: SupportRequest, *, author: User, note: RequestNote
) -> list[str]:
    """What a new note does to the request's status and clock; the fields it changed."""
    now = note.created_at
    changed: list[str] = []
    if who_may.is_engineer(author):
        if note.asks_partner:
            support_request.status = RequestStatus.ATTENTION_NEEDED
            changed.append("status")
            running = (
                support_request.first_response_due is not None
                and support_request.first_responded_at is None
                and support_request.sla_paused_at is None
            )
            if running:
                support_request.sla_paused_at = now
                changed.append("sla_paused_at")
        if not note.internal and support_request.first_responded_at is None:
            support_request.first_responded_at = now
            changed.append("first_responded_at")
        return changed
    if support_request.status == RequestStatus.ATTENTION_NEEDED:
        support_request.status = (
            RequestStatus.IN_PROGRESS if support_request.assigned_to_id else RequestStatus.OPEN
        )
        changed.append("status")
        if support_request.sla_paused_at is not None and support_request.first_response_due:
            clock = sla.clock_resume(
                severity=support_request.severity,
                paused_at=support_request.sla_paused_at,
                resumed_at=now,
                warning_at=support_request.sla_warning_at or support_request.first_response_due,
                due=support_request.first_response_due,
                calendar_hours=_calendar_hours(support_request),
            )
            support_request.first_response_due = clock.due
            support_request.sla_warning_at = clock.warning_at
            support_request.sla_paused_at = None
            changed += ["first_response_due", "sla_warning_at", "sla_paused_at"]
    return changed


def _calendar_hours(support_request: SupportRequest) -> sla.Hours:
    calendars = sla.calendars()
    hours = calendars.by_id.get(support_request.calendar_id)
    if hours is None:
        _calendar_id, hours = calendars.for_organization(support_request.organization_id)
    return hours
