"""Many processes, one truth: two `partnerdesk serve` (two gunicorn workers each) and two
`partnerdesk worker` processes on PostgreSQL and Redis (REDIS_URL: the task queue, and the
cache that holds the rate limits and the catalog's version). Activations asked for
through both servers complete exactly once, though both workers and their sweeps race for
them; sixty callers spread over both servers get exactly the nine incidents left; one
caller's rate limit holds across all four web processes, also when its calls come at
once; a catalog change made in another process shows on both servers at once. Every wait
has a deadline."""

from __future__ import annotations

import contextlib
import datetime
import secrets
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import pytest
import redis
import requests
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test import override_settings

from partnerdesk.accounts.models import AuditEvent
from partnerdesk.benefits.models import Activation, Entitlement, LedgerEntry
from tests.factories import (
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    product,
    token_for,
)
from tests.helpers import SCRIPT, process_env, wait_until
from tests.serving import Served

# A Redis database of this test's own (test_worker_faults uses 15): flushed before and after.
REDIS_URL = "redis://127.0.0.1:6379/13"
ACTIVATIONS = 200
CALLERS = 60
RATE = 10  # per caller and minute, in every web process
SHARED_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="many processes writing at once is the PostgreSQL deployment (REDIS_URL)",
    ),
]


@pytest.fixture
def clean_redis():
    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def fast_passwords(settings):
    """Users are made by the hundred, and no one signs in: no PBKDF2 (1 s each)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Deployment:
    """Two servers and two workers sharing one database and one Redis."""

    def __init__(self, tmp_path: Path) -> None:
        common = {
            # As deployed: DEBUG off, a secret key of its own; plain http on this machine.
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "PARTNERDESK_HTTPS": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "PARTNERDESK_HOME": str(tmp_path),  # static files collected there, once
            "REDIS_URL": REDIS_URL,
            "PARTNERDESK_ACTIVATION_DELAY": "1",
            "PARTNERDESK_API_RATE": f"{RATE}/m",
            # Only the shared version in Redis can tell a process that the catalog changed.
            "PARTNERDESK_CATALOG_TTL": "3600",
        }
        self.servers: list[Served] = []
        self.workers: list[subprocess.Popen] = []
        self.logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
        try:
            for log in self.logs:  # first: they start while the servers do
                with log.open("wb") as out:
                    self.workers.append(
                        subprocess.Popen(
                            [str(SCRIPT), "worker", "--interval", "0.05"],
                            env=process_env(
                                **common,
                                # Each worker's sweep races the queued jobs for every
                                # activation as soon as it is due.
                                PARTNERDESK_PERIODIC_INTERVAL="0.5",
                                PARTNERDESK_SWEEP_GRACE="0",
                                DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                                DJANGO_EMAIL_FILE_PATH=str(tmp_path / "mail"),
                            ),
                            stdout=out,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        )
                    )
            serve = ["--workers=2", "--threads=4", "--log-level=warning"]
            with ThreadPoolExecutor(max_workers=2) as pool:  # one collects, the other waits
                starting = [
                    pool.submit(Served, SCRIPT, *serve, env=process_env(**common)) for _ in range(2)
                ]
                for started in starting:
                    with contextlib.suppress(Exception):  # raised again below
                        self.servers.append(started.result())
            if len(self.servers) < 2:
                next(f for f in starting if f.exception()).result()
        except BaseException:
            self.stop()
            raise
        self.urls = [s.url for s in self.servers]

    def check_workers(self) -> bool:
        """False while both workers run; fails the test at once if one has exited."""
        for worker, log in zip(self.workers, self.logs, strict=True):
            if worker.poll() is not None:
                pytest.fail(f"a worker exited ({worker.returncode}):\n{log.read_text()}")
        return False

    def worker_output(self) -> str:
        return "\n".join(log.read_text(errors="replace") for log in self.logs)

    def stop(self) -> None:
        for worker in self.workers:
            worker.terminate()
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(Served.stop, self.servers))
        for worker in self.workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=10)


@pytest.fixture
def deployment(transactional_db, clean_redis, fast_passwords, tmp_path):
    running = Deployment(tmp_path)
    yield running
    running.stop()


def at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """All calls together: each thread waits at a barrier, then calls."""
    barrier = threading.Barrier(len(calls))

    def call(n: int) -> requests.Response:
        barrier.wait(timeout=30)
        return calls[n]()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(call, range(len(calls))))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_many_processes_one_truth(deployment, clean_redis):
    # --- 200 activations through both servers, completed by two racing workers --------
    pending = []
    for n in range(ACTIVATIONS):
        organization = OrganizationFactory(contact_email=f"contact-{n}@many.example")
        membership(organization, "action_pack")
        admin = UserFactory(organization=organization, is_global_admin=True)
        entitlement = Entitlement.objects.get(organization=organization)
        pending.append((deployment.urls[n % 2], entitlement.pk, token_for(admin)))

    def ask(url: str, entitlement_id: int, token: str) -> requests.Response:
        return requests.post(
            f"{url}/api/v1/benefits/{entitlement_id}/activate", headers=bearer(token), timeout=30
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        asked = list(pool.map(lambda args: ask(*args), pending))
    assert Counter(r.status_code for r in asked) == {202: ACTIVATIONS}

    def completed() -> int:
        deployment.check_workers()
        return Activation.objects.filter(state="completed").count()

    wait_until(
        lambda: completed() == ACTIVATIONS,
        within=60,
        failure=lambda: (
            f"{completed()} of {ACTIVATIONS} activations completed in 60 s:\n"
            f"{deployment.worker_output()[-5000:]}"
        ),
    )
    entitlement_ids = [pk for _url, pk, _token in pending]
    assert Activation.objects.filter(entitlement_id__in=entitlement_ids).count() == ACTIVATIONS
    per_activation = Counter(
        AuditEvent.objects.filter(action="activation.completed").values_list(
            "data__activation", flat=True
        )
    )
    assert len(per_activation) == ACTIVATIONS and set(per_activation.values()) == {1}
    grants = LedgerEntry.objects.filter(entitlement_id__in=entitlement_ids, kind="grant")
    per_entitlement = grants.values("entitlement").annotate(n=Count("id"))
    assert len(per_entitlement) == ACTIVATIONS and {row["n"] for row in per_entitlement} == {1}
    assert not Entitlement.objects.filter(pk__in=entitlement_ids).exclude(state="active").exists()

    # --- 60 callers over both servers, 9 incidents left ---------------------------------
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    activate(organization)
    contract = Entitlement.objects.get(organization=organization, state="active")
    tokens = [token_for(UserFactory(organization=organization)) for _ in range(CALLERS)]
    sql_server = product("SQL Server", "2022").pk  # here: the callers' threads use no database

    def support_request(n: int) -> requests.Response:
        return requests.post(
            f"{deployment.urls[n % 2]}/api/v1/support-requests",
            json={
                "product_id": sql_server,
                "severity": "B",
                "title": f"Outage {n}",
                "description": "The cluster is down.",
                "contract_id": contract.contract_id,
                "access_id": contract.access_id,
            },
            headers=bearer(tokens[n]),
            timeout=60,
        )

    assert support_request(0).status_code == 201  # one of ten spent: nine left
    raced = at_once([lambda n=n: support_request(n) for n in range(CALLERS)])
    outcomes = Counter(
        (r.status_code, None if r.status_code == 201 else r.json().get("code")) for r in raced
    )
    assert outcomes == {(201, None): 9, (409, "incidents_exhausted"): CALLERS - 9}, outcomes
    contract.refresh_from_db()
    assert (contract.balance, contract.used) == (0, 10)
    assert contract.ledger_entries.filter(kind="consume").count() == 10
    reconciled = StringIO()
    call_command("reconcile", stdout=reconciled)  # `partnerdesk reconcile`: raises if unequal
    assert "Every balance equals its ledger." in reconciled.getvalue()

    # --- one caller's rate limit holds across the four web processes --------------------
    # tokens[1] has spent one call in the race; nine are left in this minute, for 30 calls
    # at once spread over both servers (two processes each).
    benefits = [
        lambda n=n: requests.get(
            f"{deployment.urls[n % 2]}/api/v1/benefits", headers=bearer(tokens[1]), timeout=30
        )
        for n in range(30)
    ]
    answers = at_once(benefits)
    assert Counter(a.status_code for a in answers) == {200: RATE - 1, 429: 30 - RATE + 1}
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    for url in deployment.urls:  # and one at a time, on each server
        later = requests.get(f"{url}/api/v1/benefits", headers=bearer(tokens[1]), timeout=30)
        assert later.status_code == 429

    # --- a catalog change made elsewhere shows on both servers at once ------------------
    def ends_on(url: str) -> str | None:
        answer = requests.get(f"{url}/api/v1/products", headers=bearer(tokens[2]), timeout=30)
        assert answer.status_code == 200, answer.text
        [sql] = [p for p in answer.json()["items"] if p["id"] == changed.pk]
        return sql["mainstream_ends_on"]

    changed = product("SQL Server", "2022")
    assert {ends_on(url) for url in deployment.urls} == {
        changed.mainstream_ends_on and changed.mainstream_ends_on.isoformat()
    }
    changed.mainstream_ends_on = datetime.date(2039, 1, 14)
    with override_settings(CACHES=SHARED_CACHE):  # this process's cache: the servers' Redis
        changed.save()
    assert {ends_on(url) for url in deployment.urls} == {"2039-01-14"}
