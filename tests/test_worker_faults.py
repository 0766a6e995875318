"""The worker against what kills workers: SIGKILL mid-task (the task is run again by the
next worker, once in effect), a write lock held past the busy timeout, connections cut by
the server (it waits, logs, and goes on), a fatal error (it exits non-zero, saying why);
on the database queue and on Redis. Every wait has a deadline."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import redis
import requests
from django.db import connection
from django.db.models import Count
from django_tasks_db.models import DBTaskResult

from partnerdesk.accounts.models import AuditEvent
from partnerdesk.benefits.activation import activation_request
from partnerdesk.benefits.models import Activation, Entitlement, EntitlementState
from tests.factories import OrganizationFactory, UserFactory, membership, token_for
from tests.helpers import (
    SCRIPT,
    ServerProcess,
    console_script,
    process_env,
    read_mails,
    subprocess_database_url,
    wait_until,
)

REPO = Path(__file__).resolve().parents[1]
ACTIVATIONS = 150
# The next worker takes over a dead worker's task after 3 s instead of 5 minutes, and
# sweeps every half second; the activation sweep stays out of the way (an hour).
FAST_RECLAIM = {
    "PARTNERDESK_TASK_RECLAIM_AFTER": "3",
    "PARTNERDESK_PERIODIC_INTERVAL": "0.5",
    "PARTNERDESK_SWEEP_GRACE": "3600",
    "PYTHONPATH": str(REPO),  # the test-only task in tests/worker_tasks.py
}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Users are made by the hundred here, and no one signs in: no PBKDF2 (1 s each)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class WorkerProcess:
    """`partnerdesk worker` in its own process group, its log in a file."""

    def __init__(self, log: Path, **env: str) -> None:
        self.log = log
        mail = {
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "DJANGO_EMAIL_FILE_PATH": str(log.with_suffix(".mail")),
        }
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(SCRIPT), "worker", "--interval", "0.05"],
                env=process_env(**{**mail, **env}),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def check_alive(self) -> bool:
        """False while alive; fails the test at once if the worker has exited."""
        if not self.alive():
            pytest.fail(f"the worker exited ({self.process.returncode}):\n{self.output()}")
        return False

    def kill(self) -> None:
        """SIGKILL to the worker (and any process of its own): no handler runs."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the worker did not stop within 20 s of SIGTERM:\n{self.output()}")


def pending_activations(count: int) -> list[Activation]:
    """``count`` activations due now, their tasks queued."""
    outcomes = []
    for n in range(count):
        organization = OrganizationFactory(contact_email=f"contact-{n}@fault.example")
        membership(organization, "action_pack")
        admin = UserFactory(organization=organization, is_global_admin=True)
        entitlement = Entitlement.objects.get(organization=organization)
        outcomes.append(activation_request(user=admin, entitlement_id=entitlement.pk).activation)
    return outcomes


def completed() -> int:
    return Activation.objects.filter(state="completed").count()


def assert_completed_once(activations: list[Activation]) -> None:
    pks = [a.pk for a in activations]
    assert set(Activation.objects.filter(pk__in=pks).values_list("state", flat=True)) == {
        "completed"
    }
    events = AuditEvent.objects.filter(action="activation.completed", data__activation__in=pks)
    assert events.count() == len(pks)
    entitlements = Entitlement.objects.filter(activations__pk__in=pks)
    assert {e.state for e in entitlements} == {EntitlementState.ACTIVE}
    assert all(e.access_id and e.contract_id for e in entitlements)
    check = console_script("reconcile")
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.slow  # 150 activations (20-40 s)
def test_a_killed_worker_leaves_every_activation_completed_exactly_once(transactional_db, settings):
    settings.PARTNERDESK_ACTIVATION_DELAY = 0
    pending_activations(ACTIVATIONS)
    assert Activation.objects.filter(state="pending").count() == ACTIVATIONS

    worker = subprocess.Popen(
        [str(SCRIPT), "worker", "--interval", "0.05", "-v", "0"],
        env=process_env(PARTNERDESK_PERIODIC_INTERVAL="3600"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while completed() < ACTIVATIONS // 10:
        assert worker.poll() is None, worker.stderr.read().decode()
        assert time.monotonic() < deadline, f"{completed()} activations completed in 60 s"
        time.sleep(0.005)
    worker.kill()  # SIGKILL: no handler runs, a transaction may be cut in half
    worker.wait(timeout=10)
    at_kill = completed()
    assert 0 < at_kill < ACTIVATIONS, f"the kill did not land mid-way ({at_kill} done)"

    # Restart. The task the dead worker had claimed is still running for another 5
    # minutes (PARTNERDESK_TASK_RECLAIM_AFTER); the sweep finishes its activation (grace
    # 0 here instead of a minute).
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


def test_a_task_killed_mid_run_is_run_again_by_the_next_worker(
    transactional_db, settings, tmp_path
):
    from tests.worker_tasks import complete_activation_slowly

    settings.PARTNERDESK_ACTIVATION_DELAY = 0
    [activation] = pending_activations(1)
    DBTaskResult.objects.all().delete()  # its own task: replaced by the slow one
    marker = tmp_path / "runs"
    result = complete_activation_slowly.enqueue(activation.pk, str(marker))
    mail = tmp_path / "mail"
    env = {
        **FAST_RECLAIM,
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "DJANGO_EMAIL_FILE_PATH": str(mail),
    }

    first = WorkerProcess(tmp_path / "first.log", **env)
    try:
        wait_until(
            lambda: Path(f"{marker}.inside").exists() or first.check_alive(),
            within=60,
            failure=lambda: f"the task did not start within 60 s:\n{first.output()}",
        )
        assert DBTaskResult.objects.get(pk=result.id).status == "RUNNING"
    finally:
        first.kill()  # inside the task's transaction: rows locked, IDs not issued
    activation.refresh_from_db()
    assert activation.state == "pending"  # the half-done transaction left nothing

    second = WorkerProcess(tmp_path / "second.log", **env)
    try:
        wait_until(
            lambda: (
                DBTaskResult.objects.filter(
                    task_path__endswith="send_activation_notice", status="SUCCESSFUL"
                ).exists()
                or second.check_alive()
            ),
            within=60,
            failure=lambda: f"not run again within 60 s:\n{second.output()}",
        )
        assert "queued again" in second.output()
    finally:
        assert second.stop() == 0, second.output()

    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "SUCCESSFUL" and row.return_value is True
    assert len(row.worker_ids) == 2  # the dead worker's run, and the one that completed
    assert len(marker.read_text().split()) == 2
    assert_completed_once([activation])
    recipients = Counter(m["to"] for m in read_mails(mail))
    assert set(recipients.values()) == {1}, recipients
    assert len(recipients) == 2  # the program contact and the activating admin


def test_a_task_failing_on_a_transient_error_runs_again_a_bug_does_not(transactional_db, tmp_path):
    from tests.worker_tasks import always_fails, locked_once

    marker = tmp_path / "runs"
    transient = locked_once.enqueue(str(marker))
    bug = always_fails.enqueue()
    worker = WorkerProcess(tmp_path / "worker.log", **FAST_RECLAIM)
    try:
        wait_until(
            lambda: (
                DBTaskResult.objects.filter(pk=transient.id, status="SUCCESSFUL").exists()
                or worker.check_alive()
            ),
            within=30,
            failure=lambda: f"not run again within 30 s:\n{worker.output()}",
        )
    finally:
        assert worker.stop() == 0, worker.output()
    again = DBTaskResult.objects.get(pk=transient.id)
    assert again.return_value == 2 and len(again.worker_ids) == 2
    assert "runs again in" in worker.output()
    failed = DBTaskResult.objects.get(pk=bug.id)
    assert failed.status == "FAILED" and len(failed.worker_ids) == 1


def test_a_task_abandoned_too_often_is_failed_not_run_again(db, settings):
    import datetime

    from django.utils import timezone

    from partnerdesk.core.reclaim import TASK_ABANDONED, tasks_reclaim_abandoned
    from tests.worker_tasks import locked_once

    settings.PARTNERDESK_TASK_RECLAIM_AFTER = 60
    settings.PARTNERDESK_TASK_ATTEMPTS = 3
    long_ago = timezone.now() - datetime.timedelta(minutes=2)
    rows = {}
    for name, runs, started in (("again", 2, long_ago), ("last", 3, long_ago), ("live", 1, None)):
        result = locked_once.enqueue(name)
        DBTaskResult.objects.filter(pk=result.id).update(
            status="RUNNING",
            started_at=started or timezone.now(),
            worker_ids=[f"dead-{n}" for n in range(runs)],
        )
        rows[name] = result.id

    assert tasks_reclaim_abandoned() == 1
    assert tasks_reclaim_abandoned() == 0  # once only
    state = {name: DBTaskResult.objects.get(pk=pk) for name, pk in rows.items()}
    assert state["again"].status == "READY"
    assert state["last"].status == "FAILED"
    assert state["last"].exception_class_path == TASK_ABANDONED
    assert state["live"].status == "RUNNING"  # within the grace period: left alone


def sqlite_busy_timeout() -> float:
    return float(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5))


def test_the_worker_outlasts_a_write_lock_held_past_the_busy_timeout(
    transactional_db, settings, tmp_path
):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's write lock; PostgreSQL: the next test")
    settings.PARTNERDESK_ACTIVATION_DELAY = 0
    activations = pending_activations(5)
    hold = sqlite_busy_timeout() + 5

    # A separate connection takes the write lock, as a long import does.
    locker = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        worker = WorkerProcess(tmp_path / "worker.log", PARTNERDESK_PERIODIC_INTERVAL="1")
        held_until = time.monotonic() + hold
        while time.monotonic() < held_until:
            worker.check_alive()
            time.sleep(0.2)
        assert completed() == 0
    finally:
        locker.rollback()
        locker.close()
    try:
        wait_until(
            lambda: completed() == len(activations) or worker.check_alive(),
            within=60,
            failure=lambda: f"{completed()} completed within 60 s:\n{worker.output()}",
        )
        assert "transient database error" in worker.output()
        assert "database is locked" in worker.output()
    finally:
        assert worker.stop() == 0, worker.output()
    assert_completed_once(activations)


def test_the_worker_reconnects_after_the_server_cuts_its_connections(
    transactional_db, settings, tmp_path
):
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend; SQLite: the test above")
    import psycopg

    settings.PARTNERDESK_ACTIVATION_DELAY = 0
    table = DBTaskResult._meta.db_table
    worker = WorkerProcess(tmp_path / "worker.log", PARTNERDESK_PERIODIC_INTERVAL="1")
    try:
        with psycopg.connect(subprocess_database_url(), autocommit=False) as locker:
            # The worker's claim waits on this lock; then the server cuts it off.
            locker.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')

            def waiting() -> list[int]:
                # Within a transaction pg_stat_activity is a snapshot: take a fresh one.
                locker.execute("SELECT pg_stat_clear_snapshot()")
                rows = locker.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
                ).fetchall()
                return [pid for (pid,) in rows]

            wait_until(
                lambda: waiting() or worker.check_alive(),
                within=30,
                failure=lambda: f"the worker never waited on the lock:\n{worker.output()}",
            )
            locker.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            )
            locker.rollback()
        connection.close()  # the test's own connection was cut too
        time.sleep(1)
        worker.check_alive()
        activations = pending_activations(3)
        wait_until(
            lambda: completed() == len(activations) or worker.check_alive(),
            within=60,
            failure=lambda: f"{completed()} completed within 60 s:\n{worker.output()}",
        )
        cut = re.compile(r"transient database error \(\w+: [^)]*(connection|terminat)")
        assert cut.search(worker.output()), worker.output()
    finally:
        assert worker.stop() == 0, worker.output()
    assert_completed_once(activations)


def test_a_fatal_error_stops_the_worker_with_a_reason_and_a_non_zero_code(tmp_path):
    empty = tmp_path / "never-migrated.sqlite3"
    sqlite3.connect(empty).close()
    worker = WorkerProcess(tmp_path / "worker.log", DATABASE_URL=f"sqlite:///{empty}")
    try:
        worker.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        pytest.fail(f"the worker kept running on a database without tables:\n{worker.output()}")
    assert worker.process.returncode != 0
    assert "worker stopped by a fatal error" in worker.output()
    assert "no such table" in worker.output()


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


def test_a_job_of_a_killed_rq_worker_is_run_again(
    transactional_db, settings, clean_redis, tmp_path
):
    from rq.job import Job, JobStatus

    settings.PARTNERDESK_ACTIVATION_DELAY = 0
    [activation] = pending_activations(1)
    DBTaskResult.objects.all().delete()  # queued in the database by this process: not used
    marker = tmp_path / "runs"
    env = {**FAST_RECLAIM, "REDIS_URL": REDIS_URL}
    enqueued = console_script(
        "shell",
        "-c",
        "from tests.worker_tasks import complete_activation_slowly as task; "
        f"print(task.enqueue({activation.pk}, {str(marker)!r}).id)",
        **env,
    )
    assert enqueued.returncode == 0, enqueued.stderr
    job_id = enqueued.stdout.split()[-1]

    first = WorkerProcess(tmp_path / "first.log", **env)
    try:
        wait_until(
            lambda: Path(f"{marker}.inside").exists() or first.check_alive(),
            within=60,
            failure=lambda: f"the job did not start within 60 s:\n{first.output()}",
        )
    finally:
        first.kill()  # the worker and its scheduler process
    assert Job.fetch(job_id, connection=clean_redis).get_status() == JobStatus.STARTED

    second = WorkerProcess(tmp_path / "second.log", **env)
    try:
        wait_until(
            lambda: (
                Job.fetch(job_id, connection=clean_redis).get_status() == JobStatus.FINISHED
                or second.check_alive()
            ),
            within=60,
            failure=lambda: f"the job was not run again within 60 s:\n{second.output()}",
        )
    finally:
        assert second.stop() == 0, second.output()
    assert len(marker.read_text().split()) == 2
    assert_completed_once([activation])
