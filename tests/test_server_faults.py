"""The web server killed with SIGKILL: in the middle of a concurrent load of request
creation, afterwards every balance equals its ledger, every charged incident belongs to
an existing request and every charged request has its one charge; the master alone, its
workers free the port at once, answer what they were answering, and exit. Every wait has
a deadline."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
from django.db import connection

from partnerdesk.benefits.ledger import ledger_post
from partnerdesk.benefits.models import Entitlement, LedgerEntry
from partnerdesk.support.models import SupportRequest
from tests.factories import (
    CLOUD,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    product,
    token_for,
)
from tests.helpers import (
    ServerProcess,
    console_script,
    process_alive,
    subprocess_database_url,
    wait_until,
)

CLIENTS = 12


@pytest.mark.slow  # a load of 12 clients (15-25 s)
def test_a_killed_server_leaves_the_ledger_whole(transactional_db):
    organization = OrganizationFactory()
    membership(organization, "gold", CLOUD)  # product support 20, cloud support unlimited
    activate(organization)
    limited = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    ledger_post(entitlement_id=limited.pk, kind="adjustment", delta=5000, note="fault test")
    contracts = list(Entitlement.objects.filter(organization=organization))
    tokens = [token_for(UserFactory(organization=organization)) for _ in range(4)]
    bodies = [
        {
            "product_id": product(*name).pk,
            "severity": "A",
            "title": "under fire",
            "description": "d",
            "contract_id": contract.contract_id,
            "access_id": contract.access_id,
        }
        for name, contract in (
            (("SQL Server", "2022"), limited),
            (("Azure",), next(c for c in contracts if c.allowance is None)),
        )
    ]
    server = ServerProcess(workers=2, threads=4)
    outcomes: Counter = Counter()
    counting = threading.Lock()
    stop = threading.Event()

    def load(n: int) -> None:
        count = 0
        while not stop.is_set():
            count += 1
            try:
                answer = requests.post(
                    server.url + "/api/v1/support-requests",
                    json=bodies[count % 2],
                    headers={
                        "Authorization": f"Bearer {tokens[n % 4]}",
                        "Idempotency-Key": f"fault-{n}-{count}",
                    },
                    timeout=10,
                )
                outcome = answer.status_code
            except requests.RequestException:
                outcome = "cut"
            with counting:
                outcomes[outcome] += 1

    clients = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(CLIENTS)]
    for client in clients:
        client.start()
    try:
        wait_until(  # well into the load
            lambda: outcomes[201] >= 60,
            within=120,
            failure=lambda: f"60 requests not created within 120 s: {outcomes}\n{server.output()}",
        )
    finally:
        server.kill()
        stop.set()
        for client in clients:
            client.join(timeout=30)
    assert not any(c.is_alive() for c in clients), "a client still waits 30 s after the kill"

    restarted = ServerProcess()
    try:
        assert requests.get(restarted.url + "/api/v1/health", timeout=10).status_code == 200
    finally:
        restarted.stop()
    check = console_script("reconcile")
    assert check.returncode == 0, check.stderr
    assert outcomes[201] >= 60 and outcomes["cut"] >= 1, outcomes
    charged = SupportRequest.objects.filter(charged=True)
    charges = LedgerEntry.objects.filter(kind="consume")
    assert charged.count() == charges.count()
    assert set(charged.values_list("pk", flat=True)) == set(
        charges.values_list("support_request_id", flat=True)
    )
    for entitlement in Entitlement.objects.filter(organization=organization):
        entitlement.refresh_from_db()
        assert entitlement.used == charges.filter(entitlement=entitlement).count()


@contextlib.contextmanager
def writes_held() -> Iterator[None]:
    """Another connection holds what an activation must lock: SQLite's write lock, or
    PostgreSQL's entitlement table. A write waits for it (up to the busy timeout)."""
    if connection.vendor == "sqlite":
        locker = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            locker.rollback()
            locker.close()
    else:
        import psycopg

        with psycopg.connect(subprocess_database_url()) as locker:
            table = Entitlement._meta.db_table
            locker.execute(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE')
            yield
            locker.rollback()


def test_a_killed_master_frees_the_port_at_once_and_its_workers_finish_and_exit(
    transactional_db,
):
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    admin = UserFactory(organization=organization, is_global_admin=True)
    entitlement = Entitlement.objects.get(organization=organization)
    headers = {"Authorization": f"Bearer {token_for(admin)}"}
    # A write waits up to 30 s for the lock, long past gunicorn's 5 s of retrying a bind.
    server = ServerProcess(workers=2, threads=4, PARTNERDESK_DB_BUSY_TIMEOUT="30")
    wait_until(
        lambda: len(server.worker_pids()) == 2,
        within=30,
        failure=lambda: f"two workers not up within 30 s:\n{server.output()}",
    )
    workers = server.worker_pids()
    answers: list[object] = []

    def activate_now() -> None:
        try:
            answers.append(
                requests.post(
                    f"{server.url}/api/v1/benefits/{entitlement.pk}/activate",
                    headers=headers,
                    timeout=60,
                ).status_code
            )
        except requests.RequestException as error:
            answers.append(error)

    restarted = None
    in_flight = threading.Thread(target=activate_now, daemon=True)
    try:
        with writes_held():
            in_flight.start()
            time.sleep(1)  # the request is in a worker, waiting on the lock
            assert not answers, answers
            server.kill_master()
            killed = time.monotonic()
            # The new server binds the same port while the old worker is still busy.
            restarted = ServerProcess(port=server.port)
            assert time.monotonic() - killed < 15, "the restart took more than 15 s"
            assert requests.get(restarted.url + "/api/v1/health", timeout=10).status_code == 200
            assert in_flight.is_alive(), "the request in flight ended before the lock did"
        # The lock is gone: the orphaned worker answers its request, then exits.
        in_flight.join(timeout=40)
        assert answers == [202], answers
        wait_until(
            lambda: not any(process_alive(pid) for pid in workers),
            within=10,
            failure=lambda: f"the old workers still run 10 s later:\n{server.output()}",
        )
        assert "master" in server.output() and "died" in server.output()
        # The old server is gone entirely: what answers now is the new one, which bound
        # the port (had it not, gunicorn would have given up after 5 s and exited).
        assert restarted.process.poll() is None, restarted.output()
        assert requests.get(restarted.url + "/api/v1/health", timeout=10).status_code == 200
    finally:
        server.stop()  # whatever is left of its process group
        if restarted is not None:
            restarted.stop()
