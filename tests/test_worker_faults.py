"""A worker killed with SIGKILL mid-way loses nothing and repeats nothing; on Redis too."""

import subprocess
import time

import pytest
import redis
import requests
from django.db.models import Count

from partnerdesk.accounts.models import AuditEvent
from partnerdesk.benefits.activation import activation_request
from partnerdesk.benefits.models import Activation, Entitlement, EntitlementState
from tests.factories import OrganizationFactory, UserFactory, membership, token_for
from tests.helpers import SCRIPT, ServerProcess, console_script, process_env

ACTIVATIONS = 150


def completed() -> int:
    return Activation.objects.filter(state="completed").count()


def test_a_killed_worker_leaves_every_activation_completed_exactly_once(transactional_db, settings):
    settings.PARTNERDESK_ACTIVATION_DELAY = 0
    for _ in range(ACTIVATIONS):
        organization = OrganizationFactory()
        membership(organization, "action_pack")
        admin = UserFactory(organization=organization, is_global_admin=True)
        activation_request(
            user=admin, entitlement_id=Entitlement.objects.get(organization=organization).pk
        )
    assert Activation.objects.filter(state="pending").count() == ACTIVATIONS

    worker = subprocess.Popen(
        [str(SCRIPT), "worker", "--interval", "0.05", "-v", "0"],
        env=process_env(PARTNERDESK_PERIODIC_INTERVAL="3600"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while completed() < ACTIVATIONS // 10 and time.monotonic() < deadline:
        assert worker.poll() is None, worker.stderr.read().decode()
        time.sleep(0.005)
    worker.kill()  # SIGKILL: no handler runs, a transaction may be cut in half
    worker.wait()
    at_kill = completed()
    assert 0 < at_kill < ACTIVATIONS, f"the kill did not land mid-way ({at_kill} done)"

    # Restart. A task the dead worker had claimed is never handed out again by the
    # queue; the sweep finishes its activation (grace 0 here instead of a minute).
    restarted = console_script("worker", "--once", PARTNERDESK_SWEEP_GRACE="0")
    assert restarted.returncode == 0, restarted.stderr

    assert completed() == ACTIVATIONS
    assert not Activation.objects.exclude(state="completed").exists()
    per_entitlement = Activation.objects.values("entitlement").annotate(n=Count("id"))
    assert {row["n"] for row in per_entitlement} == {1}
    assert AuditEvent.objects.filter(action="activation.completed").count() == ACTIVATIONS
    entitlements = Entitlement.objects.all()
    assert {e.state for e in entitlements} == {EntitlementState.ACTIVE}
    for field in ("access_id", "contract_id"):
        values = list(entitlements.values_list(field, flat=True))
        assert None not in values and len(set(values)) == ACTIVATIONS


REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def clean_redis():
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()


def test_the_whole_flow_on_redis(transactional_db, clean_redis):
    from rq.registry import FinishedJobRegistry, ScheduledJobRegistry

    organization = OrganizationFactory()
    membership(organization, "action_pack")
    admin = UserFactory(organization=organization, is_mpn_partner_admin=True)
    entitlement = Entitlement.objects.get(organization=organization)
    server = ServerProcess(REDIS_URL=REDIS_URL, PARTNERDESK_ACTIVATION_DELAY="1")
    try:
        headers = {"Authorization": f"Bearer {token_for(admin)}"}
        response = requests.post(
            f"{server.url}/api/v1/benefits/{entitlement.pk}/activate", headers=headers, timeout=10
        )
        assert response.status_code == 202, response.text
        scheduled = ScheduledJobRegistry("default", connection=clean_redis)
        assert scheduled.count == 1  # in Redis, not in the database queue
        from django_tasks_db.models import DBTaskResult

        assert not DBTaskResult.objects.exists()

        time.sleep(1.5)
        done = console_script("worker", "--once", REDIS_URL=REDIS_URL)
        assert done.returncode == 0, done.stderr

        assert FinishedJobRegistry("default", connection=clean_redis).count == 2  # + the notice
        item = requests.get(
            f"{server.url}/api/v1/benefits/{entitlement.pk}", headers=headers, timeout=10
        ).json()
        assert item["status"] == "active"
        assert item["access_id"] and item["contract_id"]
    finally:
        server.stop()
