"""A synthetic dataset at the sizes the benchmark needs (100,000 organizations, 300,000
users, 1,000,000 support requests), written with bulk inserts; every balance change goes
through the ledger (``partnerdesk.benefits.ledger.ledger_post_many``), so every balance
equals its ledger, every chain of hashes holds and every charge has its request
(``partnerdesk reconcile`` agrees).

It can grow in steps (``start`` is the first organization number), so the benchmark
measures at 10,000 requests and again at 1,000,000 with the same tokens.

A development tool: it lives in ``bench/``, outside the installed package, and runs as
``bench/generate_dataset.py`` (or ``generate`` from a test)."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from partnerdesk.accounts.models import ApiToken, User, token_digest
from partnerdesk.benefits.ids import new_contract_id
from partnerdesk.benefits.ledger import Posting, ledger_post_many
from partnerdesk.benefits.models import Benefit, Entitlement, EntitlementState, LedgerKind
from partnerdesk.core import sql
from partnerdesk.partners.models import Competency, Membership, Organization, Program
from partnerdesk.support.models import ContractLink, Product, SupportRequest

BATCH = 5000
WRITER_TOP_UP = 1_000_000  # incidents added to the writers' limited contracts
BENEFITS = ("product_support", "cloud_support")  # two entitlements per organization

COMPETENCIES = {True: "Cloud Platform", False: "Data Analytics"}  # by "is Gold"

ORGANIZATION_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "partner_id",
    "name",
    "in_mpn",
    "in_csp",
    "contact_name",
    "contact_email",
    "entitlements_synced_on",
    "tenant_id",
)
MEMBERSHIP_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "organization",
    "program",
    "offer",
    "competency",
    "starts",
    "ends",
)
USER_COLUMNS = (
    "id",
    "email",
    "name",
    "organization",
    "password",
    "is_global_admin",
    "is_mpn_partner_admin",
    "is_admin_agent",
    "is_helpdesk_agent",
    "is_active",
    "is_staff",
    "is_superuser",
    "account_type",
    "language",
    "date_joined",
)
ENTITLEMENT_COLUMNS = (
    "id",
    "organization",
    "benefit",
    "offer",
    "competency_name",
    "state",
    "allowance",
    "used",
    "balance",
    "activation_deadline",
    "activated_at",
    "expires_on",
    "access_id",
    "contract_id",
    "ledger_hash",
    "created_at",
)
REQUEST_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "organization",
    "opened_by",
    "product",
    "entitlement",
    "charged",
    "severity",
    "title",
    "description",
    "error_message",
    "contact_name",
    "contact_email",
    "contact_phone",
    "status",
    "resolution",
)


@dataclass(frozen=True)
class DatasetSize:
    organizations: int
    users_per_organization: int = 3
    requests: int = 0
    writers: int = 0  # users that get an API token, linked to their contracts
    start: int = 0


@dataclass(frozen=True)
class _Org:
    """One generated organization: its number, its pk, its opener (the Global admin, the
    first of its users) and its two entitlements' pks and allowances (None: unlimited)."""

    number: int
    pk: int
    opener: int
    product_support: int
    cloud_support: int

    @property
    def gold(self) -> bool:
        return self.number % 2 == 0

    def allowances(self) -> dict[int, int | None]:
        # Gold in a cloud competency: 20 on-premises incidents, unlimited cloud support;
        # Silver in another: 15 and 5.
        if self.gold:
            return {self.product_support: 20, self.cloud_support: None}
        return {self.product_support: 15, self.cloud_support: 5}


def _next_id(model) -> int:
    return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


def _reset_sequences(*models) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def bench_token(number: int) -> str:
    return f"pd_bench_{number:07d}_{uuid.UUID(int=number + 1).hex}"


def generate(size: DatasetSize) -> list[str]:
    """Write the organizations ``start .. start+organizations``; returns the writers' tokens."""
    today = timezone.localdate()
    now = timezone.now()
    ends = today + datetime.timedelta(days=335)
    numbers = range(size.start, size.start + size.organizations)
    with transaction.atomic():
        # Explicit ids throughout (the sequences are reset below): nothing written is
        # read back.
        first_org, first_user = _next_id(Organization), _next_id(User)
        first_entitlement = _next_id(Entitlement)
        per_org_users = size.users_per_organization
        orgs = [
            _Org(
                number=n,
                pk=first_org + i,
                opener=first_user + i * per_org_users,
                product_support=first_entitlement + 2 * i,
                cloud_support=first_entitlement + 2 * i + 1,
            )
            for i, n in enumerate(numbers)
        ]
        _organizations(orgs, today=today, now=now, ends=ends)
        _users(orgs, per_org_users, now)
        _entitlements(orgs, now=now, ends=ends)
        onprem = Product.objects.get(family="SQL Server", version="2022").pk
        cloud = Product.objects.get(family="Azure", version="").pk
        per_org = size.requests // max(size.organizations, 1)
        first_request = _next_id(SupportRequest)

        def planned() -> Iterator[tuple]:
            return _plan(orgs, per_org, first_request, products=(onprem, cloud))

        sql.insert_many(SupportRequest, REQUEST_COLUMNS, _request_rows(planned(), now))
        _reset_sequences(Organization, Membership, User, Entitlement, SupportRequest)
        writers = orgs[: size.writers]
        tokens = _writers(writers)
        ledger_post_many(
            chain(_grants(orgs), _charges(planned()), _top_ups(writers)),
            at=now,
        )
    return tokens


def _organizations(orgs: list[_Org], *, today, now, ends) -> None:
    """Each with one membership (its id is the organization's offset from the first):
    Gold in a cloud competency for even numbers, Silver in another for odd ones."""
    stamp, synced = now, today
    starts = connection.ops.adapt_datefield_value(today - datetime.timedelta(days=30))
    ends = connection.ops.adapt_datefield_value(ends)
    sql.insert_many(
        Organization,
        ORGANIZATION_COLUMNS,
        (
            (
                org.pk,
                stamp,
                stamp,
                f"B{org.number:07d}",
                f"Bench Partner {org.number}",
                True,
                org.number % 5 == 0,
                "",
                "",
                synced,
                "",
            )
            for org in orgs
        ),
    )
    competencies = dict(
        Competency.objects.filter(name__in=COMPETENCIES.values()).values_list("name", "pk")
    )
    program = Program.objects.get(code="mpn-2021").pk
    first_membership = _next_id(Membership)
    sql.insert_many(
        Membership,
        MEMBERSHIP_COLUMNS,
        (
            (
                first_membership + i,
                stamp,
                stamp,
                org.pk,
                program,
                "gold" if org.gold else "silver",
                competencies[COMPETENCIES[org.gold]],
                starts,
                ends,
            )
            for i, org in enumerate(orgs)
        ),
    )


def _users(orgs: list[_Org], per_org: int, now: datetime.datetime) -> None:
    joined = now
    sql.insert_many(
        User,
        USER_COLUMNS,
        (
            # password "!": unusable; bench users sign in with tokens only
            (
                org.opener + k,
                f"u{org.number:07d}.{k}@bench.example",
                f"Bench User {org.number}.{k}",
                org.pk,
                "!",
                k == 0,
                False,
                False,
                False,
                True,
                False,
                False,
                "work",
                "",
                joined,
            )
            for org in orgs
            for k in range(per_org)
        ),
    )


def _entitlements(orgs: list[_Org], *, now, ends) -> None:
    """Active, with their allowance and nothing on them yet: balance and used are 0 until
    the ledger posts their grants."""
    benefits = dict(Benefit.objects.filter(code__in=BENEFITS).values_list("code", "pk"))
    stamp = now
    sql.insert_many(
        Entitlement,
        ENTITLEMENT_COLUMNS,
        (
            (
                pk,
                org.pk,
                benefits[code],
                "gold" if org.gold else "silver",
                COMPETENCIES[org.gold],
                EntitlementState.ACTIVE.value,
                org.allowances()[pk],
                0,
                0,
                ends,
                stamp,
                ends,
                str(uuid.uuid4()),
                new_contract_id(),
                "",
                stamp,
            )
            for org in orgs
            for code, pk in zip(BENEFITS, (org.product_support, org.cloud_support), strict=True)
        ),
    )


def _plan(orgs: list[_Org], per_org: int, first_id: int, *, products) -> Iterator[tuple]:
    """The requests to open, in order, as (id, org, entitlement pk, product pk, k): half
    of a Gold organization's on unlimited cloud support, the rest on its limited
    on-premises contract, never more than a limited contract allows. Deterministic, so
    the requests and their charges are planned alike twice."""
    onprem, cloud = products
    request_id = first_id
    for org in orgs:
        allowances = org.allowances()
        used = dict.fromkeys(allowances, 0)
        for k in range(per_org):
            on_cloud = org.gold and k % 2 == 1
            pk = org.cloud_support if on_cloud else org.product_support
            allowance = allowances[pk]
            if allowance is not None and used[pk] >= allowance:
                continue
            used[pk] += 1
            yield request_id, org, pk, cloud if on_cloud else onprem, k
            request_id += 1


def _request_rows(planned: Iterator[tuple], stamp) -> Iterator[tuple]:
    for request_id, org, pk, product, k in planned:
        yield (
            request_id,
            stamp,
            stamp,
            org.pk,
            org.opener,
            product,
            pk,
            True,
            "ABC"[k % 3],
            f"Bench request {org.number}.{k}",
            "Generated for the benchmark.",
            "",
            "",
            f"u{org.number:07d}.0@bench.example",
            "",
            "open",
            "",
        )


def _grants(orgs: list[_Org]) -> Iterator[Posting]:
    for org in orgs:
        for pk, allowance in org.allowances().items():
            yield Posting(pk, kind=LedgerKind.GRANT, delta=allowance or 0, note="bench dataset")


def _charges(planned: Iterator[tuple]) -> Iterator[Posting]:
    for request_id, org, pk, _product, _k in planned:
        yield Posting(
            pk,
            kind=LedgerKind.CONSUME,
            delta=-1,
            actor_id=org.opener,
            support_request_id=request_id,
        )


def _top_ups(writers: list[_Org]) -> Iterator[Posting]:
    # Writers must not run dry mid-run: their limited contracts get a recorded top-up.
    for org in writers:
        for pk, allowance in org.allowances().items():
            if allowance is not None:
                yield Posting(
                    pk,
                    kind=LedgerKind.ADJUSTMENT,
                    delta=WRITER_TOP_UP,
                    note="bench: writers' top-up",
                )


def _writers(writers: list[_Org]) -> list[str]:
    """An API token for each writer organization's Global admin, linked to both of its
    contracts; returns the tokens."""
    tokens = [bench_token(org.number) for org in writers]
    ApiToken.objects.bulk_create(
        (
            ApiToken(user_id=org.opener, name="bench", prefix=token[:9], digest=token_digest(token))
            for org, token in zip(writers, tokens, strict=True)
        ),
        batch_size=BATCH,
    )
    ContractLink.objects.bulk_create(
        (
            ContractLink(user_id=org.opener, entitlement_id=pk)
            for org in writers
            for pk in (org.product_support, org.cloud_support)
        ),
        batch_size=BATCH,
    )
    return tokens
