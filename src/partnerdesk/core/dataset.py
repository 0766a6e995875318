"""A synthetic dataset at the sizes the benchmark needs (100,000 organizations, 300,000
users, 1,000,000 support requests), written with bulk inserts and consistent with the
ledger: every balance equals its ledger, every charge has its request (`reconcile` agrees).

It can grow in steps (``start`` is the first organization number), so the benchmark
measures at 10,000 requests and again at 1,000,000 with the same tokens."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from itertools import islice

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from partnerdesk.accounts.models import ApiToken, User, token_digest
from partnerdesk.benefits.ids import new_contract_id
from partnerdesk.benefits.models import Benefit, Entitlement, EntitlementState, LedgerEntry
from partnerdesk.partners.models import Competency, Membership, Organization
from partnerdesk.support.models import ContractLink, Product, SupportRequest

BATCH = 5000
WRITER_TOP_UP = 1_000_000  # incidents added to the writers' limited contracts


@dataclass(frozen=True)
class DatasetSize:
    organizations: int
    users_per_organization: int = 3
    requests: int = 0
    writers: int = 0  # users that get an API token, linked to their contracts
    start: int = 0


def _insert(model, columns: list[str], rows) -> None:
    """executemany straight to the driver: Django's bulk_create compiles every value of
    every row, which for a million rows takes minutes; this takes seconds."""
    quote = connection.ops.quote_name
    # Names come from the models' own metadata, quoted; every value is a parameter.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # nosec B608
        quote(model._meta.db_table),
        ", ".join(quote(c) for c in columns),
        ", ".join(["%s"] * len(columns)),
    )
    with connection.cursor() as cursor:
        for chunk in _batched(rows, 20_000):
            cursor.executemany(sql, chunk)


def _update_balances(rows) -> None:
    quote = connection.ops.quote_name
    table = quote(Entitlement._meta.db_table)
    # Names from the model's metadata, quoted; every value is a parameter.
    sql = "UPDATE {} SET {} = %s, {} = %s WHERE {} = %s".format(  # nosec B608
        table, quote("used"), quote("balance"), quote("id")
    )
    with connection.cursor() as cursor:
        for chunk in _batched(rows, 20_000):
            cursor.executemany(sql, chunk)


def _next_id(model) -> int:
    return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


def _reset_sequences(*models) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def _batched(items, size=BATCH):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def bench_token(number: int) -> str:
    return f"pd_bench_{number:07d}_{uuid.UUID(int=number + 1).hex}"


def generate(size: DatasetSize) -> list[str]:
    """Write the organizations ``start .. start+organizations``; returns the writers' tokens."""
    today = timezone.localdate()
    now = timezone.now()
    gold_cloud = Competency.objects.get(name="Cloud Platform")
    silver_other = Competency.objects.get(name="Data Analytics")
    product_support = Benefit.objects.get(code="product_support")
    cloud_support = Benefit.objects.get(code="cloud_support")
    onprem = Product.objects.get(family="SQL Server", version="2022")
    cloud = Product.objects.get(family="Azure", version="")
    numbers = range(size.start, size.start + size.organizations)
    per_org = size.requests // max(size.organizations, 1)
    tokens: list[str] = []
    with transaction.atomic():
        Organization.objects.bulk_create(
            (
                Organization(
                    partner_id=f"B{n:07d}",
                    name=f"Bench Partner {n}",
                    in_mpn=True,
                    in_csp=n % 5 == 0,
                    entitlements_synced_on=today,
                )
                for n in numbers
            ),
            batch_size=BATCH,
        )
        orgs = dict(
            Organization.objects.filter(partner_id__gte=f"B{size.start:07d}")
            .filter(partner_id__lt=f"B{size.start + size.organizations:07d}")
            .values_list("partner_id", "pk")
        )
        org_ids = [orgs[f"B{n:07d}"] for n in numbers]
        Membership.objects.bulk_create(
            (
                Membership(
                    organization_id=org_id,
                    offer="gold" if n % 2 == 0 else "silver",
                    competency=gold_cloud if n % 2 == 0 else silver_other,
                    starts=today - datetime.timedelta(days=30),
                    ends=today + datetime.timedelta(days=335),
                )
                for n, org_id in zip(numbers, org_ids, strict=True)
            ),
            batch_size=BATCH,
        )
        joined = connection.ops.adapt_datetimefield_value(now)
        _insert(
            User,
            [
                "email",
                "name",
                "organization_id",
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
            ],
            (
                # password "!": unusable; bench users sign in with tokens only
                (
                    f"u{n:07d}.{k}@bench.example",
                    f"Bench User {n}.{k}",
                    org_id,
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
                for n, org_id in zip(numbers, org_ids, strict=True)
                for k in range(size.users_per_organization)
            ),
        )
        # Gold in a cloud competency: 20 on-premises incidents, unlimited cloud support;
        # Silver in another: 15 and 5.
        entitlements = []
        for n, org_id in zip(numbers, org_ids, strict=True):
            gold = n % 2 == 0
            for benefit, allowance in (
                (product_support, 20 if gold else 15),
                (cloud_support, None if gold else 5),
            ):
                entitlements.append(
                    Entitlement(
                        organization_id=org_id,
                        benefit=benefit,
                        offer="gold" if gold else "silver",
                        competency_name="Cloud Platform" if gold else "Data Analytics",
                        state=EntitlementState.ACTIVE,
                        allowance=allowance,
                        balance=allowance or 0,
                        activation_deadline=today + datetime.timedelta(days=335),
                        activated_at=now,
                        expires_on=today + datetime.timedelta(days=335),
                        access_id=str(uuid.uuid4()),
                        contract_id=new_contract_id(),
                    )
                )
        for chunk in _batched(entitlements):
            Entitlement.objects.bulk_create(chunk)
        by_org = {}
        for pk, org_id, code in (
            Entitlement.objects.filter(organization_id__in=org_ids)
            .values_list("pk", "organization_id", "benefit__code")
            .iterator(chunk_size=BATCH)
        ):
            by_org.setdefault(org_id, {})[code] = pk
        _grants(entitlements=[e for e in entitlements], by_org=by_org)
        _requests(
            numbers=numbers,
            org_ids=org_ids,
            by_org=by_org,
            per_org=per_org,
            products=(onprem, cloud),
            now=now,
        )
        tokens = _writers(size=size, numbers=numbers, org_ids=org_ids, by_org=by_org)
    return tokens


def _grants(*, entitlements: list[Entitlement], by_org: dict) -> None:
    LedgerEntry.objects.bulk_create(
        (
            LedgerEntry(
                entitlement_id=e.pk,
                kind="grant",
                delta=e.allowance or 0,
                balance_after=e.allowance or 0,
                allowance_after=e.allowance,
                note="bench dataset",
            )
            for e in entitlements
        ),
        batch_size=BATCH,
    )


def _requests(*, numbers, org_ids, by_org, per_org: int, products, now) -> None:
    onprem, cloud = products
    state = {
        pk: [allowance, 0, allowance or 0]  # allowance, used, balance
        for pk, allowance in Entitlement.objects.filter(organization_id__in=org_ids)
        .values_list("pk", "allowance")
        .iterator(chunk_size=BATCH)
    }
    opener = dict(
        User.objects.filter(organization_id__in=org_ids, is_global_admin=True)
        .values_list("organization_id", "pk")
        .iterator(chunk_size=BATCH)
    )

    def planned():
        for n, org_id in zip(numbers, org_ids, strict=True):
            contracts = by_org[org_id]
            for k in range(per_org):
                on_cloud = n % 2 == 0 and k % 2 == 1  # gold: half of it unlimited cloud
                entitlement_id = contracts["cloud_support" if on_cloud else "product_support"]
                allowance, used, _balance = state[entitlement_id]
                if allowance is not None and used >= allowance:
                    continue
                state[entitlement_id][1] += 1
                state[entitlement_id][2] -= 1
                product_id = cloud.pk if on_cloud else onprem.pk
                yield org_id, opener[org_id], product_id, entitlement_id, n, k

    stamp = connection.ops.adapt_datetimefield_value(now)
    request_id, entry_id = _next_id(SupportRequest), _next_id(LedgerEntry)
    running: dict[int, int] = {}
    for chunk in _batched(planned(), 20_000):
        requests, entries = [], []
        for org_id, opener_id, product_id, pk, n, k in chunk:
            allowance = state[pk][0]
            running[pk] = running.get(pk, allowance or 0) - 1
            requests.append(
                (
                    request_id,
                    stamp,
                    stamp,
                    org_id,
                    opener_id,
                    product_id,
                    pk,
                    True,
                    "ABC"[k % 3],
                    f"Bench request {n}.{k}",
                    "Generated for the benchmark.",
                    "",
                    "",
                    f"u{n:07d}.0@bench.example",
                    "",
                    "open",
                    "",
                )
            )
            entries.append(
                (entry_id, pk, "consume", -1, running[pk], allowance, "", request_id, stamp)
            )
            request_id += 1
            entry_id += 1
        _insert(
            SupportRequest,
            [
                "id",
                "created_at",
                "updated_at",
                "organization_id",
                "opened_by_id",
                "product_id",
                "entitlement_id",
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
            ],
            requests,
        )
        _insert(
            LedgerEntry,
            [
                "id",
                "entitlement_id",
                "kind",
                "delta",
                "balance_after",
                "allowance_after",
                "note",
                "support_request_id",
                "created_at",
            ],
            entries,
        )
    _reset_sequences(SupportRequest, LedgerEntry)
    _update_balances(
        (used, balance, pk) for pk, (_allowance, used, balance) in state.items() if used
    )


def _writers(*, size: DatasetSize, numbers, org_ids, by_org) -> list[str]:
    tokens = []
    writer_orgs = list(zip(numbers, org_ids, strict=True))[: size.writers]
    users = dict(
        User.objects.filter(
            organization_id__in=[o for _, o in writer_orgs], is_global_admin=True
        ).values_list("organization_id", "pk")
    )
    limited = {
        pk: (used, balance)
        for pk, used, balance in Entitlement.objects.filter(
            organization_id__in=[o for _, o in writer_orgs], allowance__isnull=False
        ).values_list("pk", "used", "balance")
    }
    for n, org_id in writer_orgs:
        token = bench_token(n)
        tokens.append(token)
        ApiToken.objects.create(
            user_id=users[org_id], name="bench", prefix=token[:9], digest=token_digest(token)
        )
        ContractLink.objects.bulk_create(
            [
                ContractLink(user_id=users[org_id], entitlement_id=pk)
                for pk in by_org[org_id].values()
            ]
        )
    # Writers must not run dry mid-run: their limited contracts get a recorded top-up.
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            entitlement_id=pk,
            kind="adjustment",
            delta=WRITER_TOP_UP,
            balance_after=balance + WRITER_TOP_UP,
            note="bench: writers' top-up",
        )
        for pk, (_used, balance) in limited.items()
    )
    _update_balances((used, balance + WRITER_TOP_UP, pk) for pk, (used, balance) in limited.items())
    return tokens
