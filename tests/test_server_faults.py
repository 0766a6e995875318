"""The web server killed with SIGKILL in the middle of a concurrent load of request
creation: afterwards every balance equals its ledger, and every charged incident belongs to
an existing request and every charged request has its one charge."""

import threading
from collections import Counter

import requests

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
from tests.helpers import ServerProcess, console_script

CLIENTS = 12


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
                outcomes[answer.status_code] += 1
            except requests.RequestException:
                outcomes["cut"] += 1

    clients = [threading.Thread(target=load, args=(n,)) for n in range(CLIENTS)]
    for client in clients:
        client.start()
    while outcomes[201] < 60:  # well into the load
        threading.Event().wait(0.01)
    server.kill()
    stop.set()
    for client in clients:
        client.join()

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
