"""Finding requests: the lists' filters, the title-and-description search and the sort
orders, parsed once from what a caller sent (the API's query, a page's GET form) and
applied to a queryset by ``support.selectors``.

Search is the database's own: PostgreSQL full-text search over
``to_tsvector('simple', title || ' ' || description)`` (GIN index, migration 0009; the
'simple' configuration because the texts are in English, Russian and Polish, so no one
language's stemmer fits), and on SQLite an FTS5 table kept in step by triggers
(``unicode61 remove_diacritics 2``: "uzytkownik" also finds "użytkownik"). Every word typed is a
prefix and all must match. The words are taken out of the input (letters and digits
only) and put back into the query syntax quoted, so nothing typed is ever query syntax."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import BooleanField, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from partnerdesk.core import limits
from partnerdesk.support.models import RequestStatus, Severity

FTS_TABLE = "support_request_fts"
TABLE = '"support_supportrequest"'
SEARCH_MAX = 200  # characters of a search
SEARCH_WORDS_MAX = 12
ACTIVE = "active"  # every status still being worked on (the console's default)

# The sort keys a caller may name (``-`` in front for descending) and what they sort by.
ORDERINGS: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "created_at": ("created_at",),
    "updated_at": ("updated_at",),
    "severity": ("severity",),
    "status": ("status",),
    "title": ("title",),
    "product": ("product__family", "product__version"),
    "first_response_due": ("first_response_due",),
}
DEFAULT_ORDERING = "-created_at"


@dataclass(frozen=True)
class RequestFilters:
    """What a list is narrowed to; every field empty is every visible request."""

    statuses: tuple[str, ...] = ()
    severity: str | None = None
    product_id: int | None = None
    customer_id: int | None = None
    opener: str | None = None
    # "me", "none" or an engineer's e-mail
    assigned: str | None = None
    family: str | None = None
    created_from: datetime.date | None = None
    created_to: datetime.date | None = None
    q: str | None = None
    ordering: str = DEFAULT_ORDERING
    words: tuple[str, ...] = field(default=(), compare=False)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _control_characters(params: Mapping, errors: list) -> set[str]:
    """Names of the text parameters holding a control character (which no stored text
    holds, and PostgreSQL refuses in a statement): left out, with an error."""
    found = set()
    for name, value in params.items():
        if isinstance(value, str):
            index = limits.forbidden_character(value)
            if index is not None:
                errors.append(
                    {"path": name, "message": limits.forbidden_character_message(value, index)}
                )
                found.add(name)
    return found


def _as_int(value, path: str, errors: list) -> int | None:
    if _blank(value):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors.append({"path": path, "message": _("Enter a whole number.")})
        return None
    if not 0 < number < 2**63:
        errors.append({"path": path, "message": _("Enter a whole number.")})
        return None
    return number


def _as_date(value, path: str, errors: list) -> datetime.date | None:
    if _blank(value):
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        errors.append({"path": path, "message": _("Enter a date as YYYY-MM-DD.")})
        return None


def search_words(text: str) -> tuple[str, ...]:
    """The words of a search, lower-cased: runs of letters and digits, nothing else."""
    return tuple(w.lower() for w in re.findall(r"[^\W_]+", text or ""))[:SEARCH_WORDS_MAX]


def ordering_valid(ordering: str) -> bool:
    return ordering.removeprefix("-") in ORDERINGS


def request_filters(
    params: Mapping, *, default_ordering: str = DEFAULT_ORDERING, strict_range: bool = True
):
    """The filters in ``params`` (strings, or already typed values) and a list of
    ``{"path", "message"}`` for those that make no sense (left out of the filters).
    A date range that ends before it starts is such an error on a page (``strict_range``);
    the API, whose document cannot say it, answers it with no requests."""
    errors: list[dict[str, str]] = []
    refused = _control_characters(params, errors)
    params = {k: v for k, v in params.items() if k not in refused}
    statuses: tuple[str, ...] = ()
    status = params.get("status")
    if not _blank(status):
        if status == ACTIVE:
            statuses = tuple(RequestStatus.active())
        elif status in RequestStatus.values:
            statuses = (status,)
        else:
            errors.append(
                {
                    "path": "status",
                    "message": _("Choose one of: %(choices)s.")
                    % {"choices": ", ".join([*RequestStatus.values, ACTIVE])},
                }
            )
    severity = None
    if not _blank(params.get("severity")):
        parsed = Severity.parse(str(params.get("severity")))
        if parsed is None:
            errors.append(
                {
                    "path": "severity",
                    "message": _("Choose A, B or C (or critical, moderate or minimal)."),
                }
            )
        else:
            severity = parsed.value
    created_from = _as_date(params.get("created_from"), "created_from", errors)
    created_to = _as_date(params.get("created_to"), "created_to", errors)
    if strict_range and created_from and created_to and created_from > created_to:
        errors.append(
            {"path": "created_to", "message": _("The end date is before the start date.")}
        )
        created_to = None
    ordering = params.get("ordering")
    ordering = default_ordering if _blank(ordering) else str(ordering).strip()
    if not ordering_valid(ordering):
        errors.append(
            {
                "path": "ordering",
                "message": _("Sort by one of: %(choices)s (with - in front for descending).")
                % {"choices": ", ".join(ORDERINGS)},
            }
        )
        ordering = default_ordering
    q = "" if _blank(params.get("q")) else str(params.get("q")).strip()[:SEARCH_MAX]

    def text(name: str) -> str | None:
        value = params.get(name)
        return None if _blank(value) else str(value).strip()[:254]

    filters = RequestFilters(
        statuses=statuses,
        severity=severity,
        product_id=_as_int(params.get("product_id"), "product_id", errors),
        customer_id=_as_int(params.get("customer_id"), "customer_id", errors),
        opener=text("opener"),
        assigned=text("assigned"),
        family=text("family"),
        created_from=created_from,
        created_to=created_to,
        q=q or None,
        ordering=ordering,
        words=search_words(q),
    )
    return filters, errors


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _search(queryset: QuerySet, words: tuple[str, ...]) -> QuerySet:
    if connection.vendor == "postgresql":
        # The expression is the GIN index's, word for word, so the planner uses it.
        query = " & ".join(f"'{w}':*" for w in words)
        # Table names are constants; the words (letters and digits only) are bound.
        return queryset.filter(
            RawSQL(  # nosec B611
                f"to_tsvector('simple', {TABLE}.title || ' ' || {TABLE}.description) "
                "@@ to_tsquery('simple', %s)",
                [query],
                output_field=BooleanField(),
            )
        )
    if connection.vendor == "sqlite":
        query = " ".join(f'"{w}"*' for w in words)
        return queryset.filter(
            id__in=RawSQL(  # nosec B611
                f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s",  # nosec B608
                [query],
            )
        )
    matches = Q()
    for word in words:
        matches &= Q(title__icontains=word) | Q(description__icontains=word)
    return queryset.filter(matches)


def _families_product_ids(family: str) -> list[int]:
    from partnerdesk.support.catalog_snapshot import catalog

    return [p.pk for p in catalog().products.values() if p.family == family]


def filtered(queryset: QuerySet, filters: RequestFilters, *, user) -> QuerySet:
    if filters.statuses:
        queryset = queryset.filter(status__in=filters.statuses)
    if filters.severity:
        queryset = queryset.filter(severity=filters.severity)
    if filters.product_id:
        queryset = queryset.filter(product_id=filters.product_id)
    if filters.family:
        queryset = queryset.filter(product_id__in=_families_product_ids(filters.family))
    if filters.customer_id:
        queryset = queryset.filter(customer_id=filters.customer_id)
    if filters.opener:
        queryset = queryset.filter(opened_by__email=filters.opener.lower())
    if filters.assigned == "me":
        queryset = queryset.filter(assigned_to_id=user.pk)
    elif filters.assigned == "none":
        queryset = queryset.filter(assigned_to__isnull=True)
    elif filters.assigned:
        queryset = queryset.filter(assigned_to__email=filters.assigned.lower())
    if filters.created_from:
        queryset = queryset.filter(created_at__gte=_start_of(filters.created_from))
    if filters.created_to:
        next_day = filters.created_to + datetime.timedelta(days=1)
        queryset = queryset.filter(created_at__lt=_start_of(next_day))
    if filters.words:
        queryset = _search(queryset, filters.words)
    elif filters.q:
        queryset = queryset.none()  # only punctuation: no word can match
    return queryset


def order_by_of(ordering: str) -> list:
    """ORDER BY for a sort key, always ending in ``id`` (the same direction), so pages
    never share or skip a row. Requests without a first-response time sort last."""
    descending = ordering.startswith("-")
    fields = [f for f in ORDERINGS[ordering.removeprefix("-")] if f != "id"]
    expressions = []
    for name in [*fields, "id"]:
        expression = F(name)
        if name == "first_response_due":
            expressions.append(
                expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
            )
        else:
            expressions.append(expression.desc() if descending else expression.asc())
    return expressions
