"""The two request lists of the portal (the partner's and the console): the filter form's
values, sortable column headers, one page read by ``support_request_page`` (the database
counts and pages) and the names the rows show."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import QueryDict
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy

from partnerdesk.accounts.models import User
from partnerdesk.partners.models import Customer, Organization
from partnerdesk.support import selectors
from partnerdesk.support.finding import request_filters
from partnerdesk.support.models import RequestStatus, Severity, SlaState

OFFSET_MAX = 1_000_000_000


@dataclass(frozen=True)
class Column:
    label: str
    key: str | None = None  # the sort key, when the column sorts
    href: str = ""
    aria_sort: str = ""
    arrow: str = ""


@dataclass(frozen=True)
class ListPage:
    number: int
    count: int
    exact: bool
    per_page: int
    previous_url: str
    next_url: str

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def has_other_pages(self) -> bool:
        return bool(self.previous_url or self.next_url)


def _query(params: QueryDict, **changes) -> str:
    query = params.copy()
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return query.urlencode()


def columns(params: QueryDict, ordering: str, spec: list[tuple[str, str | None]]) -> list[Column]:
    """Header cells: a sortable one links to its sort (ascending first, then the other
    way) and says how the list is sorted now (``aria-sort``)."""
    current = ordering.removeprefix("-")
    descending = ordering.startswith("-")
    made = []
    for label, key in spec:
        label = capfirst(label)
        if key is None:
            made.append(Column(label))
            continue
        if key == current:
            aria = "descending" if descending else "ascending"
            arrow = "↓" if descending else "↑"
            target = key if descending else f"-{key}"
        else:
            aria, arrow, target = "", "", key
        href = "?" + _query(params, ordering=target, page=None)
        made.append(Column(label, key, href, aria, arrow))
    return made


def _page_number(params: QueryDict) -> int:
    try:
        return max(1, int(params.get("page") or 1))
    except ValueError:
        return 1


def request_page(
    *,
    user: User,
    params: QueryDict,
    per_page: int,
    defaults: dict | None = None,
    default_ordering: str = "-created_at",
):
    """The filters, their errors, the rows (with names) and the page for a list view."""
    given = {**(defaults or {}), **params.dict()}
    filters, errors = request_filters(given, default_ordering=default_ordering)
    number = _page_number(params)
    offset = min((number - 1) * per_page, OFFSET_MAX)
    rows, count, exact = selectors.support_request_page(
        user=user, filters=filters, offset=offset, limit=per_page
    )
    _add_names(rows)
    page = ListPage(
        number=number,
        count=count,
        exact=exact,
        per_page=per_page,
        previous_url="?" + _query(params, page=str(number - 1)) if number > 1 else "",
        next_url=("?" + _query(params, page=str(number + 1)) if offset + per_page < count else ""),
    )
    export = params.copy()
    export.pop("page", None)
    for name, value in {**(defaults or {}), "ordering": filters.ordering}.items():
        export.setdefault(name, value)
    return {
        "filters": filters,
        "values": given,
        "errors": errors,
        "rows": rows,
        "page": page,
        "export_query": export.urlencode(),
        "statuses": RequestStatus.choices,
        # "A — critical", without the promise after the colon: the select stays narrow.
        "severities": [(s.value, str(s.label).split(":")[0]) for s in Severity],
    }


def _add_names(rows: list[dict]) -> None:
    organizations = dict(
        Organization.objects.filter(pk__in={r["organization_id"] for r in rows}).values_list(
            "pk", "name"
        )
    )
    customer_ids = {r["customer_id"] for r in rows if r["customer_id"]}
    customers = (
        dict(Customer.objects.filter(pk__in=customer_ids).values_list("pk", "name"))
        if customer_ids
        else {}
    )
    emails = {r["assigned_to"] for r in rows if r["assigned_to"]}
    engineers = (
        dict(User.objects.filter(email__in=emails).values_list("email", "name")) if emails else {}
    )
    statuses = dict(RequestStatus.choices)
    sla_labels = dict(SlaState.choices)
    for row in rows:
        row["organization"] = organizations.get(row["organization_id"], "")
        row["customer"] = customers.get(row["customer_id"], "")
        row["engineer"] = engineers.get(row["assigned_to"]) or row["assigned_to"] or ""
        row["status_label"] = statuses.get(row["status"], row["status"])
        row["sla_label"] = sla_labels.get(row["sla_state"], "") if row["sla_state"] else ""


PARTNER_COLUMNS = [
    ("#", "id"),
    (gettext_lazy("Title"), "title"),
    (gettext_lazy("Product"), "product"),
    (gettext_lazy("Severity"), "severity"),
    (gettext_lazy("Status"), "status"),
    (gettext_lazy("First response due"), "first_response_due"),
    (gettext_lazy("Opened"), "created_at"),
    (gettext_lazy("Updated"), "updated_at"),
]
# The console's order of work: what is due first, and how urgent, come first.
CONSOLE_COLUMNS = [
    ("#", "id"),
    (gettext_lazy("Severity"), "severity"),
    (gettext_lazy("First response due"), "first_response_due"),
    (gettext_lazy("Title"), "title"),
    (gettext_lazy("Partner"), None),
    (gettext_lazy("Product"), "product"),
    (gettext_lazy("Topic"), None),
    (gettext_lazy("Status"), "status"),
    (gettext_lazy("Support engineer"), None),
    (gettext_lazy("Opened"), "created_at"),
]
