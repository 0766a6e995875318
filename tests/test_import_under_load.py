"""A big import is no outage: 50,000 organizations go in through `partnerdesk
import-partners` while a partner opens support requests (and admins activate benefits)
over HTTP against the production server, and `partnerdesk worker` runs. Every write is
answered within 2 s — done (2xx), or 503 `busy` with Retry-After — the worker is still
running afterwards and has done its work, and `partnerdesk reconcile` is clean."""

from __future__ import annotations

import datetime
import json
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from partnerdesk.benefits.models import Activation, Entitlement
from partnerdesk.partners.models import Organization
from tests.factories import (
    CLOUD,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    product,
    token_for,
)
from tests.helpers import SCRIPT, ServerProcess, console_script, process_env

ORGANIZATIONS = 50_000
ANSWER_WITHIN = 2.0  # seconds, every write
ACTIVATIONS = 10
IMPORT_DEADLINE = 240  # seconds; pytest-timeout stops the test at 300


def import_file(path: Path, count: int, today: datetime.date) -> Path:
    """``count`` organizations with an Action Pack and a user each, in a second or so: one
    template, formatted, instead of ``json.dumps`` of a document."""
    membership_ = json.dumps(
        {
            "offer": "action_pack",
            "starts": str(today - datetime.timedelta(days=30)),
            "ends": str(today + datetime.timedelta(days=335)),
        }
    )
    template = (
        '{"partner_id": "L%(n)07d", "name": "Loaded %(n)d", "programs": ["mpn"], '
        '"memberships": [' + membership_.replace("%", "%%") + "], "
        '"users": [{"email": "load%(n)d@import.example", "name": "Load %(n)d"}]}'
    )
    with path.open("w", encoding="utf-8") as out:
        out.write('{"organizations": [\n')
        out.write(",\n".join(template % {"n": n} for n in range(count)))
        out.write("\n]}\n")
    return path


@dataclass
class Answer:
    what: str
    started: float
    seconds: float
    status: int | None  # None: no answer at all (timeout, connection cut)
    content_type: str = ""
    code: str | None = None
    retry_after: str | None = None

    def acceptable(self) -> bool:
        if self.status is None or self.seconds >= ANSWER_WITHIN:
            return False
        if 200 <= self.status < 300:
            return True
        return (
            self.status == 503
            and self.content_type.startswith("application/problem+json")
            and self.code == "busy"
            and bool(self.retry_after)
        )


class Client(threading.Thread):
    """One partner opening requests, now and then an admin activating a benefit."""

    def __init__(self, url: str, token: str, body: dict, activations: list[tuple[str, int]]):
        super().__init__(daemon=True)
        self.url, self.token, self.body = url, token, body
        self.activations = list(activations)
        self.answers: list[Answer] = []
        self.stop = threading.Event()

    def post(self, what: str, path: str, token: str, **kwargs) -> None:
        started = time.monotonic()
        try:
            answer = requests.post(
                self.url + path,
                headers={"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})},
                timeout=ANSWER_WITHIN * 5,
                **kwargs,
            )
        except requests.RequestException:
            self.answers.append(Answer(what, started, time.monotonic() - started, None))
            return
        seconds = time.monotonic() - started
        content_type = answer.headers.get("Content-Type", "")
        code = None
        if content_type.startswith("application/problem+json"):
            code = answer.json().get("code")
        self.answers.append(
            Answer(
                what,
                started,
                seconds,
                answer.status_code,
                content_type,
                code,
                answer.headers.get("Retry-After"),
            )
        )

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            self.post(
                "open a request",
                "/api/v1/support-requests",
                self.token,
                json={**self.body, "title": f"Under load {n}"},
                headers={"Idempotency-Key": f"load-{n}"},
            )
            if n % 15 == 0 and self.activations:
                token, entitlement_id = self.activations.pop()
                self.post("activate", f"/api/v1/benefits/{entitlement_id}/activate", token)
            self.stop.wait(0.1)


def wait_for(condition, seconds: float, message: str, poll: float = 0.2) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(poll)


@pytest.mark.slow
def test_an_import_of_50000_organizations_stops_no_writer_and_no_worker(
    tmp_path, transactional_db, today
):
    partner = OrganizationFactory(in_csp=False)
    membership(partner, "gold", CLOUD)
    activate(partner)
    unlimited = Entitlement.objects.get(organization=partner, benefit__code="cloud_support")
    body = {
        "product_id": product("Azure").pk,
        "severity": "C",
        "description": "Opened while the import runs.",
        "contract_id": unlimited.contract_id,
        "access_id": unlimited.access_id,
    }
    token = token_for(UserFactory(organization=partner))
    activations = []
    for _ in range(ACTIVATIONS):
        organization = OrganizationFactory()
        membership(organization, "action_pack")
        admin = UserFactory(organization=organization, is_global_admin=True)
        activations.append(
            (token_for(admin), Entitlement.objects.get(organization=organization).pk)
        )
    asked = [entitlement_id for _token, entitlement_id in activations]
    path = import_file(tmp_path / "partners.json", ORGANIZATIONS, today)
    before = Organization.objects.count()

    server = ServerProcess(workers=2, threads=4, PARTNERDESK_ACTIVATION_DELAY="0")
    worker_log = tmp_path / "worker.log"
    with worker_log.open("wb") as log:  # the worker keeps its own copy of the file
        worker = subprocess.Popen(
            [str(SCRIPT), "worker", "--interval", "0.1"],
            env=process_env(PARTNERDESK_PERIODIC_INTERVAL="2"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    client = Client(server.url, token, body, activations)
    importing = None
    try:
        client.start()
        importing = subprocess.Popen(
            [str(SCRIPT), "import-partners", str(path), "--no-progress", "-v", "2"],
            env=process_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started = time.monotonic()
        writing_from = None
        while importing.poll() is None:
            assert time.monotonic() - started < IMPORT_DEADLINE, "the import took too long"
            if writing_from is None and Organization.objects.count() > before:
                writing_from = time.monotonic()
            time.sleep(0.25)
        writing_until = time.monotonic()
        out, err = importing.communicate(timeout=10)
        assert importing.returncode == 0, err
        assert f"Organizations: {ORGANIZATIONS} created" in out

        # Every activation asked for is done by the worker (the delay is 0).
        wait_for(
            lambda: not client.activations,
            60,
            "the client did not get to ask for every activation",
        )
        wait_for(
            lambda: (
                Activation.objects.filter(entitlement__in=asked, state="completed").count()
                == ACTIVATIONS
            ),
            60,
            "the worker did not complete every activation within 60 s",
        )
        assert worker.poll() is None, "the worker stopped"
    finally:
        client.stop.set()
        client.join(timeout=30)
        if importing is not None and importing.poll() is None:
            importing.kill()
            importing.wait()
        alive = worker.poll() is None
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        server.stop()
    assert alive, worker_log.read_text(errors="replace")[-3000:]
    assert not client.is_alive(), "the client did not stop within 30 s"

    during = [a for a in client.answers if writing_from <= a.started <= writing_until]
    assert len(during) >= 20, f"only {len(during)} writes while the import was writing"
    refused = [a for a in client.answers if not a.acceptable()]
    assert refused == [], (
        f"{len(refused)} of {len(client.answers)} writes not answered as they should be "
        f"(slowest first): {sorted(refused, key=lambda a: -a.seconds)[:10]}"
    )
    seconds = sorted(a.seconds for a in client.answers)
    print(
        f"\nimport {writing_until - started:.1f} s, writing {writing_until - writing_from:.1f} s; "
        f"{len(client.answers)} writes, {len(during)} while it wrote; answered in "
        f"p50 {seconds[len(seconds) // 2]:.3f} s, p99 {seconds[len(seconds) * 99 // 100]:.3f} s, "
        f"slowest {seconds[-1]:.3f} s; busy {sum(a.status == 503 for a in client.answers)}; "
        + out.strip().splitlines()[-1]
    )
    check = console_script("reconcile")
    assert check.returncode == 0, check.stdout + check.stderr
    assert Organization.objects.count() == before + ORGANIZATIONS
