"""Fifty callers at once never spend an incident twice, on SQLite (WAL) and PostgreSQL."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db.models import Sum

from partnerdesk.benefits.ledger import ledger_post
from partnerdesk.benefits.models import Entitlement, LedgerEntry
from partnerdesk.support.models import SupportRequest
from partnerdesk.support.reconcile import reconcile
from tests.factories import (
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    product,
    token_for,
)
from tests.helpers import ServerProcess

CALLERS = 50


@pytest.fixture
def ten_left(transactional_db):
    """An active Action Pack contract with 10 incidents, and five users of the partner."""
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    activate(organization)
    entitlement = Entitlement.objects.get(organization=organization, state="active")
    assert entitlement.balance == 10
    users = [UserFactory(organization=organization) for _ in range(5)]
    return entitlement, [token_for(u) for u in users]


def body(entitlement: Entitlement, n: int) -> dict:
    return {
        "product_id": product("SQL Server", "2022").pk,
        "severity": "A",
        "title": f"Outage {n}",
        "description": "The cluster is down.",
        # Every caller sends the IDs: linking again is not an error, and first links race.
        "contract_id": entitlement.contract_id,
        "access_id": entitlement.access_id,
    }


def fire(urls: list[str], calls: list[tuple[str, dict, dict]]) -> list[requests.Response]:
    """All calls at once: each thread waits at a barrier, then posts."""
    barrier = threading.Barrier(len(calls))

    def call(i: int) -> requests.Response:
        token, payload, headers = calls[i]
        barrier.wait()
        return requests.post(
            urls[i % len(urls)] + "/api/v1/support-requests",
            json=payload,
            headers={"Authorization": f"Bearer {token}", **headers},
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(call, range(len(calls))))


def assert_exactly_ten(entitlement: Entitlement, responses: list[requests.Response]) -> None:
    outcomes = Counter(
        (r.status_code, r.json().get("code") if r.status_code != 201 else None) for r in responses
    )
    assert outcomes == {(201, None): 10, (409, "incidents_exhausted"): 40}, outcomes
    entitlement.refresh_from_db()
    assert (entitlement.balance, entitlement.used) == (0, 10)
    total = entitlement.ledger_entries.aggregate(total=Sum("delta"))["total"]
    assert total == entitlement.balance
    assert SupportRequest.objects.filter(entitlement=entitlement, charged=True).count() == 10
    assert LedgerEntry.objects.filter(entitlement=entitlement, kind="consume").count() == 10
    assert reconcile()[1] == []


def test_fifty_threads_against_ten_incidents(live_server, ten_left):
    entitlement, tokens = ten_left
    calls = [(tokens[i % 5], body(entitlement, i), {}) for i in range(CALLERS)]

    assert_exactly_ten(entitlement, fire([live_server.url], calls))


def test_fifty_callers_across_two_server_processes(ten_left):
    entitlement, tokens = ten_left
    servers = [ServerProcess(), ServerProcess()]
    try:
        calls = [(tokens[i % 5], body(entitlement, i), {}) for i in range(CALLERS)]
        responses = fire([s.url for s in servers], calls)
    finally:
        for server in servers:
            server.stop()

    assert_exactly_ten(entitlement, responses)


def test_fifty_replays_of_one_idempotency_key_charge_once(live_server, ten_left):
    entitlement, tokens = ten_left
    same = body(entitlement, 0)
    calls = [(tokens[0], same, {"Idempotency-Key": "one-key"}) for _ in range(CALLERS)]

    responses = fire([live_server.url], calls)

    created = [r.json() for r in responses if r.status_code == 201]
    in_flight = [r for r in responses if r.status_code == 409]
    assert created, "no caller got the created request"
    assert len(created) + len(in_flight) == CALLERS
    assert {c["id"] for c in created} == {SupportRequest.objects.get().pk}
    assert all(r.json()["code"] == "idempotency_conflict" for r in in_flight)
    entitlement.refresh_from_db()
    assert (entitlement.balance, entitlement.used) == (9, 1)
    assert LedgerEntry.objects.filter(kind="consume").count() == 1


def test_the_charge_itself_is_guarded_under_direct_concurrency(ten_left):
    """The service layer without HTTP: 50 threads, each its own connection, one function."""
    from django.db import connections

    from partnerdesk.benefits.exceptions import IncidentsExhausted
    from partnerdesk.support.models import Product

    entitlement, _ = ten_left
    organization = entitlement.organization
    user = UserFactory(organization=organization)
    onprem = Product.objects.get(family="SQL Server", version="2022")
    requests_made = [
        SupportRequest.objects.create(
            organization=organization,
            opened_by=user,
            product=onprem,
            severity="C",
            title=f"r{i}",
            description="d",
        )
        for i in range(CALLERS)
    ]
    barrier = threading.Barrier(CALLERS)

    def charge(support_request: SupportRequest) -> str:
        barrier.wait()
        try:
            ledger_post(
                entitlement_id=entitlement.pk,
                kind="consume",
                delta=-1,
                support_request_id=support_request.pk,
            )
            return "charged"
        except IncidentsExhausted:
            return "exhausted"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=CALLERS) as pool:
        outcomes = Counter(pool.map(charge, requests_made))

    assert outcomes == {"charged": 10, "exhausted": 40}
    entitlement.refresh_from_db()
    assert entitlement.balance == 0


def test_a_key_in_flight_in_another_transaction(ten_left):
    """While one transaction holds a key, a second caller of it answers 409 at once on
    PostgreSQL (an advisory lock, taken without waiting, in the claim), and on SQLite waits
    for the write lock and replays the first answer. Never a second charge."""
    from django.db import connection, connections

    from partnerdesk.accounts.models import User
    from partnerdesk.api.idempotency import idempotent
    from partnerdesk.core.exceptions import IdempotencyConflict

    entitlement, _tokens = ten_left
    user = User.objects.filter(organization=entitlement.organization).first()
    claimed, release = threading.Event(), threading.Event()

    def slow_work() -> tuple[int, dict]:
        claimed.set()
        assert release.wait(timeout=30)
        return 201, {"answer": "first"}

    def first() -> tuple[int, dict]:
        try:
            return idempotent(user=user, key="in-flight", payload={"n": 1}, perform=slow_work)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        holder = pool.submit(first)
        assert claimed.wait(timeout=30)
        if connection.vendor == "postgresql":
            with pytest.raises(IdempotencyConflict) as refused:
                idempotent(user=user, key="in-flight", payload={"n": 1}, perform=slow_work)
            assert refused.value.status == 409
            release.set()
            assert holder.result(timeout=30) == (201, {"answer": "first"})
        else:
            threading.Timer(0.5, release.set).start()
            second = idempotent(user=user, key="in-flight", payload={"n": 1}, perform=slow_work)
            assert holder.result(timeout=30) == second == (201, {"answer": "first"})
    # Once committed, the key replays everywhere.
    again = idempotent(user=user, key="in-flight", payload={"n": 1}, perform=slow_work)
    assert again == (201, {"answer": "first"})
