"""The HTTP API over a real server: /me, /benefits, problem+json, tenant isolation."""

import datetime

import pytest
import requests
from django.utils import formats, timezone, translation

from partnerdesk.accounts.models import ApiToken
from partnerdesk.benefits.models import Entitlement
from tests.factories import CLOUD, OTHER, OrganizationFactory, UserFactory, membership, token_for

BENEFIT_FIELDS = {
    "id",
    "benefit",
    "offer",
    "status",
    "allowance",
    "used",
    "remaining",
    "expires",
    "access_id",
    "contract_id",
}


class Api:
    def __init__(self, base: str, token: str | None = None, language: str | None = None):
        self.base = base.rstrip("/") + "/api/v1"
        self.headers = {}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if language:
            self.headers["Accept-Language"] = language

    def get(self, path: str) -> requests.Response:
        return requests.get(self.base + path, headers=self.headers, timeout=10)


@pytest.fixture
def contoso():
    organization = OrganizationFactory(name="Contoso", in_mpn=True, in_csp=True)
    membership(organization, "gold", CLOUD)
    return organization


@pytest.fixture
def ann(contoso):
    return UserFactory(organization=contoso, email="ann@contoso.example", is_global_admin=True)


@pytest.fixture
def as_ann(live_server, ann):
    return Api(live_server.url, token_for(ann))


def assert_problem(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] and body["title"] and body["detail"]
    return body


def test_me_describes_the_caller(as_ann, contoso):
    body = as_ann.get("/me").json()

    assert body["email"] == "ann@contoso.example"
    assert body["roles"] == ["global_admin"]
    assert body["organization"]["partner_id"] == contoso.partner_id
    assert body["organization"]["programs"] == ["mpn", "csp"]


def test_benefits_list_has_the_contract_fields(as_ann, today):
    response = as_ann.get("/benefits")

    assert response.status_code == 200
    items = {item["benefit"]: item for item in response.json()["items"]}
    assert set(items) == {"product_support", "cloud_support"}
    for item in items.values():
        assert set(item) >= BENEFIT_FIELDS
        assert item["status"] == "not_activated"
        assert item["offer"] == "gold"
        assert item["access_id"] is None and item["contract_id"] is None
        assert datetime.date.fromisoformat(item["expires"]) > today
    assert (items["product_support"]["allowance"], items["product_support"]["remaining"]) == (
        20,
        20,
    )
    assert (items["cloud_support"]["allowance"], items["cloud_support"]["remaining"]) == (
        None,
        None,
    )


def test_benefit_detail_and_ledger(as_ann, contoso):
    entitlement = Entitlement.objects.get(organization=contoso, benefit__code="product_support")

    detail = as_ann.get(f"/benefits/{entitlement.pk}").json()
    ledger = as_ann.get(f"/benefits/{entitlement.pk}/ledger").json()

    assert detail["id"] == entitlement.pk and detail["used"] == 0
    assert [(e["kind"], e["delta"], e["balance_after"]) for e in ledger["items"]] == [
        ("grant", 20, 20)
    ]


def test_csp_only_organization_is_not_authorized(live_server):
    user = UserFactory(organization=OrganizationFactory(in_mpn=False, in_csp=True))
    api = Api(live_server.url, token_for(user))

    body = assert_problem(api.get("/benefits"), 403, "not_authorized")

    assert body["detail"] == "You are not authorized for this action."
    assert_problem(api.get("/benefits/1"), 403, "not_authorized")
    assert api.get("/me").status_code == 200


def test_csp_only_message_in_russian_and_polish(live_server):
    user = UserFactory(organization=OrganizationFactory(in_mpn=False, in_csp=True))
    ru = assert_problem(
        Api(live_server.url, token_for(user), "ru").get("/benefits"), 403, "not_authorized"
    )
    pl = assert_problem(
        Api(live_server.url, token_for(user), "pl").get("/benefits"), 403, "not_authorized"
    )

    assert ru["detail"] == "У вас нет прав на это действие."
    assert pl["detail"] == "Nie masz uprawnień do wykonania tej akcji."


def test_organization_without_membership_has_no_benefits_yet(live_server, today):
    organization = OrganizationFactory()
    api = Api(live_server.url, token_for(UserFactory(organization=organization)))

    body = api.get("/benefits").json()

    assert body["items"] == []
    assert body["notice"]["code"] == "no_benefits"
    assert body["notice"]["detail"].startswith("Looks like you don't have any benefits yet.")
    assert "wrong account" in body["notice"]["detail"]


def test_a_lapsed_organization_is_told_its_membership_ended(live_server, today):
    organization = OrganizationFactory()
    ended = today - datetime.timedelta(days=35)
    membership(
        organization, "silver", OTHER, starts=today - datetime.timedelta(days=400), ends=ended
    )
    api = Api(live_server.url, token_for(UserFactory(organization=organization)))

    body = api.get("/benefits").json()

    assert body["items"] == []
    assert body["notice"]["code"] == "membership_ended"
    with translation.override("en"):
        said = f"Your membership ended on {formats.date_format(ended, 'DATE_FORMAT')}."
    assert body["notice"]["detail"].startswith(said)
    assert "wrong account" not in body["notice"]["detail"]


def test_another_organizations_benefit_is_not_found(live_server, as_ann):
    other = OrganizationFactory()
    membership(other, "action_pack")
    foreign = Entitlement.objects.get(organization=other)

    assert_problem(as_ann.get(f"/benefits/{foreign.pk}"), 404, "not_found")
    assert_problem(as_ann.get(f"/benefits/{foreign.pk}/ledger"), 404, "not_found")
    assert foreign.pk not in {item["id"] for item in as_ann.get("/benefits").json()["items"]}
    assert_problem(as_ann.get("/benefits/987654"), 404, "not_found")


def test_an_operator_without_organization_has_no_benefits(live_server):
    operator = UserFactory(organization=None, is_staff=True)
    assert_problem(
        Api(live_server.url, token_for(operator)).get("/benefits"), 403, "not_authorized"
    )


@pytest.mark.parametrize("token", [None, "pd_not-a-real-token", ""])
def test_missing_or_wrong_token_is_401(live_server, token):
    assert_problem(Api(live_server.url, token).get("/benefits"), 401, "not_authenticated")


def test_revoked_and_expired_tokens_are_refused(live_server, ann):
    revoked, expired = token_for(ann), token_for(ann)
    now = timezone.now()
    tokens = ApiToken.objects.filter(user=ann).order_by("pk")
    ApiToken.objects.filter(pk=tokens[0].pk).update(revoked_at=now)
    ApiToken.objects.filter(pk=tokens[1].pk).update(expires_at=now - datetime.timedelta(seconds=1))

    for token in (revoked, expired):
        assert_problem(Api(live_server.url, token).get("/me"), 401, "not_authenticated")


def test_a_deactivated_user_cannot_use_a_token(live_server, ann):
    token = token_for(ann)
    ann.is_active = False
    ann.save()
    assert_problem(Api(live_server.url, token).get("/me"), 401, "not_authenticated")


def test_malformed_id_is_a_validation_error_with_the_field_path(as_ann):
    body = assert_problem(as_ann.get("/benefits/abc"), 422, "validation_error")
    assert body["errors"][0]["path"] == "benefit_id"


def test_unknown_api_path_is_a_problem(as_ann):
    assert_problem(as_ann.get("/no-such-thing"), 404, "not_found")


def test_session_cookie_works_for_the_api(live_server, ann):
    session = requests.Session()
    login = session.get(live_server.url + "/login/", timeout=10)
    assert login.status_code == 200
    response = session.post(
        live_server.url + "/login/",
        data={
            "username": ann.email,
            "password": "correct horse battery staple",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": live_server.url + "/login/"},
        timeout=10,
    )
    assert response.status_code == 200
    assert session.get(live_server.url + "/api/v1/me", timeout=10).json()["email"] == ann.email


def test_openapi_document_is_served(live_server):
    spec = requests.get(live_server.url + "/api/v1/openapi.json", timeout=10).json()
    assert spec["openapi"].startswith("3.")
    assert {
        "/api/v1/me",
        "/api/v1/benefits",
        "/api/v1/benefits/{benefit_id}",
        "/api/v1/benefits/{benefit_id}/activate",
        "/api/v1/benefits/{benefit_id}/ledger",
        "/api/v1/products",
        "/api/v1/support-requests",
        "/api/v1/support-requests/{request_id}",
        "/api/v1/support-requests/{request_id}/withdraw",
        "/api/v1/support-requests/{request_id}/close",
    } <= set(spec["paths"])
    create = spec["paths"]["/api/v1/support-requests"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"]}
    assert {"201", "409", "422"} <= set(create["responses"])
