"""Webhooks delivered by real `partnerdesk worker` processes to a real HTTP receiver (a
local server the test starts): signed (verified with the standardwebhooks package), in
order per organization with two organizations interleaved, once each when the receiver
answers 2xx; retried when it answers 500 or does not answer in time; a worker SIGKILLed
mid-delivery loses no event (the next one sends it again, with the same webhook-id);
after the schedule runs out the endpoint is failing and the operators are e-mailed, and
it goes on in order when resumed; a replay sends it again. Every wait has a deadline."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import pytest
from django.db import transaction
from standardwebhooks import Webhook

from partnerdesk.events.models import Event, EventType
from partnerdesk.events.selectors import event_envelope
from partnerdesk.events.services import event_record
from partnerdesk.webhooks.models import (
    DeliveryState,
    EndpointState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from partnerdesk.webhooks.services import (
    EndpointDraft,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_resume,
)
from tests.factories import OrganizationFactory, UserFactory
from tests.helpers import SCRIPT, console_script, process_env, read_mails, wait_until
from tests.webhook_receiver import Receiver, Reply

# Loopback allowed (the receiver), a round every 0.1 s, retries after 0.2, 0.5 and 1 s,
# one second to answer, and a dead worker's claim taken over after 3 s.
FAST = {
    "PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE": "1",
    "PARTNERDESK_DELIVERY_INTERVAL": "0.1",
    "PARTNERDESK_PERIODIC_INTERVAL": "3600",
    "PARTNERDESK_WEBHOOKS_RETRY_SCHEDULE": "0.2,0.5,1",
    "PARTNERDESK_WEBHOOKS_CONNECT_TIMEOUT": "1",
    "PARTNERDESK_WEBHOOKS_TIMEOUT": "1",
    "PARTNERDESK_WEBHOOKS_LEASE": "3",
}


@pytest.fixture(autouse=True)
def _private_allowed(settings):
    """The test process registers the endpoints (on the receiver, on loopback)."""
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Worker:
    """`partnerdesk worker` in its own process group, its log and its mail in files."""

    def __init__(self, log: Path, **env: str) -> None:
        self.log = log
        self.mail = log.with_suffix(".mail")
        settings_env = {
            **FAST,
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "DJANGO_EMAIL_FILE_PATH": str(self.mail),
            **env,
        }
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(SCRIPT), "worker", "--interval", "0.2"],
                env=process_env(**settings_env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def check_alive(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(f"the worker exited ({self.process.returncode}):\n{self.output()}")
        return False

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"the worker did not stop within 20 s of SIGTERM:\n{self.output()}")

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def record(organization, n: int, type=EventType.INCIDENT_CHARGED) -> None:
    with transaction.atomic():
        event_record(type=type, organization_id=organization.pk, data={"n": n})


def endpoint_for(url: str, **draft) -> WebhookEndpoint:
    return webhook_endpoint_create(operator=None, draft=EndpointDraft(url=url, **draft))


def delivered(endpoint: WebhookEndpoint) -> int:
    return endpoint.deliveries.filter(state=DeliveryState.DELIVERED).count()


def wait_delivered(endpoint: WebhookEndpoint, count: int, worker: Worker, within: float = 60):
    wait_until(
        lambda: delivered(endpoint) >= count or worker.check_alive(),
        within=within,
        failure=lambda: (
            f"{delivered(endpoint)} of {count} delivered in {within} s:\n{worker.output()}"
        ),
    )


def first_arrivals(receiver: Receiver, path: str | None = None) -> list[dict]:
    """The envelopes received, each event once, in the order they first arrived."""
    seen, order = set(), []
    for request in receiver.requests(path):
        if request.msg_id not in seen:
            seen.add(request.msg_id)
            order.append(request.json)
    return order


def assert_in_order_per_organization(envelopes: list[dict]) -> None:
    per_organization = defaultdict(list)
    for envelope in envelopes:
        per_organization[envelope["organization"]].append(envelope["id"])
    for positions in per_organization.values():
        assert positions == sorted(positions), per_organization


def test_events_arrive_signed_in_order_per_organization_once_each(transactional_db, tmp_path):
    contoso, fabrikam = OrganizationFactory(), OrganizationFactory()
    with Receiver() as receiver:
        everything = endpoint_for(f"{receiver.url}/all")
        contoso_charges = endpoint_for(
            f"{receiver.url}/contoso",
            organization=contoso.partner_id,
            event_types=[EventType.INCIDENT_CHARGED],
        )
        for n in range(12):  # contoso, fabrikam, contoso, … ; every third a balance.low
            kind = EventType.BALANCE_LOW if n % 3 == 2 else EventType.INCIDENT_CHARGED
            record(contoso if n % 2 == 0 else fabrikam, n, kind)
        # Not published yet: the worker's delivery thread publishes, then delivers.
        with Worker(tmp_path / "worker.log") as worker:
            wait_delivered(everything, 12, worker)
            wait_delivered(contoso_charges, 4, worker)
            # A few more rounds: nothing is sent twice.
            time.sleep(1)
            worker.check_alive()

        events = {str(e.uid): e for e in Event.objects.select_related("organization")}
        assert len(events) == 12 and None not in {e.position for e in events.values()}
        for path, endpoint in (("/all", everything), ("/contoso", contoso_charges)):
            for request in receiver.requests(path):
                payload = Webhook(endpoint.secret).verify(request.body, request.headers)
                assert payload == event_envelope(events[request.msg_id])
                assert request.headers["content-type"] == "application/json"
                assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 120

        all_ids = [r.msg_id for r in receiver.requests("/all")]
        assert sorted(all_ids) == sorted(events)  # every event, exactly once
        arrived = first_arrivals(receiver, "/all")
        assert_in_order_per_organization(arrived)
        assert {e["organization"] for e in arrived} == {contoso.partner_id, fabrikam.partner_id}

        contoso_ids = [r.json["data"]["n"] for r in receiver.requests("/contoso")]
        assert contoso_ids == [0, 4, 6, 10]  # contoso's charges only, in order, once each
    assert set(WebhookAttempt.objects.values_list("status_code", flat=True)) == {200}
    assert WebhookAttempt.objects.count() == 16


def test_two_workers_never_send_one_delivery_at_once_and_keep_the_order(transactional_db, tmp_path):
    """Two workers at once: each event arrives once, and per organization one request is
    open at a time, in the published order (the second worker never jumps the line)."""
    contoso, fabrikam = OrganizationFactory(), OrganizationFactory()
    with Receiver() as receiver:
        receiver.behaviour = lambda request, n: Reply(delay=0.05)
        endpoint = endpoint_for(receiver.url)
        for n in range(20):
            record(contoso if n % 2 == 0 else fabrikam, n)
        with Worker(tmp_path / "a.log") as a, Worker(tmp_path / "b.log") as b:
            wait_delivered(endpoint, 20, a)
            b.check_alive()
        arrivals = receiver.requests()
    assert len(arrivals) == 20 and len({r.msg_id for r in arrivals}) == 20
    for organization in (contoso, fabrikam):
        mine = [r for r in arrivals if r.json["organization"] == organization.partner_id]
        assert [r.json["id"] for r in mine] == sorted(r.json["id"] for r in mine)
        for earlier, later in itertools.pairwise(mine):
            assert earlier.done is not None and earlier.done <= later.at  # never two at once


def test_worker_once_delivers_what_is_due(transactional_db, tmp_path):
    contoso = OrganizationFactory()
    with Receiver() as receiver:
        endpoint = endpoint_for(receiver.url)
        record(contoso, 0)
        record(contoso, 1)
        once = console_script("worker", "--once", **FAST)
        assert once.returncode == 0, once.stdout + once.stderr
        assert [r.json["data"]["n"] for r in receiver.requests()] == [0, 1]
    assert delivered(endpoint) == 2


def test_a_500_is_retried_on_the_schedule_and_later_events_wait(transactional_db, tmp_path):
    contoso = OrganizationFactory()
    with Receiver() as receiver:
        first_uid = []

        def behaviour(request, n):
            if not first_uid:
                first_uid.append(request.msg_id)
            return Reply(500, b"oops") if request.msg_id == first_uid[0] and n <= 2 else Reply()

        receiver.behaviour = behaviour
        endpoint = endpoint_for(receiver.url)
        for n in range(3):
            record(contoso, n)
        with Worker(tmp_path / "worker.log") as worker:
            wait_delivered(endpoint, 3, worker)
        requests_ = receiver.requests()
    assert [r.json["data"]["n"] for r in requests_] == [0, 0, 0, 1, 2]
    assert len({r.msg_id for r in requests_[:3]}) == 1  # the same webhook-id on every try
    # The schedule's waits: 0.2 s, then 0.5 s.
    assert requests_[1].at - requests_[0].at >= 0.2
    assert requests_[2].at - requests_[1].at >= 0.5
    first = endpoint.deliveries.order_by("position").first()
    assert first.attempts == 3
    assert [(a.status_code, a.response_body) for a in first.attempt_rows.all()] == [
        (500, "oops"),
        (500, "oops"),
        (200, "ok"),
    ]


def test_a_receiver_that_does_not_answer_in_time_is_tried_again(transactional_db, tmp_path):
    contoso = OrganizationFactory()
    with Receiver() as receiver:
        # The first try is answered after 2.5 s, past the 1 s timeout; the next at once.
        receiver.behaviour = lambda request, n: Reply(delay=2.5) if n == 1 else Reply()
        endpoint = endpoint_for(receiver.url)
        record(contoso, 0)
        with Worker(tmp_path / "worker.log") as worker:
            wait_delivered(endpoint, 1, worker)
        requests_ = receiver.requests()
    assert len(requests_) == 2 and requests_[0].msg_id == requests_[1].msg_id
    delivery = endpoint.deliveries.get()
    timed_out, answered = delivery.attempt_rows.all()
    assert timed_out.status_code is None and "timed out" in timed_out.error
    assert timed_out.duration_ms >= 900
    assert answered.status_code == 200 and delivery.attempts == 2


def test_a_worker_killed_mid_delivery_loses_no_event(transactional_db, tmp_path):
    contoso, fabrikam = OrganizationFactory(), OrganizationFactory()
    with Receiver() as receiver:
        # The first request is held open until the test lets go (after the kill).
        receiver.behaviour = lambda request, n: Reply(hold=len(receiver.received) == 1)
        endpoint = endpoint_for(receiver.url)
        for n in range(6):
            record(contoso if n % 2 == 0 else fabrikam, n)

        first = Worker(tmp_path / "first.log", PARTNERDESK_WEBHOOKS_TIMEOUT="30")
        try:
            wait_until(
                lambda: receiver.requests() or first.check_alive(),
                within=60,
                failure=lambda: f"nothing was sent within 60 s:\n{first.output()}",
            )
            held = receiver.requests()[0]
            in_flight = WebhookDelivery.objects.get(event__uid=held.msg_id)
            assert in_flight.state == DeliveryState.PENDING and in_flight.leased_until
        finally:
            first.kill()  # SIGKILL while the request is open: no handler runs
        receiver.released.set()
        in_flight.refresh_from_db()
        assert in_flight.state == DeliveryState.PENDING  # never delivered before the 2xx
        assert not in_flight.attempt_rows.exists()

        with Worker(tmp_path / "second.log") as second:
            wait_delivered(endpoint, 6, second)
        arrivals = receiver.requests()
    events = set(Event.objects.values_list("uid", flat=True))
    assert {r.msg_id for r in arrivals} == {str(uid) for uid in events}  # every one
    again = [r for r in arrivals if r.msg_id == held.msg_id]
    assert len(again) == 2 and again[0].body == again[1].body  # the same id, the same body
    # Sent twice: the one held open, and at most one more (fabrikam's, in flight at the
    # kill: one delivery per endpoint and organization is); the rest once.
    assert 7 <= len(arrivals) <= 8
    assert_in_order_per_organization(first_arrivals(receiver))
    in_flight.refresh_from_db()
    assert in_flight.state == DeliveryState.DELIVERED and in_flight.attempts == 1


def test_an_endpoint_that_keeps_failing_is_failing_the_operators_are_told_and_it_resumes(
    transactional_db, tmp_path
):
    UserFactory(organization=None, is_staff=True, is_superuser=True, email="root@vendor.example")
    UserFactory(organization=None, is_staff=True, email="staff@vendor.example")  # not told
    contoso, fabrikam = OrganizationFactory(), OrganizationFactory()
    up = {"answer": 500}
    with Receiver() as receiver:
        receiver.behaviour = lambda request, n: Reply(up["answer"], b"down for maintenance")
        endpoint = endpoint_for(receiver.url, description="CRM")
        record(contoso, 0)
        record(contoso, 1)
        with Worker(tmp_path / "worker.log") as worker:
            wait_until(
                lambda: (
                    WebhookEndpoint.objects.filter(
                        pk=endpoint.pk, state=EndpointState.FAILING
                    ).exists()
                    or worker.check_alive()
                ),
                within=60,
                failure=lambda: f"not failing within 60 s:\n{worker.output()}",
            )
            wait_until(
                lambda: read_mails(worker.mail) or worker.check_alive(),
                within=30,
                failure="no e-mail to the operators",
            )
            failed, waiting = endpoint.deliveries.order_by("position")
            assert failed.state == DeliveryState.FAILED and failed.attempts == 4  # 1 + 3 retries
            assert waiting.state == DeliveryState.PENDING and waiting.attempts == 0
            tries = len(receiver.requests())
            assert tries == 4
            endpoint.refresh_from_db()
            assert "500" in endpoint.failure_reason and endpoint.failing_since
            [mail] = read_mails(worker.mail)
            assert mail["to"] == "root@vendor.example"
            assert endpoint.url in mail["subject"]
            assert f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/" in mail["body"]

            time.sleep(0.5)
            assert len(receiver.requests()) == tries  # a failing endpoint is sent nothing

            up["answer"] = 200
            webhook_endpoint_resume(endpoint_id=endpoint.pk, operator=None)
            wait_delivered(endpoint, 2, worker)
            record(fabrikam, 2)
            wait_delivered(endpoint, 3, worker)

            # A replay sends the first event again, with its webhook-id.
            webhook_delivery_replay(delivery_id=failed.pk, operator=None)
            wait_until(
                lambda: len(receiver.requests()) == tries + 4 or worker.check_alive(),
                within=30,
                failure=lambda: f"the replay was not sent:\n{worker.output()}",
            )
            wait_delivered(endpoint, 3, worker)
        after = receiver.requests()[tries:]
    assert [r.json["data"]["n"] for r in after] == [0, 1, 2, 0]
    assert after[0].msg_id == after[3].msg_id
    assert len(read_mails(worker.mail)) == 1  # told once


def test_a_partners_request_reaches_the_crm_as_its_events(transactional_db, tmp_path):
    """End to end: what the services write in their transactions (no hand-made event)
    arrives at the receiver signed, in the order it happened, each matching its type's
    JSON Schema (docs/events.md)."""
    import jsonschema

    from partnerdesk.benefits.models import Entitlement
    from partnerdesk.events.schemas import DATA_SCHEMAS, ENVELOPE
    from partnerdesk.support.services import (
        SupportRequestDraft,
        contract_link,
        support_request_create,
        support_request_withdraw,
    )
    from tests.factories import activate, membership, product

    organization = OrganizationFactory()
    membership(organization, "success_core", program="ai-cloud-2025")
    with Receiver() as receiver:
        endpoint = endpoint_for(receiver.url, organization=organization.partner_id)
        activate(organization)
        user = UserFactory(organization=organization)
        contract = Entitlement.objects.get(
            organization=organization, benefit__code="partner_cloud_support"
        )
        contract_link(user=user, access_id=contract.access_id, contract_id=contract.contract_id)
        opened = support_request_create(
            user=user,
            draft=SupportRequestDraft(
                product_id=product("Azure").pk, severity="B", title="Łódź VM", description="d"
            ),
        )
        support_request_withdraw(user=user, request_id=opened.pk)
        written = Event.objects.filter(organization=organization).count()
        with Worker(tmp_path / "worker.log") as worker:
            wait_delivered(endpoint, written, worker)
        arrived = first_arrivals(receiver)
    for request in receiver.requests():
        Webhook(endpoint.secret).verify(request.body, request.headers)
    for envelope in arrived:
        jsonschema.validate(envelope, ENVELOPE)
        jsonschema.validate(envelope["data"], DATA_SCHEMAS[envelope["type"]])
    assert [e["type"] for e in arrived] == [
        "entitlement.activated",
        "entitlement.activated",
        "support_request.opened",
        "incident.charged",
        "incident.refunded",  # the withdrawal's transaction: the refund, then the status
        "support_request.status_changed",
    ]
    assert arrived[2]["data"]["support_request"]["title"] == "Łódź VM"
    assert [e["data"]["entitlement"]["remaining"] for e in arrived[3:5]] == [1, 2]
    assert arrived[5]["data"]["support_request"]["status"] == "closed"
