"""Opening support requests: products, first use, charging, every refusal, refunds."""

import datetime

import pytest
import requests
from django.core.management import CommandError, call_command
from django.db.models import Sum

from partnerdesk.api.models import IdempotencyKey
from partnerdesk.benefits.ledger import ledger_post
from partnerdesk.benefits.models import Entitlement, EntitlementState, LedgerEntry
from partnerdesk.benefits.services import entitlements_refresh_due
from partnerdesk.support.models import ContractLink, Product, SupportRequest
from tests.factories import (
    OTHER,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    product,
    token_for,
)


class Api:
    def __init__(self, base: str, user):
        self.base = base + "/api/v1"
        self.headers = {"Authorization": f"Bearer {token_for(user)}"}

    def get(self, path):
        return requests.get(self.base + path, headers=self.headers, timeout=10)

    def post(self, path, json=None, **headers):
        return requests.post(
            self.base + path, json=json, headers={**self.headers, **headers}, timeout=10
        )


@pytest.fixture
def contoso():
    organization = OrganizationFactory(name="Contoso")
    membership(organization, "gold", OTHER)  # product support 20, cloud support 10
    activate(organization)
    return organization


def contract(organization, code="product_support") -> Entitlement:
    return Entitlement.objects.get(organization=organization, benefit__code=code, state="active")


def request_body(prod: Product, entitlement: Entitlement | None = None, **extra) -> dict:
    body = {
        "product_id": prod.pk,
        "severity": "B",
        "title": "Replication fails",
        "description": "Since the last update the replica stays behind.",
        "error_message": "0x80004005",
    }
    if entitlement is not None:
        body |= {"contract_id": entitlement.contract_id, "access_id": entitlement.access_id}
    return body | extra


def written() -> tuple:
    """Everything a refused request must leave untouched."""
    return (
        SupportRequest.objects.count(),
        LedgerEntry.objects.count(),
        ContractLink.objects.count(),
        tuple(Entitlement.objects.order_by("pk").values_list("balance", "used")),
    )


def assert_refused(response, status: int, code: str, before: tuple) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert written() == before, "a refused request wrote something"
    return body


def ledger_is_whole(entitlement: Entitlement) -> bool:
    entitlement.refresh_from_db()
    total = entitlement.ledger_entries.aggregate(t=Sum("delta"))["t"] or 0
    return entitlement.balance == total


# --- products ----------------------------------------------------------------------------


@pytest.fixture
def lineage(today):
    """Fabrikam Server: v1 (N-3), v2 (N-2), v3 (N-1, in mainstream), v4 (N), v5 (future)."""
    d = datetime.timedelta

    def make(version, released, mainstream):
        return Product.objects.create(
            family="Fabrikam Server",
            version=version,
            deployment="on_premises",
            released_on=today - d(days=released),
            mainstream_ends_on=today + d(days=mainstream),
        )

    return {
        "v1": make("1", 3000, -1500),
        "v2": make("2", 2000, 10),  # still in mainstream, but N-2: not entitled
        "v3": make("3", 900, 30),
        "v4": make("4", 100, 1800),
        "v5": Product.objects.create(
            family="Fabrikam Server",
            version="5",
            deployment="on_premises",
            released_on=today + d(days=30),
        ),
        "old": Product.objects.create(
            family="Northwind Server",
            version="8",
            deployment="on_premises",
            released_on=today - d(days=800),
            mainstream_ends_on=today - d(days=1),
        ),
        "new": Product.objects.create(
            family="Northwind Server",
            version="9",
            deployment="on_premises",
            released_on=today - d(days=200),
        ),
    }


def test_products_follow_the_n_and_n_minus_1_rule(live_server, contoso, lineage):
    api = Api(live_server.url, UserFactory(organization=contoso))

    items = {item["id"]: item for item in api.get("/products").json()["items"]}

    entitled = {key: items[p.pk]["entitled"] for key, p in lineage.items()}
    assert entitled == {
        "v1": False,
        "v2": False,
        "v3": True,
        "v4": True,
        "v5": False,
        "old": False,  # N-1 whose mainstream support ended yesterday
        "new": True,
    }
    assert items[product("Azure").pk]["entitled"] is True
    assert items[product("Azure").pk]["deployment"] == "cloud"


@pytest.mark.parametrize(("key", "allowed"), [("v4", True), ("v3", True), ("v2", False)])
def test_n_n1_and_n2_requests(live_server, contoso, lineage, key, allowed):
    user = UserFactory(organization=contoso)
    api = Api(live_server.url, user)
    before = written()

    response = api.post("/support-requests", request_body(lineage[key], contract(contoso)))

    if allowed:
        assert response.status_code == 201, response.text
        assert response.json()["entitlement_id"] == contract(contoso).pk
    else:
        body = assert_refused(response, 409, "product_not_entitled", before)
        assert "can't be used for the selected product" in body["detail"]


# --- charging and first use --------------------------------------------------------------


def test_first_use_links_the_account_and_then_ids_are_not_needed(live_server, contoso):
    user = UserFactory(organization=contoso)
    api = Api(live_server.url, user)
    onprem = product("SQL Server", "2022")
    entitlement = contract(contoso)

    before = written()
    missing = api.post("/support-requests", request_body(onprem))
    assert_refused(missing, 403, "contract_link_required", before)
    wrong = api.post(
        "/support-requests",
        request_body(onprem, contract_id=entitlement.contract_id, access_id="not-it"),
    )
    assert_refused(wrong, 403, "contract_link_required", before)

    first = api.post("/support-requests", request_body(onprem, entitlement))
    second = api.post("/support-requests", request_body(onprem))
    again_with_ids = api.post("/support-requests", request_body(onprem, entitlement))

    assert [r.status_code for r in (first, second, again_with_ids)] == [201, 201, 201]
    assert ContractLink.objects.filter(user=user).count() == 1
    entitlement.refresh_from_db()
    assert (entitlement.used, entitlement.balance) == (3, 17)
    assert first.json()["charged"] is True
    assert first.json()["contract_id"] == entitlement.contract_id


def test_a_personal_account_with_the_ids_can_link_too(live_server, contoso):
    personal = UserFactory(organization=contoso, account_type="personal")
    api = Api(live_server.url, personal)
    response = api.post(
        "/support-requests", request_body(product("Azure"), contract(contoso, "cloud_support"))
    )
    assert response.status_code == 201, response.text


def test_cloud_products_charge_signature_cloud_support(live_server, contoso):
    api = Api(live_server.url, UserFactory(organization=contoso))
    cloud = contract(contoso, "cloud_support")

    response = api.post("/support-requests", request_body(product("Microsoft 365"), cloud))

    assert response.json()["entitlement_id"] == cloud.pk
    cloud.refresh_from_db()
    assert (cloud.used, cloud.balance) == (1, 9)
    assert contract(contoso).used == 0


def test_unlimited_entitlements_record_the_use_without_a_limit(live_server):
    organization = OrganizationFactory()
    membership(organization, "gold", "Cloud Platform")
    activate(organization)
    cloud = contract(organization, "cloud_support")
    api = Api(live_server.url, UserFactory(organization=organization))

    for _ in range(3):
        assert (
            api.post("/support-requests", request_body(product("Azure"), cloud)).status_code == 201
        )

    cloud.refresh_from_db()
    assert (cloud.allowance, cloud.used, cloud.balance, cloud.remaining) == (None, 3, -3, None)
    assert ledger_is_whole(cloud)
    item = api.get(f"/benefits/{cloud.pk}").json()
    assert (item["used"], item["remaining"], item["status"]) == (3, None, "active")


# --- refusals ----------------------------------------------------------------------------


def test_not_activated(live_server):
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    api = Api(live_server.url, UserFactory(organization=organization))
    before = written()
    assert_refused(
        api.post("/support-requests", request_body(product("SQL Server", "2022"))),
        409,
        "not_activated",
        before,
    )


def test_action_pack_has_no_cloud_support(live_server):
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    activate(organization)
    api = Api(live_server.url, UserFactory(organization=organization))
    before = written()
    assert_refused(
        api.post("/support-requests", request_body(product("Azure"))),
        409,
        "product_not_entitled",
        before,
    )


def test_a_contract_for_the_wrong_kind_of_product(live_server, contoso):
    api = Api(live_server.url, UserFactory(organization=contoso))
    before = written()
    body = assert_refused(
        api.post("/support-requests", request_body(product("Azure"), contract(contoso))),
        409,
        "product_not_entitled",
        before,
    )
    assert body["detail"] == "This support plan can't be used for the selected product."


def test_exhausted(live_server, contoso):
    entitlement = contract(contoso)
    ledger_post(entitlement_id=entitlement.pk, kind="adjustment", delta=-20, note="test")
    api = Api(live_server.url, UserFactory(organization=contoso))
    before = written()
    assert_refused(
        api.post("/support-requests", request_body(product("SQL Server", "2022"), entitlement)),
        409,
        "incidents_exhausted",
        before,
    )


def test_expired(live_server, contoso, today):
    entitlement = contract(contoso)
    Entitlement.objects.filter(pk=entitlement.pk).update(expires_on=today - datetime.timedelta(1))
    api = Api(live_server.url, UserFactory(organization=contoso))
    before = written()
    assert_refused(
        api.post("/support-requests", request_body(product("SQL Server", "2022"), entitlement)),
        409,
        "entitlement_expired",
        before,
    )


def test_csp_only_is_not_authorized(live_server):
    user = UserFactory(organization=OrganizationFactory(in_mpn=False, in_csp=True))
    before = written()
    assert_refused(
        Api(live_server.url, user).post("/support-requests", request_body(product("Azure"))),
        403,
        "not_authorized",
        before,
    )


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"severity": "D"}, "severity"),
        ({"title": ""}, "title"),
        ({"product_id": "x"}, "product_id"),
        ({"product_id": None}, "product_id"),
        ({"description": None}, "description"),
        ({"description": " \n "}, "description"),
        ({"title": "a\x00b"}, "title"),
        ({"title": "two\nlines"}, "title"),
        ({"description": "x" * 20_001}, "description"),
        ({"error_message": "bell\x07"}, "error_message"),
        ({"contact_phone": "1" * 41}, "contact_phone"),
    ],
)
def test_malformed_input_is_a_validation_error_with_the_path(live_server, contoso, change, path):
    api = Api(live_server.url, UserFactory(organization=contoso))
    before = written()
    body = assert_refused(
        api.post("/support-requests", request_body(product("SQL Server", "2022")) | change),
        422,
        "validation_error",
        before,
    )
    assert path in [e["path"] for e in body["errors"]]


def test_a_product_that_does_not_exist_is_not_found_with_the_path(live_server, contoso):
    api = Api(live_server.url, UserFactory(organization=contoso))
    before = written()
    body = assert_refused(
        api.post(
            "/support-requests",
            request_body(product("SQL Server", "2022")) | {"product_id": 999999},
        ),
        404,
        "not_found",
        before,
    )
    assert [e["path"] for e in body["errors"]] == ["product_id"]


def test_long_text_keeps_tabs_and_line_breaks(live_server, contoso):
    api = Api(live_server.url, UserFactory(organization=contoso))
    text = "Steps:\r\n\t1. install\n\t2. fail"
    created = api.post(
        "/support-requests",
        request_body(product("SQL Server", "2022"), contract(contoso))
        | {"description": text, "title": "\ttabbed"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["description"] == text
    assert created.json()["title"] == "tabbed"  # leading and trailing white space dropped


def test_another_organizations_request_is_not_found(live_server, contoso):
    owner = UserFactory(organization=contoso)
    api = Api(live_server.url, owner)
    created = api.post(
        "/support-requests", request_body(product("SQL Server", "2022"), contract(contoso))
    ).json()
    stranger = Api(live_server.url, UserFactory(organization=OrganizationFactory()))

    for response in (
        stranger.get(f"/support-requests/{created['id']}"),
        stranger.post(f"/support-requests/{created['id']}/withdraw"),
        stranger.post(f"/support-requests/{created['id']}/notes", {"body": "hi"}),
    ):
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert stranger.get("/support-requests").json()["items"] == []
    assert SupportRequest.objects.get().status == "open"


# --- Idempotency-Key ---------------------------------------------------------------------


def test_idempotency_key_replays_and_refuses_a_different_body(live_server, contoso):
    api = Api(live_server.url, UserFactory(organization=contoso))
    body = request_body(product("SQL Server", "2022"), contract(contoso))

    first = api.post("/support-requests", body, **{"Idempotency-Key": "abc-1"})
    replay = api.post("/support-requests", body, **{"Idempotency-Key": "abc-1"})
    before = written()
    other = api.post("/support-requests", body | {"title": "Other"}, **{"Idempotency-Key": "abc-1"})

    assert first.status_code == replay.status_code == 201
    assert first.json() == replay.json()
    assert_refused(other, 422, "idempotency_conflict", before)
    assert SupportRequest.objects.count() == 1
    assert contract(contoso).used == 1


def test_a_key_in_flight_is_409_and_keys_are_per_caller(live_server, contoso):
    user = UserFactory(organization=contoso)
    api = Api(live_server.url, user)
    body = request_body(product("SQL Server", "2022"), contract(contoso))
    from partnerdesk.api.idempotency import fingerprint
    from partnerdesk.api.schemas import SupportRequestIn

    digest = fingerprint(SupportRequestIn(**body).model_dump())
    IdempotencyKey.objects.create(user=user, key="busy", fingerprint=digest)
    before = written()
    assert_refused(
        api.post("/support-requests", body, **{"Idempotency-Key": "busy"}),
        409,
        "idempotency_conflict",
        before,
    )
    colleague = Api(live_server.url, UserFactory(organization=contoso))
    assert (
        colleague.post("/support-requests", body, **{"Idempotency-Key": "busy"}).status_code == 201
    )


def test_a_refusal_is_replayed_too(live_server, contoso):
    api = Api(live_server.url, UserFactory(organization=contoso))
    body = request_body(product("SQL Server", "2022"))  # no IDs: link required
    first = api.post("/support-requests", body, **{"Idempotency-Key": "k"})
    replay = api.post("/support-requests", body, **{"Idempotency-Key": "k"})
    assert first.status_code == replay.status_code == 403
    assert replay.json()["code"] == "contract_link_required"


# --- lifecycle and refunds ---------------------------------------------------------------


def test_withdraw_refunds_until_an_engineer_picks_it_up(live_server, contoso):
    user = UserFactory(organization=contoso)
    engineer = UserFactory(organization=None, is_staff=True)
    api, staff = Api(live_server.url, user), Api(live_server.url, engineer)
    body = request_body(product("SQL Server", "2022"), contract(contoso))
    first = api.post("/support-requests", body).json()
    second = api.post("/support-requests", body).json()

    withdrawn = api.post(f"/support-requests/{first['id']}/withdraw").json()
    from partnerdesk.support.assignment import support_request_pick_up

    support_request_pick_up(engineer=engineer, request_id=second["id"])
    refused = api.post(f"/support-requests/{second['id']}/withdraw")

    assert (withdrawn["status"], withdrawn["resolution"]) == ("closed", "withdrawn")
    assert refused.status_code == 409 and refused.json()["code"] == "not_withdrawable"
    entitlement = contract(contoso)
    assert (entitlement.used, entitlement.balance) == (1, 19)
    kinds = [e["kind"] for e in api.get(f"/benefits/{entitlement.pk}/ledger").json()["items"]]
    assert kinds == ["grant", "consume", "consume", "refund"]
    assert api.post(f"/support-requests/{first['id']}/withdraw").status_code == 409
    assert staff.get(f"/support-requests/{second['id']}").json()["status"] == "in_progress"


@pytest.mark.parametrize(
    ("resolution", "status", "refunded"),
    [("solved", "resolved", False), ("duplicate", "closed", True), ("product_bug", "closed", True)],
)
def test_closing_refunds_duplicates_and_product_bugs(
    live_server, contoso, resolution, status, refunded
):
    api = Api(live_server.url, UserFactory(organization=contoso))
    staff = Api(live_server.url, UserFactory(organization=None, is_staff=True))
    created = api.post(
        "/support-requests", request_body(product("SQL Server", "2022"), contract(contoso))
    ).json()

    partner_try = api.post(f"/support-requests/{created['id']}/close", {"resolution": resolution})
    closed = staff.post(f"/support-requests/{created['id']}/close", {"resolution": resolution})
    again = staff.post(f"/support-requests/{created['id']}/close", {"resolution": "duplicate"})

    assert partner_try.status_code == 403 and partner_try.json()["code"] == "role_required"
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["resolution"]) == (status, resolution)
    assert again.status_code == 409 and again.json()["code"] == "request_finished"
    entitlement = contract(contoso)
    assert entitlement.used == (0 if refunded else 1)
    assert entitlement.balance == (20 if refunded else 19)
    assert ledger_is_whole(entitlement)


def test_notes_from_both_sides(live_server, contoso):
    api = Api(live_server.url, UserFactory(organization=contoso))
    staff = Api(live_server.url, UserFactory(organization=None, is_staff=True))
    created = api.post(
        "/support-requests", request_body(product("SQL Server", "2022"), contract(contoso))
    ).json()
    api.post(f"/support-requests/{created['id']}/notes", {"body": "Logs attached."})
    staff.post(f"/support-requests/{created['id']}/notes", {"body": "Looking at it."})
    empty = api.post(f"/support-requests/{created['id']}/notes", {"body": "   "})

    notes = api.get(f"/support-requests/{created['id']}").json()["notes"]
    assert [n["body"] for n in notes] == ["Logs attached.", "Looking at it."]
    assert empty.status_code == 422


# --- expiry and reconcile ----------------------------------------------------------------


def test_expiry_writes_an_expire_entry_and_a_new_term_starts(contoso, today):
    entitlement = contract(contoso)
    Entitlement.objects.filter(pk=entitlement.pk).update(expires_on=today - datetime.timedelta(1))

    assert entitlements_refresh_due() == 1

    entitlement.refresh_from_db()
    assert entitlement.state == EntitlementState.EXPIRED
    assert entitlement.balance == 0
    assert entitlement.ledger_entries.filter(kind="expire", delta=-20).count() == 1
    fresh = Entitlement.objects.get(
        organization=contoso, benefit__code="product_support", state="not_activated"
    )
    assert fresh.allowance == fresh.balance == 20
    assert ledger_is_whole(entitlement) and ledger_is_whole(fresh)


def test_reconcile_reports_a_balance_that_differs_from_its_ledger(contoso, capsys):
    call_command("reconcile")
    assert "Every balance equals its ledger." in capsys.readouterr().out

    entitlement = contract(contoso)
    Entitlement.objects.filter(pk=entitlement.pk).update(balance=7)
    with pytest.raises(CommandError, match="1 difference found"):
        call_command("reconcile")
    assert f"entitlement {entitlement.pk}: balance 7 != ledger sum 20" in capsys.readouterr().err
