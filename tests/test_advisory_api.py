"""Issue 16 through the HTTP API: a request's category and an advisory request's hours.
Opening one reserves the estimate (the benefit's `remaining` goes down, in hours), a
shortfall is a problem+json 409 `hours_insufficient`, engineers log time (partners
cannot, and see only the total), closing settles the reservation against the time logged
(below zero only with the operator's `overdraw`); frontline costs nothing, billing is
given back on closure. Over the Django test client, with bearer tokens, on the real
database."""

import pytest
from django.test import Client

from partnerdesk.accounts.models import AuditEvent
from partnerdesk.api.api import api as ninja_api
from partnerdesk.benefits.models import Entitlement, LedgerEntry
from partnerdesk.support.models import SupportRequest, TimeEntry
from partnerdesk.support.reconcile import reconcile
from tests.factories import (
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    product,
    token_for,
)

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user):
        self.client = Client(headers={"authorization": f"Bearer {token_for(user)}"})

    def get(self, path: str):
        return self.client.get("/api/v1" + path)

    def post(self, path: str, body: dict | None = None, **headers):
        return self.client.post(
            "/api/v1" + path, body or {}, content_type="application/json", headers=headers
        )


@pytest.fixture(autouse=True)
def reconciled(db):
    """Every test ends with the ledger and the requests agreeing."""
    yield
    assert reconcile()[1] == []


@pytest.fixture
def organization():
    organization = OrganizationFactory(name="Contoso")
    membership(organization, "success_core", program="ai-cloud-2025")  # 2 incidents, 5 hours
    activate(organization)
    return organization


@pytest.fixture
def partner(organization):
    return Api(UserFactory(organization=organization))


@pytest.fixture
def engineer_user():
    return UserFactory(organization=None, is_staff=True)


@pytest.fixture
def engineer(engineer_user):
    return Api(engineer_user)


def contract(organization, code: str) -> Entitlement:
    return Entitlement.objects.get(organization=organization, benefit__code=code, state="active")


def body(organization, category: str = "technical", estimate=None, **extra) -> dict:
    """A cloud request, with the IDs of the contract it is charged to (first use)."""
    fields = {
        "product_id": product("Azure").pk,
        "severity": "B",
        "title": f"A {category} question",
        "description": "How should we size the cluster?",
        "category": category,
    }
    code = {"advisory": "advisory_hours", "frontline": None}.get(category, "partner_cloud_support")
    if code is not None:
        e = contract(organization, code)
        fields |= {"contract_id": e.contract_id, "access_id": e.access_id}
    if estimate is not None:
        fields["estimate_hours"] = estimate
    return fields | extra


def benefit(api: Api, code: str) -> dict:
    response = api.get("/benefits")
    assert response.status_code == 200, response.content
    return next(item for item in response.json()["items"] if item["benefit"] == code)


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["status"], problem["code"]) == (status, code)
    assert problem["type"] == f"urn:partnerdesk:problem:{code}"
    assert problem["title"] and problem["detail"]
    return problem


def written() -> tuple:
    return (
        SupportRequest.objects.count(),
        LedgerEntry.objects.count(),
        TimeEntry.objects.count(),
        tuple(Entitlement.objects.order_by("pk").values_list("balance", "used")),
    )


def test_an_advisory_request_reserves_is_logged_and_settles(
    organization, partner, engineer, engineer_user
):
    assert benefit(partner, "advisory_hours")["remaining"] == 5

    created = partner.post("/support-requests", body(organization, "advisory", 1.5))

    assert created.status_code == 201, created.content
    request = created.json()
    assert (request["category"], request["estimate_hours"]) == ("advisory", 1.5)
    assert (request["time_logged_hours"], request["settled"], request["charged"]) == (
        0,
        False,
        True,
    )
    assert request["entitlement_id"] == contract(organization, "advisory_hours").pk
    hours = benefit(partner, "advisory_hours")
    assert (hours["remaining"], hours["used"], hours["unit"]) == (3.5, 1.5, "hours")
    # No incident was charged for it.
    assert benefit(partner, "partner_cloud_support")["remaining"] == 2
    path = f"/support-requests/{request['id']}"

    # An engineer logs time; a partner cannot, not even of their own request.
    first = engineer.post(f"{path}/time-entries", {"minutes": 90, "note": "Sizing workshop"})
    second = engineer.post(f"{path}/time-entries", {"minutes": 30})
    assert_problem(partner.post(f"{path}/time-entries", {"minutes": 30}), 403, "role_required")
    stranger = Api(UserFactory(organization=OrganizationFactory()))
    assert_problem(stranger.post(f"{path}/time-entries", {"minutes": 30}), 404, "not_found")

    assert first.status_code == 201, first.content
    entry = first.json()
    assert (entry["minutes"], entry["note"], entry["engineer"]) == (
        90,
        "Sizing workshop",
        engineer_user.email,
    )
    assert entry["id"] and entry["created_at"]
    assert second.status_code == 201
    assert TimeEntry.objects.filter(support_request_id=request["id"]).count() == 2

    # The partner sees the total, the engineers every entry.
    seen = partner.get(path).json()
    assert (seen["time_logged_hours"], seen["time_entries"]) == (2, None)
    console = engineer.get(path).json()
    assert console["time_logged_hours"] == 2
    assert [(e["minutes"], e["engineer"]) for e in console["time_entries"]] == [
        (90, engineer_user.email),
        (30, engineer_user.email),
    ]
    listed = partner.get("/support-requests").json()["items"]
    assert [(r["category"], r["estimate_hours"], r["time_logged_hours"]) for r in listed] == [
        ("advisory", 1.5, 2)
    ]

    closed = engineer.post(f"{path}/close", {"resolution": "solved"})

    assert closed.status_code == 200, closed.content
    assert (closed.json()["settled"], closed.json()["time_logged_hours"]) == (True, 2)
    hours = benefit(partner, "advisory_hours")
    assert (hours["remaining"], hours["used"]) == (3, 2)
    entries = LedgerEntry.objects.filter(support_request_id=request["id"]).order_by("pk")
    assert [(e.kind, e.delta) for e in entries] == [("reserve", -90), ("settle", -30)]
    assert partner.get(path).json()["settled"] is True
    assert partner.get("/support-requests").json()["items"][0]["settled"] is True
    # Time is not logged on a finished request.
    assert_problem(engineer.post(f"{path}/time-entries", {"minutes": 5}), 409, "request_finished")


def test_unused_reserved_time_goes_back(organization, partner, engineer):
    request = partner.post("/support-requests", body(organization, "advisory", 2)).json()
    engineer.post(f"/support-requests/{request['id']}/time-entries", {"minutes": 45})

    closed = engineer.post(f"/support-requests/{request['id']}/close", {"resolution": "solved"})

    assert closed.status_code == 200, closed.content
    assert benefit(partner, "advisory_hours")["remaining"] == 4.25
    settle = LedgerEntry.objects.get(support_request_id=request["id"], kind="settle")
    assert settle.delta == 75


def test_hours_to_the_minute(organization, partner, engineer):
    """An estimate is kept to the minute (round(hours * 60)); fractions of an hour come
    back with four decimals."""
    created = partner.post("/support-requests", body(organization, "advisory", 1 / 3))

    assert created.status_code == 201, created.content
    assert created.json()["estimate_hours"] == 0.3333
    assert SupportRequest.objects.get(pk=created.json()["id"]).estimate_minutes == 20
    engineer.post(f"/support-requests/{created.json()['id']}/time-entries", {"minutes": 100})
    assert partner.get(f"/support-requests/{created.json()['id']}").json()[
        "time_logged_hours"
    ] == pytest.approx(1.6667, abs=1e-9)
    assert benefit(partner, "advisory_hours")["remaining"] == 4.6667


def test_hours_insufficient_is_a_problem_and_writes_nothing(organization, partner):
    before = written()

    response = partner.post("/support-requests", body(organization, "advisory", 6))

    problem = assert_problem(response, 409, "hours_insufficient")
    assert "5 hours" in problem["detail"] and "6 hours" in problem["detail"], problem
    assert written() == before
    # What is left is still usable to the minute.
    assert partner.post("/support-requests", body(organization, "advisory", 5)).status_code == 201
    assert benefit(partner, "advisory_hours")["remaining"] == 0
    refused = partner.post("/support-requests", body(organization, "advisory", 0.25))
    assert "0 hours" in assert_problem(refused, 409, "hours_insufficient")["detail"]


def test_hours_insufficient_replays_with_its_idempotency_key(organization, partner):
    request = body(organization, "advisory", 8)

    first = partner.post("/support-requests", request, **{"Idempotency-Key": "adv-1"})
    again = partner.post("/support-requests", request, **{"Idempotency-Key": "adv-1"})

    assert_problem(first, 409, "hours_insufficient")
    assert_problem(again, 409, "hours_insufficient")
    assert again.json() == first.json()


@pytest.mark.parametrize(
    ("category", "estimate", "path"),
    [
        ("advisory", None, "estimate_hours"),  # the estimate is required
        ("technical", 1, "estimate_hours"),  # and only advisory requests take one
        ("advisory", 0, "estimate_hours"),  # at least a minute
        ("advisory", 0.01, "estimate_hours"),
        ("advisory", 41, "estimate_hours"),  # at most a working week
        ("consulting", None, "category"),  # no such category
    ],
)
def test_estimates_and_categories_refused(organization, partner, category, estimate, path):
    before = written()
    fields = body(organization, "advisory" if category == "consulting" else category, estimate)
    fields["category"] = category

    problem = assert_problem(partner.post("/support-requests", fields), 422, "validation_error")

    assert [e["path"] for e in problem["errors"]] == [path], problem
    assert written() == before


def test_an_overrun_needs_the_operators_override(organization, partner, engineer, engineer_user):
    request = partner.post("/support-requests", body(organization, "advisory", 4)).json()
    path = f"/support-requests/{request['id']}"
    for minutes in (240, 180):  # 7 hours logged against 4 reserved, with 1 hour left
        assert engineer.post(f"{path}/time-entries", {"minutes": minutes}).status_code == 201

    refused = engineer.post(f"{path}/close", {"resolution": "solved"})

    problem = assert_problem(refused, 409, "hours_insufficient")
    assert "7 hours" in problem["detail"] and "1 hour" in problem["detail"], problem
    assert engineer.get(path).json()["status"] != "resolved"
    assert benefit(partner, "advisory_hours")["remaining"] == 1

    closed = engineer.post(f"{path}/close", {"resolution": "solved", "overdraw": True})

    assert closed.status_code == 200, closed.content
    assert closed.json()["settled"] is True
    hours = benefit(partner, "advisory_hours")
    # Two hours below zero: nothing remains, 7 of the 5 hours are used.
    assert (hours["remaining"], hours["used"], hours["allowance"]) == (0, 7, 5)
    hours_contract = contract(organization, "advisory_hours")
    assert (hours_contract.balance, hours_contract.overdrawn) == (-120, True)
    settle = LedgerEntry.objects.get(support_request_id=request["id"], kind="settle")
    assert (settle.delta, settle.overdraw, settle.actor_id) == (-180, True, engineer_user.pk)
    assert AuditEvent.objects.filter(
        action="hours.overdrawn", actor=engineer_user, target_id=str(request["id"])
    ).exists()
    # Below zero, no new advisory request can be opened.
    again = partner.post("/support-requests", body(organization, "advisory", 0.5))
    assert_problem(again, 409, "hours_insufficient")


def test_overdraw_is_not_needed_when_the_hours_cover_it(organization, partner, engineer):
    request = partner.post("/support-requests", body(organization, "advisory", 1)).json()
    engineer.post(f"/support-requests/{request['id']}/time-entries", {"minutes": 90})

    closed = engineer.post(
        f"/support-requests/{request['id']}/close", {"resolution": "solved", "overdraw": True}
    )

    assert closed.status_code == 200, closed.content
    settle = LedgerEntry.objects.get(support_request_id=request["id"], kind="settle")
    assert (settle.delta, settle.overdraw) == (-30, False)
    assert not contract(organization, "advisory_hours").overdrawn
    assert benefit(partner, "advisory_hours")["remaining"] == 3.5


def test_a_frontline_question_costs_nothing(organization, partner, engineer):
    before = [
        benefit(partner, code)["remaining"] for code in ("partner_cloud_support", "advisory_hours")
    ]

    created = partner.post("/support-requests", body(organization, "frontline"))

    assert created.status_code == 201, created.content
    request = created.json()
    assert (request["category"], request["charged"], request["entitlement_id"]) == (
        "frontline",
        False,
        None,
    )
    assert request["estimate_hours"] is None
    assert [
        benefit(partner, code)["remaining"] for code in ("partner_cloud_support", "advisory_hours")
    ] == before
    assert not LedgerEntry.objects.filter(support_request_id=request["id"]).exists()
    # Time is logged on advisory requests only.
    refused = engineer.post(f"/support-requests/{request['id']}/time-entries", {"minutes": 10})
    assert [e["path"] for e in assert_problem(refused, 422, "validation_error")["errors"]] == [
        "minutes"
    ]
    closed = engineer.post(f"/support-requests/{request['id']}/close", {"resolution": "solved"})
    assert (closed.json()["refunded"], closed.json()["settled"]) == (False, False)


def test_billing_is_given_back_when_closed(organization, partner, engineer):
    created = partner.post("/support-requests", body(organization, "billing"))
    assert created.status_code == 201, created.content
    request = created.json()
    assert (request["category"], request["charged"]) == ("billing", True)
    assert benefit(partner, "partner_cloud_support")["remaining"] == 1

    closed = engineer.post(f"/support-requests/{request['id']}/close", {"resolution": "solved"})

    assert closed.status_code == 200, closed.content
    assert (closed.json()["refunded"], closed.json()["category"]) == (True, "billing")
    assert benefit(partner, "partner_cloud_support")["remaining"] == 2


def test_a_technical_request_solved_keeps_its_incident(organization, partner, engineer):
    created = partner.post("/support-requests", body(organization))
    request = created.json()
    assert (request["category"], request["estimate_hours"], request["time_logged_hours"]) == (
        "technical",
        None,
        0,
    )

    closed = engineer.post(f"/support-requests/{request['id']}/close", {"resolution": "solved"})

    assert closed.json()["refunded"] is False
    assert benefit(partner, "partner_cloud_support")["remaining"] == 1


def test_requests_from_before_categories_read_as_technical(organization, partner):
    created = partner.post("/support-requests", body(organization)).json()
    SupportRequest.objects.filter(pk=created["id"]).update(category=None)

    assert partner.get(f"/support-requests/{created['id']}").json()["category"] == "technical"
    assert partner.get("/support-requests").json()["items"][0]["category"] == "technical"


def test_the_openapi_document_describes_it():
    document = ninja_api.get_openapi_schema()
    paths = document["paths"]
    create = paths["/api/v1/support-requests"]["post"]
    close = paths["/api/v1/support-requests/{request_id}/close"]["post"]
    time = paths["/api/v1/support-requests/{request_id}/time-entries"]["post"]

    assert {"201", "409", "422"} <= set(map(str, create["responses"]))
    assert "409" in set(map(str, close["responses"]))
    assert {"201", "403", "404", "409", "422"} <= set(map(str, time["responses"]))
    schemas = document["components"]["schemas"]
    request_in = schemas["SupportRequestIn"]["properties"]
    assert request_in["category"]["enum"] == ["technical", "billing", "frontline", "advisory"]
    assert "estimate_hours" in request_in
    assert "overdraw" in schemas["CloseIn"]["properties"]
    out = schemas["SupportRequestOut"]["properties"]
    assert {"category", "estimate_hours", "time_logged_hours", "settled"} <= set(out)
    assert "time_entries" in schemas["SupportRequestDetail"]["properties"]
