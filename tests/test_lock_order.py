"""One lock order (organization → entitlement → activation → support request), tested
where two orders used to meet: membership lapses racing activation completions, and
withdrawals racing closes (with new requests charged to the same contract), each side in
its own process. On PostgreSQL a second order would show as a deadlock (a 5xx, or a
process that fails); on SQLite the write lock serialises and the outcome must be the
same. Either way: no error, every request refunded at most once, reconcile clean."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from partnerdesk.benefits.activation import activation_request
from partnerdesk.benefits.models import Activation, Entitlement, EntitlementState, LedgerEntry
from partnerdesk.support.models import SupportRequest
from partnerdesk.support.reconcile import reconcile
from tests.factories import (
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    open_request,
    token_for,
)
from tests.helpers import ServerProcess, process_env

ORGANIZATIONS = 40
REQUESTS = 30


def start_together(code: str, at: float) -> subprocess.Popen:
    """``code`` in a process of its own (Django set up against the test database), from
    the moment ``at`` on, so both sides begin at once."""
    script = textwrap.dedent(
        f"""
        import time
        import django
        django.setup()
        while time.time() < {at}:
            time.sleep(0.005)
        """
    ) + textwrap.dedent(code)
    return subprocess.Popen(
        [sys.executable, "-c", script],
        env=process_env(DJANGO_SETTINGS_MODULE="partnerdesk.settings"),
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err
    return out


@pytest.fixture
def pending_activations(transactional_db):
    """Organizations whose admins asked to activate their benefit; not decided yet."""
    ids = []
    for _ in range(ORGANIZATIONS):
        organization = OrganizationFactory()
        membership(organization, "action_pack")
        admin = UserFactory(organization=organization, is_global_admin=True)
        entitlement = Entitlement.objects.get(organization=organization)
        ids.append((organization.pk, activation_request(user=admin, entitlement_id=entitlement.pk)))
    UserFactory(organization=None, is_staff=True, email="operator@partnerdesk.example")
    return [(org, outcome.activation.pk) for org, outcome in ids]


def test_membership_lapses_race_activation_completions(pending_activations):
    organizations = [org for org, _ in pending_activations]
    activations = [pk for _, pk in pending_activations]
    at = time.time() + 3
    lapse = """
        import datetime
        from django.utils import timezone
        from partnerdesk.benefits.services import entitlements_sync
        from partnerdesk.partners.models import Membership, Organization
        yesterday = timezone.localdate() - datetime.timedelta(days=1)
        for pk in {order!r}:
            Membership.objects.filter(organization_id=pk).update(ends=yesterday)
            entitlements_sync(organization=Organization.objects.get(pk=pk))
        """
    complete = """
        from partnerdesk.accounts.models import User
        from partnerdesk.benefits.activation import activation_complete
        operator = User.objects.get(email="operator@partnerdesk.example")
        for pk in {order!r}:
            activation_complete(activation_id=pk, operator=operator)
        """
    # Two processes a side, one walking forwards and one backwards, so they meet often.
    processes = [
        start_together(code.format(order=order), at)
        for code, items in ((lapse, organizations), (complete, activations))
        for order in (items, items[::-1])
    ]
    for process in processes:
        finish(process)

    # Whichever came first, each benefit ended lapsed, and its activation was decided once.
    for organization in organizations:
        (entitlement,) = Entitlement.objects.filter(organization_id=organization)
        assert entitlement.state == EntitlementState.LAPSED
        assert entitlement.balance == 0
        states = Counter(entitlement.activations.values_list("state", flat=True))
        assert sum(states.values()) == 1 and set(states) <= {"completed", "cancelled"}, states
    assert not Activation.objects.filter(state="pending").exists()
    assert reconcile()[1] == []


@pytest.fixture
def open_requests(transactional_db):
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    activate(organization)
    contract = Entitlement.objects.get(organization=organization)
    partner = UserFactory(organization=organization)
    from partnerdesk.benefits.ledger import ledger_post

    ledger_post(entitlement_id=contract.pk, kind="adjustment", delta=100, note="lock test")
    opened = [open_request(partner, contract, title=f"r{n}").pk for n in range(REQUESTS)]
    operator = UserFactory(organization=None, is_staff=True)
    return contract, opened, token_for(partner), token_for(operator)


def test_withdrawals_race_closes_and_new_charges_across_processes(open_requests):
    contract, opened, partner, operator = open_requests
    servers = [ServerProcess(), ServerProcess()]
    try:
        calls = []
        for n, pk in enumerate(opened):
            calls.append((servers[0], partner, f"/api/v1/support-requests/{pk}/withdraw", None))
            calls.append(
                (
                    servers[1],
                    operator,
                    f"/api/v1/support-requests/{pk}/close",
                    {"resolution": "duplicate"},
                )
            )
            if n % 3 == 0:  # new charges to the same contract, in between
                calls.append(
                    (
                        servers[n % 2],
                        partner,
                        "/api/v1/support-requests",
                        {
                            "product_id": SupportRequest.objects.get(pk=pk).product_id,
                            "severity": "C",
                            "title": f"new {n}",
                            "description": "d",
                        },
                    )
                )

        def call(item):
            server, token, path, body = item
            return path, requests.post(
                server.url + path,
                json=body or {},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )

        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(call, calls))
    finally:
        for server in servers:
            server.stop()

    statuses = Counter(r.status_code for _, r in answers)
    assert set(statuses) <= {200, 201, 409}, [(p, r.status_code, r.text) for p, r in answers]
    for pk in opened:
        mine = [r for path, r in answers if path.startswith(f"/api/v1/support-requests/{pk}/")]
        assert sorted(r.status_code for r in mine) == [200, 409], [r.text for r in mine]
        assert LedgerEntry.objects.filter(support_request_id=pk, kind="refund").count() == 1
    created = statuses[201]
    assert created == len(range(0, REQUESTS, 3))
    contract.refresh_from_db()
    assert contract.used == created
    assert contract.balance == 110 - created
    assert reconcile()[1] == []
