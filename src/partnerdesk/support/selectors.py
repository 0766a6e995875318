"""Reads for products, support contracts (the plan picker) and support requests."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.accounts.models import User
from partnerdesk.accounts.roles import Role
from partnerdesk.benefits.models import Entitlement, EntitlementStatus
from partnerdesk.benefits.selectors import mpn_organization
from partnerdesk.core.exceptions import NotAuthorized, NotFound, RoleRequired
from partnerdesk.partners.models import Customer, Organization
from partnerdesk.support import permissions as who_may
from partnerdesk.support.exceptions import NotWithdrawable
from partnerdesk.support.finding import DEFAULT_ORDERING, RequestFilters, filtered, order_by_of
from partnerdesk.support.models import ContractLink, Product, SupportRequest, Workload
from partnerdesk.support.sla import sla_state_of


def entitled_product_ids(*, products: list[Product], today: datetime.date) -> set[int]:
    """Cloud products, and per on-premises family the newest released version (N) and
    the one before it (N-1) while that is still in mainstream support."""
    entitled = {p.pk for p in products if p.deployment == "cloud"}
    lineages: dict[str, list[Product]] = {}
    for product in products:
        released = product.released_on is not None and product.released_on <= today
        if product.deployment == "on_premises" and released:
            lineages.setdefault(product.family, []).append(product)
    for versions in lineages.values():
        versions.sort(key=lambda p: p.released_on, reverse=True)
        entitled.add(versions[0].pk)
        if len(versions) > 1:
            previous = versions[1]
            if previous.mainstream_ends_on is None or previous.mainstream_ends_on >= today:
                entitled.add(previous.pk)
    return entitled


def product_list(*, today: datetime.date | None = None) -> list[tuple[Product, bool]]:
    today = today or timezone.localdate()
    products = list(Product.objects.order_by("deployment", "family", "-released_on"))
    entitled = entitled_product_ids(products=products, today=today)
    return [(p, p.pk in entitled) for p in products]


@dataclass(frozen=True)
class ContractOption:
    """One support contract as the plan picker shows it."""

    entitlement: Entitlement
    linked: bool
    usable: bool
    reason: str


def contract_options(*, user: User, deployment: str | None = None) -> list[ContractOption]:
    """The organization's contracts (for one deployment, or all), usable ones first."""
    mpn_organization(user)
    entitlements = Entitlement.objects.for_user(user).visible().select_related("benefit")
    if deployment:
        entitlements = entitlements.filter(benefit__covers__in=[deployment, "all"])
    linked = set(ContractLink.objects.filter(user=user).values_list("entitlement_id", flat=True))
    today = timezone.localdate()
    options = []
    for entitlement in entitlements.order_by("benefit__position", "pk"):
        status = entitlement.status_on(today)
        reason = {
            EntitlementStatus.NOT_ACTIVATED: _("not activated yet"),
            EntitlementStatus.ACTIVATION_PENDING: _("activation pending"),
            EntitlementStatus.EXHAUSTED: _("no incidents left"),
            EntitlementStatus.EXPIRED: _("expired"),
        }.get(status, "")
        options.append(
            ContractOption(
                entitlement, entitlement.pk in linked, status == EntitlementStatus.ACTIVE, reason
            )
        )
    return sorted(options, key=lambda o: not o.usable)


def csp_organization(user: User) -> Organization:
    """The caller's organization, if it is in CSP and the caller may act for customers."""
    organization = user.organization if user.organization_id else None
    if organization is None or not organization.in_csp:
        raise NotAuthorized(
            _("Your organization is not enrolled in the Cloud Solution Provider program.")
        )
    if not user.has_role(*Role.csp_agents()):
        raise RoleRequired(_("Only an Admin agent or a Helpdesk agent can act for CSP customers."))
    return organization


def requests_visible_to(user: User) -> QuerySet[SupportRequest]:
    """Support engineers see every partner's requests; a partner user their organization's."""
    return SupportRequest.objects.all() if user.is_staff else SupportRequest.objects.for_user(user)


def _requests_for(user: User) -> QuerySet[SupportRequest]:
    return requests_visible_to(user).select_related(
        "product", "entitlement", "opened_by", "assigned_to", "customer", "organization"
    )


def support_request_list(*, user: User, status: str | None = None) -> QuerySet[SupportRequest]:
    queryset = _requests_for(user)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-id")


# What a list shows of each request: its own columns, and one column of each related row.
PAGE_COLUMNS = {
    "id": "id",
    "organization_id": "organization_id",
    "status": "status",
    "resolution": "resolution",
    "severity": "severity",
    "title": "title",
    "description": "description",
    "error_message": "error_message",
    "product_id": "product_id",
    "entitlement_id": "entitlement_id",
    "contract_id": "entitlement__contract_id",
    "charged": "charged",
    "customer_id": "customer_id",
    "opened_by": "opened_by__email",
    "assigned_to": "assigned_to__email",
    "contact_name": "contact_name",
    "contact_email": "contact_email",
    "contact_phone": "contact_phone",
    "created_at": "created_at",
    "updated_at": "updated_at",
    "closed_at": "closed_at",
    "refunded_at": "refunded_at",
    "topic_id": "topic_id",
    "first_response_due": "first_response_due",
    "sla_warning_at": "sla_warning_at",
    "first_responded_at": "first_responded_at",
    "sla_paused_at": "sla_paused_at",
    "category_id": "category_id",
    "estimate_minutes": "estimate_minutes",
    "settled_at": "settled_at",
}


def topic_name(topic) -> str:
    """Topics the catalog ships with are translated; an operator's own show as typed."""
    return _(topic.name)


def request_derived(values: dict, topics: dict, *, now: datetime.datetime) -> dict:
    """What a request's answer says beyond its columns, from its stored values (a row of
    a page, or an instance's ``__dict__``): its topic's name, the first-response clock's
    state, and whether its incident was given back."""
    topic = topics.get(values.get("topic_id"))
    return {
        "topic_id": values.get("topic_id"),
        "topic": topic_name(topic) if topic is not None else None,
        "first_response_due": values.get("first_response_due"),
        "sla_state": sla_state_of(values, now),
        "refunded": values.get("refunded_at") is not None,
        "refunded_at": values.get("refunded_at"),
    }


# Counting is exact up to here; past it the count says "at least" (an operator's list of a
# million requests would otherwise spend 100 ms on PostgreSQL counting them, per page).
COUNT_CAP = 10_000


def page_query(queryset: QuerySet[SupportRequest], ordering: str = DEFAULT_ORDERING) -> QuerySet:
    """The list's rows in a sort order (by default newest first: the ``request_newest``
    indexes' order), always ending in ``id``."""
    return queryset.order_by(*order_by_of(ordering)).values_list(*PAGE_COLUMNS.values())


def requests_found(*, user: User, filters: RequestFilters) -> QuerySet[SupportRequest]:
    """What the caller may see, narrowed by the filters (unordered)."""
    return filtered(requests_visible_to(user), filters, user=user)


def support_request_page(
    *,
    user: User,
    status: str | None = None,
    filters: RequestFilters | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[dict], int, bool]:
    """One page of the list (filtered, sorted; newest first by default) as plain rows (no
    model instances: a page is read, never changed); how many requests match, counted by
    the database up to ``COUNT_CAP``; and whether that count is exact. Product names
    come from the catalog snapshot."""
    from partnerdesk.support.catalog_snapshot import catalog

    filters = filters or RequestFilters()
    if status:
        filters = replace(filters, statuses=(status,))
    queryset = requests_found(user=user, filters=filters)
    page = page_query(queryset, filters.ordering)
    snapshot = catalog()
    now = timezone.now()
    rows = []
    for values in page[offset : offset + limit]:
        row = dict(zip(PAGE_COLUMNS, values, strict=True))
        row["product"] = snapshot.products[row["product_id"]].name
        row["resolution"] = row["resolution"] or None
        row.update(request_derived(row, snapshot.topics, now=now))
        rows.append(row)
    counted = queryset.order_by()[: COUNT_CAP + 1].count()
    return rows, min(counted, COUNT_CAP), counted <= COUNT_CAP


def support_request_get(*, user: User, request_id: int) -> SupportRequest:
    support_request = _requests_for(user).filter(pk=request_id).first()
    if support_request is None:
        raise NotFound()
    return support_request


def support_request_withdrawable(*, user: User, request_id: int) -> SupportRequest:
    """The request as its withdraw confirmation shows it, with the refusals the withdrawal
    itself would give (404 outside the organization, 403 for a colleague, 409 once picked
    up); nothing is locked or written."""
    support_request = (
        SupportRequest.objects.for_user(user)
        .select_related("product", "entitlement__benefit", "customer")
        .filter(pk=request_id)
        .first()
    )
    if support_request is None:
        raise NotFound()
    who_may.require_withdraw(user, support_request)
    if not support_request.can_be_withdrawn:
        raise NotWithdrawable()
    return support_request


def customer_list(*, user: User) -> list[Customer]:
    csp_organization(user)
    return list(Customer.objects.for_user(user).order_by("name", "pk"))


def customer_choices(*, user: User) -> list[tuple[int, str]]:
    """The organization's CSP customers, for a list's filter (every member may filter)."""
    return list(Customer.objects.for_user(user).order_by("name", "pk").values_list("pk", "name"))


def customer_get(*, user: User, customer_id: int) -> Customer:
    customer = Customer.objects.for_user(user).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound()
    csp_organization(user)
    return customer


def workload_list() -> list[Workload]:
    return list(Workload.objects.select_related("product"))
