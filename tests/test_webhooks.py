"""Webhooks in one process: where a webhook may go (SSRF: loopback, private ranges,
link-local, a name that resolves to loopback, http in production, redirects), what is
sent (signed, to the checked address), the fan-out's filters and the order per
organization, the operators' API (operator token only, 201 with id and secret,
validation errors, deliveries with their answers, replay, resume, delete) and the admin.
The worker's side, with real worker processes, is in test_webhooks_delivery.py."""

from __future__ import annotations

import base64
import datetime

import pytest
import requests
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from partnerdesk.accounts.services import api_token_create
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.events.models import Event, EventType
from partnerdesk.events.selectors import event_envelope
from partnerdesk.events.services import event_record, events_publish_all
from partnerdesk.webhooks import services
from partnerdesk.webhooks.models import (
    DeliveryState,
    EndpointState,
    WebhookDelivery,
    WebhookEndpoint,
)
from partnerdesk.webhooks.sending import PinnedAdapter
from partnerdesk.webhooks.services import EndpointDraft, webhook_endpoint_create
from partnerdesk.webhooks.targets import webhook_target
from tests.factories import OrganizationFactory, UserFactory, token_for
from tests.webhook_receiver import Receiver, Reply

PUBLIC = "https://93.184.215.14/hooks"  # an address literal: checked, never connected to


def record(organization, type=EventType.INCIDENT_CHARGED, **data) -> None:
    with transaction.atomic():
        event_record(type=type, organization_id=organization.pk, data=data)


def endpoint_for(url: str, **draft) -> WebhookEndpoint:
    return webhook_endpoint_create(operator=None, draft=EndpointDraft(url=url, **draft))


def refusal(url: str) -> str:
    with pytest.raises(ValidationFailed) as refused:
        webhook_target(url)
    [error] = refused.value.errors
    assert error["path"] == "url"
    return error["message"]


# --- SSRF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/", "127.0.0.1, a loopback address"),
        ("https://127.8.9.10:8443/x", "127.8.9.10, a loopback address"),
        ("https://[::1]/", "::1, a loopback address"),
        ("https://localhost/", "a loopback address"),
        ("https://localhost./", "a loopback address"),
        ("https://10.0.0.1/", "10.0.0.1, a private address"),
        ("https://10.255.255.254/", "a private address"),
        ("https://172.16.0.1/", "172.16.0.1, a private address"),
        ("https://172.31.255.255/", "a private address"),
        ("https://192.168.1.20/", "192.168.1.20, a private address"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254, a link-local address"),
        ("https://[fe80::1]/", "a link-local address"),
        ("https://[fd00::1]/", "a private address"),
        ("https://[::ffff:10.0.0.1]/", "a private address"),
        ("https://[::ffff:127.0.0.1]/", "a loopback address"),
        ("https://0.0.0.0/", "the unspecified address"),
        ("https://[::]/", "the unspecified address"),
        ("https://224.0.0.1/", "a multicast address"),
        ("https://100.64.0.1/", "not public"),
        ("https://2130706433/", "127.0.0.1, a loopback address"),  # 127.0.0.1 as one number
    ],
)
def test_a_webhook_to_a_non_public_address_is_refused(settings, url, reason):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = False
    assert reason in refusal(url)


def test_only_public_addresses_pass_and_the_edges_of_the_ranges_are_public(settings):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = False
    for url in ("https://172.32.0.1/", "https://172.15.255.255/", "https://11.0.0.1/", PUBLIC):
        assert webhook_target(url).address == url.split("/")[2]


def test_http_is_refused_in_production_and_not_a_url_at_all(settings):
    settings.DEBUG = False
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True  # for public addresses, https still
    assert refusal("http://93.184.215.14/hooks") == "The URL must start with https://."
    assert refusal("ftp://93.184.215.14/") == "The URL must start with https://."
    assert "user name or password" in refusal("https://u:p@93.184.215.14/")
    assert refusal("https:///path") == "The URL has no host."
    assert "could not be resolved" in refusal("https://no-such-host.invalid/")
    settings.DEBUG = True
    assert webhook_target("http://93.184.215.14/hooks").scheme == "http"


def test_allow_private_opens_loopback_and_private_ranges_but_never_the_metadata_service(
    settings,
):
    settings.DEBUG = False
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True
    assert webhook_target("http://127.0.0.1:9/x").address == "127.0.0.1"
    assert webhook_target("https://10.1.2.3/").address == "10.1.2.3"
    assert webhook_target("https://[::1]:8443/").pinned_url == "https://[::1]:8443/"
    assert "link-local" in refusal("https://169.254.169.254/")
    assert "link-local" in refusal("http://[fe80::1]/")
    assert "unspecified" in refusal("http://0.0.0.0/")


def test_registration_refuses_with_the_path_url_and_all_problems_at_once(db, settings):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(ValidationFailed) as refused:
        endpoint_for(
            "https://192.168.0.10/hook",
            event_types=["incident.charged", "no.such"],
            organization="nobody",
            secret="whsec_c2hvcnQ=",
        )
    paths = [e["path"] for e in refused.value.errors]
    assert paths == ["url", "events[1]", "organization", "secret"]
    assert not WebhookEndpoint.objects.exists()


def test_a_secret_is_generated_as_standard_webhooks_expects(db, settings):
    endpoint = endpoint_for(PUBLIC)
    assert endpoint.secret.startswith("whsec_")
    assert len(base64.b64decode(endpoint.secret[len("whsec_") :])) == 32
    assert endpoint_for(PUBLIC).secret != endpoint.secret
    Webhook(endpoint.secret).sign("msg", timezone.now(), b"{}")  # a key the library takes


def test_the_connection_goes_to_the_checked_address_with_the_name_in_host_and_sni(db, settings):
    """DNS rebinding: the URL's name is resolved once, checked, and connected to as
    that address; the name goes in the Host header (and, for https, SNI and the
    certificate check)."""
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True
    with Receiver() as receiver:
        endpoint = endpoint_for(f"http://localhost:{receiver.port}/by-name")
        target = webhook_target(endpoint.url)
        assert target.address in {"127.0.0.1", "::1"}
        if target.address == "::1":
            pytest.skip("localhost resolves to ::1 first here; the receiver listens on IPv4")
        record(OrganizationFactory())
        events_publish_all()
        assert services.webhooks_deliver_due(budget=10)["delivered"] == 1
        [request] = receiver.requests()
    assert request.path == "/by-name"
    assert request.headers["host"] == f"localhost:{receiver.port}"

    adapter = PinnedAdapter("hooks.example")
    prepared = requests.Request("POST", "https://93.184.215.14/h").prepare()
    host, pool = adapter.build_connection_pool_key_attributes(prepared, True)
    assert host["host"] == "93.184.215.14"
    assert pool["server_hostname"] == pool["assert_hostname"] == "hooks.example"


def test_the_address_is_checked_again_at_every_attempt(db, settings):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True
    with Receiver() as receiver:
        endpoint_for(receiver.url)
        record(OrganizationFactory())
        events_publish_all()
        settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = False  # as if the name moved
        assert services.webhooks_deliver_due(budget=10)["delivered"] == 0
        assert receiver.requests() == []
    delivery = WebhookDelivery.objects.get()
    [attempt] = delivery.attempt_rows.all()
    assert attempt.status_code is None and "a loopback address" in attempt.error
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1


def test_a_redirect_is_not_followed_and_is_a_failed_attempt(db, settings):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True
    with Receiver() as receiver:
        receiver.behaviour = lambda request, n: (
            Reply(302, headers={"Location": f"{receiver.url}/elsewhere"})
            if request.path == "/hook"
            else Reply(200)
        )
        endpoint_for(f"{receiver.url}/hook")
        record(OrganizationFactory())
        events_publish_all()
        services.webhooks_deliver_due(budget=10)
        assert [r.path for r in receiver.requests()] == ["/hook"]
    delivery = WebhookDelivery.objects.get()
    [attempt] = delivery.attempt_rows.all()
    assert attempt.status_code == 302
    assert "/elsewhere" in attempt.error and "not followed" in attempt.error
    assert delivery.state == DeliveryState.PENDING and delivery.delivered_at is None


# --- fan-out and order ----------------------------------------------------------------------


def test_the_fan_out_follows_types_and_organization_and_starts_at_registration(db, settings):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True
    contoso, fabrikam = OrganizationFactory(), OrganizationFactory()
    record(contoso, note="before any endpoint")
    events_publish_all()
    everything = endpoint_for("http://127.0.0.1:9/all")
    charged = endpoint_for("http://127.0.0.1:9/c", event_types=["incident.charged"])
    only_contoso = endpoint_for("http://127.0.0.1:9/o", organization=contoso.partner_id)
    record(contoso)
    record(fabrikam)
    record(contoso, type=EventType.BALANCE_LOW)
    events_publish_all()
    assert services.webhooks_fan_out() == 3 + 2 + 2
    assert services.webhooks_fan_out() == 0  # the cursors moved on

    def positions(endpoint):
        return list(endpoint.deliveries.order_by("position").values_list("position", flat=True))

    last = Event.objects.order_by("position").values_list("position", flat=True)
    first, second, third = list(last)[1:]
    assert positions(everything) == [first, second, third]
    assert positions(charged) == [first, second]
    assert positions(only_contoso) == [first, third]
    everything.refresh_from_db()
    assert everything.cursor == third


def test_only_the_oldest_pending_delivery_per_endpoint_and_organization_is_due(db, settings):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True
    contoso, fabrikam = OrganizationFactory(), OrganizationFactory()
    endpoint = endpoint_for("http://127.0.0.1:9/all")
    for _ in range(3):
        record(contoso)
        record(fabrikam)
    events_publish_all()
    services.webhooks_fan_out()
    now = timezone.now()
    heads = services.deliveries_due(now).order_by("position")
    first_contoso, first_fabrikam = endpoint.deliveries.order_by("position")[:2]
    assert list(heads) == [first_contoso, first_fabrikam]
    # The head waiting for its retry holds back its organization's later events.
    WebhookDelivery.objects.filter(pk=first_contoso.pk).update(
        next_attempt_at=now + datetime.timedelta(minutes=5)
    )
    assert list(services.deliveries_due(now)) == [first_fabrikam]
    # In flight (leased by a worker): the same.
    WebhookDelivery.objects.filter(pk=first_fabrikam.pk).update(
        leased_until=now + datetime.timedelta(minutes=1)
    )
    assert list(services.deliveries_due(now)) == []
    # A failing endpoint sends nothing.
    WebhookDelivery.objects.update(next_attempt_at=now, leased_until=None)
    WebhookEndpoint.objects.update(state=EndpointState.FAILING)
    assert list(services.deliveries_due(now)) == []


def test_what_is_sent_is_the_envelope_signed(db, settings):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True
    contoso = OrganizationFactory()
    with Receiver() as receiver:
        endpoint = endpoint_for(receiver.url)
        record(contoso, text="Zażółć gęślą jaźń — Привет")
        events_publish_all()
        services.webhooks_deliver_due(budget=10)
        [request] = receiver.requests()
    event = Event.objects.get()
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload == event_envelope(event)
    assert request.msg_id == str(event.uid)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("partnerdesk-webhooks/")
    with pytest.raises(Exception, match="signature"):
        Webhook(services.webhook_secret_generate()).verify(request.body, request.headers)


# --- the operators' API ---------------------------------------------------------------------


class Api:
    def __init__(self, base: str, token: str | None) -> None:
        self.base = base + "/api/v1/admin/webhooks"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def __call__(self, method: str, path: str = "", **kwargs) -> requests.Response:
        return requests.request(
            method, self.base + path, headers=self.headers, timeout=10, **kwargs
        )


def operator_token() -> str:
    operator = UserFactory(organization=None, is_staff=True, email="ops@vendor.example")
    return api_token_create(user=operator, name="ops", scopes=["operator"])


def assert_problem(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    return body


def test_only_an_operator_token_opens_the_webhook_endpoints(live_server):
    partner = UserFactory(is_global_admin=True)
    staff = UserFactory(organization=None, is_staff=True, email="staff@vendor.example")
    body = {"url": PUBLIC, "events": []}
    for token in (token_for(partner), token_for(staff)):
        api = Api(live_server.url, token)
        assert_problem(api("POST", json=body), 403, "operator_required")
        assert_problem(api("GET"), 403, "operator_required")
        assert_problem(api("GET", "/1/deliveries"), 403, "operator_required")
        assert_problem(api("POST", "/deliveries/1/replay"), 403, "operator_required")
        assert_problem(api("POST", "/1/resume"), 403, "operator_required")
        assert_problem(api("DELETE", "/1"), 403, "operator_required")
    assert_problem(Api(live_server.url, None)("POST", json=body), 401, "not_authenticated")
    assert not WebhookEndpoint.objects.exists()


def test_an_operator_registers_a_webhook_and_gets_its_id_and_secret(live_server, settings):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = False
    contoso = OrganizationFactory()
    api = Api(live_server.url, operator_token())
    created = api(
        "POST",
        json={
            "url": PUBLIC,
            "events": ["incident.charged", "balance.low"],
            "organization": contoso.partner_id,
            "description": "CRM",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["id"] == endpoint.pk and body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["incident.charged", "balance.low"]
    assert body["organization"] == contoso.partner_id and body["state"] == "active"
    assert endpoint.created_by.email == "ops@vendor.example"

    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    again = api("POST", json={"url": PUBLIC, "events": [], "secret": secret})
    assert again.status_code == 201 and again.json()["secret"] == secret

    listed = api("GET").json()["items"]
    assert [e["id"] for e in listed] == [body["id"], again.json()["id"]]
    assert "secret" not in listed[0]
    assert api("GET", f"/{body['id']}").json()["secret"] == body["secret"]
    assert_problem(api("GET", "/999999"), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"url": "https://127.0.0.1/h", "events": []}, "url", "a loopback address"),
        ({"url": "https://10.0.0.8/h", "events": []}, "url", "a private address"),
        ({"url": "https://169.254.169.254/", "events": []}, "url", "link-local"),
        ({"url": "https://localhost/h", "events": []}, "url", "a loopback address"),
        ({"url": "http://93.184.215.14/h", "events": []}, "url", "https://"),
        ({"url": PUBLIC, "events": ["nope"]}, "events[0]", ""),
        ({"url": PUBLIC, "events": [], "organization": "404404"}, "organization", "partner ID"),
        ({"url": PUBLIC, "events": [], "secret": "hunter2"}, "secret", "whsec_"),
        ({"url": PUBLIC, "events": [], "secret": "whsec_c2hvcnQ="}, "secret", "24 to 64"),
        ({"events": []}, "url", ""),
    ],
)
def test_a_registration_that_is_not_valid_is_a_validation_error(
    live_server, settings, body, path, message
):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = False
    settings.DEBUG = False
    problem = assert_problem(Api(live_server.url, operator_token())("POST", json=body), 422,
                             "validation_error")  # fmt: skip
    assert [e["path"] for e in problem["errors"]] == [path]
    assert message in problem["errors"][0]["message"]
    assert not WebhookEndpoint.objects.exists()


def test_deliveries_are_listed_with_the_answers_and_replayed(live_server, settings):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True
    api = Api(live_server.url, operator_token())
    contoso = OrganizationFactory()
    with Receiver() as receiver:
        receiver.behaviour = lambda request, n: (
            Reply(503, b"busy") if n == 1 else Reply(200, b"thanks")
        )
        created = api("POST", json={"url": receiver.url + "/in", "events": []}).json()
        record(contoso)
        events_publish_all()
        services.webhooks_deliver_due(budget=10)
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())  # the retry is due
        services.webhooks_deliver_due(budget=10)
        assert len(receiver.requests()) == 2

        [delivery] = api("GET", f"/{created['id']}/deliveries").json()["items"]
        assert delivery["state"] == "delivered" and delivery["attempts"] == 2
        assert delivery["event"]["organization"] == contoso.partner_id
        answers = [(a["status_code"], a["response_body"]) for a in delivery["answers"]]
        assert answers == [(503, "busy"), (200, "thanks")]
        assert api("GET", f"/{created['id']}/deliveries?state=pending").json()["items"] == []

        replayed = api("POST", f"/deliveries/{delivery['id']}/replay")
        assert replayed.status_code == 202, replayed.text
        assert replayed.json()["state"] == "pending"
        assert_problem(
            api("POST", f"/deliveries/{delivery['id']}/replay"), 409, "webhook_delivery_pending"
        )
        services.webhooks_deliver_due(budget=10)
        requests_ = receiver.requests()
        assert len(requests_) == 3 and len({r.msg_id for r in requests_}) == 1

        assert api("DELETE", f"/{created['id']}").status_code == 204
        assert api("GET", f"/{created['id']}").json()["state"] == "disabled"
        assert_problem(api("POST", f"/{created['id']}/resume"), 409, "webhook_disabled")
        assert_problem(api("POST", f"/deliveries/{delivery['id']}/replay"), 409, "webhook_disabled")
        record(contoso)
        events_publish_all()
        assert services.webhooks_deliver_due(budget=10) == {
            "created": 0,
            "attempted": 0,
            "delivered": 0,
        }
    assert_problem(api("POST", "/deliveries/999999/replay"), 404, "not_found")


def test_a_failing_endpoint_is_resumed_through_the_api(live_server, settings):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True
    settings.PARTNERDESK_WEBHOOKS_RETRY_SCHEDULE = "0"
    api = Api(live_server.url, operator_token())
    with Receiver() as receiver:
        receiver.behaviour = lambda request, n: Reply(500) if n <= 2 else Reply(200)
        created = api("POST", json={"url": receiver.url, "events": []}).json()
        record(OrganizationFactory())
        events_publish_all()
        services.webhooks_deliver_due(budget=10)
        failing = api("GET", f"/{created['id']}").json()
        assert failing["state"] == "failing" and "500" in failing["failure_reason"]
        assert WebhookDelivery.objects.get().state == DeliveryState.FAILED

        resumed = api("POST", f"/{created['id']}/resume")
        assert resumed.status_code == 200 and resumed.json()["state"] == "active"
        services.webhooks_deliver_due(budget=10)
        assert len(receiver.requests()) == 3
    assert WebhookDelivery.objects.get().state == DeliveryState.DELIVERED


# --- the admin ------------------------------------------------------------------------------


@pytest.fixture
def admin_client(db):
    superuser = UserFactory(
        organization=None, is_staff=True, is_superuser=True, email="root@vendor.example"
    )
    client = Client()
    client.force_login(superuser)
    return client


def test_the_admin_registers_an_endpoint_and_refuses_a_private_url(admin_client, settings):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = False
    add = reverse("admin:webhooks_webhookendpoint_add")
    assert admin_client.get(add).status_code == 200
    refused = admin_client.post(add, {"url": "https://169.254.169.254/", "description": ""})
    assert refused.status_code == 200
    assert "link-local" in refused.content.decode()
    assert not WebhookEndpoint.objects.exists()

    created = admin_client.post(
        add, {"url": PUBLIC, "event_types": ["incident.charged"], "description": "CRM"}
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.event_types == ["incident.charged"]
    change = admin_client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]))
    assert endpoint.secret in change.content.decode()


def test_the_admin_shows_a_failing_endpoint_resumes_it_and_replays(admin_client, settings):
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True
    endpoint = endpoint_for("http://127.0.0.1:9/down")
    record(OrganizationFactory())
    events_publish_all()
    services.webhooks_fan_out()
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.update(state=DeliveryState.FAILED, attempts=4)
    WebhookEndpoint.objects.update(state=EndpointState.FAILING, failing_since=timezone.now())

    changelist = reverse("admin:webhooks_webhookendpoint_changelist")
    page = admin_client.get(changelist).content.decode()
    assert "1 webhook endpoint is failing" in page and endpoint.url in page
    admin_client.post(changelist, {"action": "resume", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert endpoint.state == EndpointState.ACTIVE and delivery.state == DeliveryState.PENDING

    WebhookDelivery.objects.update(state=DeliveryState.DELIVERED, delivered_at=timezone.now())
    deliveries = reverse("admin:webhooks_webhookdelivery_changelist")
    assert admin_client.get(deliveries).status_code == 200
    detail = reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk])
    assert admin_client.get(detail).status_code == 200
    admin_client.post(deliveries, {"action": "replay", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING and delivery.delivered_at is None
