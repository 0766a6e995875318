"""Issue 17's outbox: every change others care about writes its event in the change's own
transaction (a refused change leaves none), each event matches its type's JSON Schema as
docs/events.md shows it, positions are given in commit order (a cursor never steps over
an event that committed late), and the feed `GET /api/v1/events` is scoped to the
caller's organization, every organization's for an operator's token."""

from __future__ import annotations

import datetime
import json
import threading
from pathlib import Path

import jsonschema
import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone

from partnerdesk.accounts.services import api_token_create
from partnerdesk.benefits.exceptions import IncidentsExhausted
from partnerdesk.benefits.models import Entitlement
from partnerdesk.events.models import Event, EventType
from partnerdesk.events.schemas import DATA_SCHEMAS, ENVELOPE
from partnerdesk.events.selectors import event_envelope
from partnerdesk.events.services import event_record, events_publish, events_publish_all
from partnerdesk.notices.services import notices_send_due
from partnerdesk.onboarding.program_move import program_move
from partnerdesk.support.assignment import support_request_assign, support_request_pick_up
from partnerdesk.support.services import (
    SupportRequestDraft,
    support_request_close,
    support_request_create,
    support_request_withdraw,
    time_entry_add,
)
from tests.factories import OrganizationFactory, UserFactory, activate, membership, product
from tests.test_hours import partner_user

pytestmark = pytest.mark.django_db(transaction=True)

DOCS = Path(__file__).resolve().parent.parent / "docs" / "events.md"


@pytest.fixture(autouse=True)
def every_event_matches_its_schema():
    """Whatever a test writes, each event (published at the end) is valid."""
    yield
    events_publish_all()
    for event in Event.objects.select_related("organization"):
        envelope = event_envelope(event)
        jsonschema.validate(envelope, ENVELOPE)
        jsonschema.validate(envelope["data"], DATA_SCHEMAS[event.type])


def draft(category="technical", estimate=None, title="A question"):
    return SupportRequestDraft(
        product_id=product("Azure").pk,
        severity="B",
        title=title,
        description="d",
        category=category,
        estimate_minutes=estimate,
    )


def types_of(organization) -> list[str]:
    return list(
        Event.objects.filter(organization=organization)
        .order_by("id")
        .values_list("type", flat=True)
    )


def data_of(organization, type_: str) -> list[dict]:
    return list(
        Event.objects.filter(organization=organization, type=type_)
        .order_by("id")
        .values_list("data", flat=True)
    )


def test_activation_writes_entitlement_activated():
    organization = OrganizationFactory()
    membership(organization, "success_core", program="ai-cloud-2025")
    activate(organization)
    activated = data_of(organization, EventType.ENTITLEMENT_ACTIVATED)
    benefits = sorted(d["entitlement"]["benefit"] for d in activated)
    assert benefits == ["advisory_hours", "partner_cloud_support"]
    hours = next(d for d in activated if d["entitlement"]["unit"] == "hours")
    assert hours["entitlement"]["allowance"] == 5  # hours, not the ledger's minutes
    assert hours["entitlement"]["program"] == "ai-cloud-2025"
    assert hours["approved_by_operator"] is True


def test_a_request_charged_to_the_end_tells_opened_charged_and_exhausted():
    user = partner_user()
    organization = user.organization
    first = support_request_create(user=user, draft=draft(title="First"))
    support_request_create(user=user, draft=draft(title="Second"))
    assert types_of(organization)[-5:] == [
        "support_request.opened",
        "incident.charged",
        "support_request.opened",
        "incident.charged",
        "entitlement.exhausted",
    ]
    charged = data_of(organization, EventType.INCIDENT_CHARGED)
    assert [c["entitlement"]["remaining"] for c in charged] == [1, 0]
    assert charged[0]["support_request"]["id"] == first.pk
    assert charged[0]["support_request"]["title"] == "First"
    # A refusal writes nothing, not even its request's opened event.
    before = Event.objects.count()
    with pytest.raises(IncidentsExhausted):
        support_request_create(user=user, draft=draft(title="Third"))
    assert Event.objects.count() == before


def test_withdraw_and_close_tell_their_status_and_refunds():
    user = partner_user()
    organization = user.organization
    engineer = UserFactory(organization=None, is_staff=True)
    withdrawn = support_request_create(user=user, draft=draft(title="Withdrawn"))
    support_request_withdraw(user=user, request_id=withdrawn.pk)
    duplicate = support_request_create(user=user, draft=draft(title="Duplicate"))
    support_request_pick_up(engineer=engineer, request_id=duplicate.pk)
    support_request_assign(engineer=engineer, request_id=duplicate.pk, assignee_email=None)
    support_request_close(engineer=engineer, request_id=duplicate.pk, resolution="duplicate")
    changes = [
        (d["support_request"]["id"], d["previous_status"], d["support_request"]["status"])
        for d in data_of(organization, EventType.SUPPORT_REQUEST_STATUS_CHANGED)
    ]
    assert changes == [
        (withdrawn.pk, "open", "closed"),
        (duplicate.pk, "open", "in_progress"),
        (duplicate.pk, "in_progress", "open"),
        (duplicate.pk, "open", "closed"),
    ]
    refunds = data_of(organization, EventType.INCIDENT_REFUNDED)
    assert [(r["support_request"]["id"], r["reason"]) for r in refunds] == [
        (withdrawn.pk, "withdrawn"),
        (duplicate.pk, "duplicate"),
    ]
    assert [r["entitlement"]["remaining"] for r in refunds] == [2, 2]


def test_advisory_hours_tell_low_and_settled():
    user = partner_user()
    organization = user.organization
    engineer = UserFactory(organization=None, is_staff=True)
    # 4 of the 5 hours reserved: 1 hour left, under a quarter.
    advisory = support_request_create(user=user, draft=draft("advisory", estimate=240))
    low = data_of(organization, EventType.BALANCE_LOW)
    assert [(d["entitlement"]["benefit"], d["entitlement"]["remaining"]) for d in low] == [
        ("advisory_hours", 1)
    ]
    time_entry_add(engineer=engineer, request_id=advisory.pk, minutes=150)
    support_request_close(engineer=engineer, request_id=advisory.pk, resolution="solved")
    (settled,) = data_of(organization, EventType.HOURS_SETTLED)
    assert (settled["reserved_hours"], settled["logged_hours"], settled["settled_hours"]) == (
        4,
        2.5,
        -1.5,
    )
    assert settled["entitlement"]["remaining"] == 2.5
    assert settled["overdrawn"] is False
    assert types_of(organization).count(EventType.BALANCE_LOW) == 1


def test_expiry_notices_tell_entitlement_expiring():
    user = partner_user()
    contract = Entitlement.objects.get(
        organization=user.organization, benefit__code="partner_cloud_support"
    )
    notices_send_due(today=contract.expires_on - datetime.timedelta(days=25))
    (expiring,) = [
        d
        for d in data_of(user.organization, EventType.ENTITLEMENT_EXPIRING)
        if d["entitlement"]["id"] == contract.pk
    ]
    assert (expiring["days_left"], expiring["notice_days"]) == (25, 30)


def test_import_and_program_move_tell_membership_changed(tmp_path):
    today = timezone.localdate()
    record = {
        "partner_id": "4411001",
        "name": "Żółw Sp. z o.o.",
        "programs": ["mpn"],
        "memberships": [
            {
                "offer": "gold",
                "competency": "Data Analytics",
                "starts": (today - datetime.timedelta(days=30)).isoformat(),
                "ends": (today + datetime.timedelta(days=300)).isoformat(),
            }
        ],
    }
    path = tmp_path / "partners.json"
    path.write_text(json.dumps({"organizations": [record]}))
    call_command("import_partners", str(path), verbosity=0)
    call_command("import_partners", str(path), verbosity=0)  # the same again: no event
    organization = Event.objects.get(type=EventType.MEMBERSHIP_CHANGED).organization
    (first,) = data_of(organization, EventType.MEMBERSHIP_CHANGED)
    assert first["partner_id"] == "4411001"
    assert first["reason"] == "import"
    assert [(m["program"], m["offer"], m["competency"]) for m in first["memberships"]] == [
        ("mpn-2021", "gold", "Data Analytics")
    ]
    record["memberships"][0]["ends"] = (today + datetime.timedelta(days=200)).isoformat()
    path.write_text(json.dumps({"organizations": [record]}))
    call_command("import_partners", str(path), verbosity=0)
    program_move(
        partner_id="4411001",
        to_program="ai-cloud-2025",
        on=today,
        offers=[("success_core", None)],
    )
    changes = data_of(organization, EventType.MEMBERSHIP_CHANGED)
    assert [c["reason"] for c in changes] == ["import", "import", "program_move"]
    assert changes[1]["memberships"][0]["ends"] == record["memberships"][0]["ends"]
    assert [m["offer"] for m in changes[2]["memberships"]] == ["gold", "success_core"]


def test_an_event_outside_a_transaction_is_refused():
    organization = OrganizationFactory()
    with pytest.raises(RuntimeError, match="transaction"):
        event_record(type=EventType.MEMBERSHIP_CHANGED, organization_id=organization.pk, data={})
    assert not Event.objects.exists()


def changed(organization, reason: str) -> dict:
    return {"partner_id": organization.partner_id, "reason": reason, "memberships": []}


def test_positions_follow_commits_not_ids():
    """A transaction that took its event's row first but commits last gets the later
    position: a reader that went on from the earlier commit's position still sees it."""
    organization = OrganizationFactory()
    inserted, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_writer():
        try:
            with transaction.atomic():
                event_record(
                    type=EventType.MEMBERSHIP_CHANGED,
                    organization_id=organization.pk,
                    data=changed(organization, "api"),
                )
                inserted.set()
                assert release.wait(30)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    if connection.vendor == "sqlite":
        # One writer at a time: the slow one commits first, the order cannot invert.
        pytest.skip("SQLite serialises writers; there is no late commit to step over")
    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inserted.wait(30)
    with transaction.atomic():
        event_record(
            type=EventType.MEMBERSHIP_CHANGED,
            organization_id=organization.pk,
            data=changed(organization, "admin"),
        )
    assert events_publish() == 1
    fast = Event.objects.get(data__reason="admin")
    release.set()
    thread.join(30)
    assert not thread.is_alive() and errors == []
    assert events_publish() == 1
    slow = Event.objects.get(data__reason="api")
    assert slow.pk < fast.pk  # the row came first
    assert slow.position > fast.position  # but it was published after


def json_block_after(text: str, heading: str) -> dict:
    """The first ```json block after ``heading`` (a whole line) in ``text``."""
    lines = text.splitlines()
    at = lines.index(heading)
    opening = lines.index("```json", at)
    closing = lines.index("```", opening)
    return json.loads("\n".join(lines[opening + 1 : closing]))


def test_docs_show_every_types_schema():
    """docs/events.md has a section per type with its JSON Schema, the code's own."""
    text = DOCS.read_text()
    for type_, schema in DATA_SCHEMAS.items():
        assert json_block_after(text, f"### `{type_}`") == schema, f"{type_}: docs differ"
    assert json_block_after(text, "## The envelope") == ENVELOPE


# The feed


def feed(client: Client, **params):
    response = client.get("/api/v1/events", params)
    return response


def bearer(user, **kwargs) -> Client:
    return Client(headers={"authorization": f"Bearer {api_token_create(user=user, **kwargs)}"})


def test_the_feed_is_the_callers_organizations_and_follows_the_cursor():
    ours, theirs = partner_user(), partner_user()
    support_request_create(user=ours, draft=draft(title="Ours"))
    support_request_create(user=theirs, draft=draft(title="Theirs"))
    client = bearer(ours)
    # Nothing before the publisher ran: the feed reads published positions only.
    assert feed(client).json() == {"items": [], "next_after": 0}
    events_publish_all()
    page = feed(client, limit=2).json()
    assert len(page["items"]) == 2
    assert {e["organization"] for e in page["items"]} == {ours.organization.partner_id}
    rest = feed(client, after=page["next_after"]).json()["items"]
    everything = page["items"] + rest
    assert [e["type"] for e in everything] == types_of(ours.organization)
    assert [e["id"] for e in everything] == sorted(e["id"] for e in everything)
    titles = [
        e["data"]["support_request"]["title"]
        for e in everything
        if e["type"] == "support_request.opened"
    ]
    assert titles == ["Ours"]
    only = feed(client, type="incident.charged").json()["items"]
    assert [e["type"] for e in only] == ["incident.charged"]
    # Another organization's partner ID: not found, as for any of its objects.
    response = feed(client, organization=theirs.organization.partner_id)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_operators_read_every_organization_and_others_are_refused():
    ours, theirs = partner_user(), partner_user()
    support_request_create(user=ours, draft=draft())
    support_request_create(user=theirs, draft=draft())
    events_publish_all()
    staff = UserFactory(organization=None, is_staff=True)
    operator = bearer(staff, scopes=["operator"])
    organizations = {e["organization"] for e in feed(operator, limit=500).json()["items"]}
    assert organizations == {ours.organization.partner_id, theirs.organization.partner_id}
    one = feed(operator, organization=theirs.organization.partner_id).json()["items"]
    assert {e["organization"] for e in one} == {theirs.organization.partner_id}
    # A staff user's plain token has no organization and no operator scope.
    response = feed(bearer(staff))
    assert (response.status_code, response.json()["code"]) == (403, "operator_required")
    assert feed(Client()).status_code == 401


@pytest.mark.parametrize(
    "params, path",
    [({"after": "-1"}, "after"), ({"limit": "0"}, "limit"), ({"type": "incident.eaten"}, "type")],
)
def test_bad_feed_parameters_are_validation_errors(params, path):
    response = feed(bearer(partner_user()), **params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert response["content-type"].startswith("application/problem+json")
    assert any(path in e["path"] for e in body["errors"]), body
