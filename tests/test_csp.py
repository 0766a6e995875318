"""CSP requests for customers (role × workload × customer), and paid support plans."""

import datetime

import pytest
import requests

from partnerdesk.benefits.models import Benefit, Entitlement
from partnerdesk.benefits.plans import plan_grant
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.support.models import SupportRequest
from tests.factories import (
    OTHER,
    CustomerFactory,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    product,
    token_for,
)
from tests.test_support import Api, assert_refused, written

ROLES = {
    "admin_agent": {"is_admin_agent": True},
    "helpdesk_agent": {"is_helpdesk_agent": True},
    "global_admin": {"is_global_admin": True},
    "ordinary": {},
}
WORKLOADS = ["azure", "microsoft_365", "dynamics_365"]


@pytest.fixture
def partner():
    """MPN and CSP, Gold in another competency: cloud support has 10 incidents."""
    organization = OrganizationFactory(in_mpn=True, in_csp=True)
    membership(organization, "gold", OTHER)
    activate(organization)
    return organization


def cloud_contract(organization) -> Entitlement:
    return Entitlement.objects.get(
        organization=organization, benefit__code="cloud_support", state="active"
    )


def csp_body(customer_id, workload, contract: Entitlement | None = None) -> dict:
    body = {
        "customer_id": customer_id,
        "workload": workload,
        "severity": "A",
        "title": "Tenant cannot sign in",
        "description": "Conditional access blocks every user since this morning.",
    }
    if contract is not None:
        body |= {"contract_id": contract.contract_id, "access_id": contract.access_id}
    return body


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("whose", ["own", "foreign"])
def test_role_workload_customer_matrix(live_server, partner, role, workload, whose):
    customer = CustomerFactory(
        organization=partner if whose == "own" else OrganizationFactory(in_csp=True)
    )
    api = Api(live_server.url, UserFactory(organization=partner, **ROLES[role]))
    contract = cloud_contract(partner)
    before = written()

    response = api.post("/support-requests", csp_body(customer.pk, workload, contract))

    if whose == "foreign":
        assert_refused(response, 404, "not_found", before)
    elif role not in ("admin_agent", "helpdesk_agent"):
        body = assert_refused(response, 403, "role_required", before)
        assert "Admin agent" in body["detail"]
    else:
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["customer_id"] == customer.pk
        contract.refresh_from_db()
        if workload == "azure":
            assert (created["entitlement_id"], created["charged"]) == (None, False)
            assert created["product"] == "Azure"
            assert contract.used == 0
        else:
            assert (created["entitlement_id"], created["charged"]) == (contract.pk, True)
            assert contract.used == 1


def test_the_csp_plan_never_covers_the_partners_own_subscriptions(live_server, partner):
    api = Api(live_server.url, UserFactory(organization=partner, is_admin_agent=True))
    before = written()
    body = assert_refused(
        api.post("/support-requests", csp_body(None, "azure")), 422, "validation_error", before
    )
    assert [e["path"] for e in body["errors"]] == ["customer_id"]
    # Without a customer an Azure request is the partner's own: charged like any cloud one.
    own = api.post(
        "/support-requests",
        {
            "product_id": product("Azure").pk,
            "severity": "B",
            "title": "Our own subscription",
            "description": "d",
            "contract_id": cloud_contract(partner).contract_id,
            "access_id": cloud_contract(partner).access_id,
        },
    ).json()
    assert own["charged"] is True and own["customer_id"] is None


def test_a_csp_only_partner_gets_azure_on_the_csp_plan_but_nothing_else(live_server):
    organization = OrganizationFactory(in_mpn=False, in_csp=True)
    customer = CustomerFactory(organization=organization)
    api = Api(live_server.url, UserFactory(organization=organization, is_helpdesk_agent=True))

    azure = api.post("/support-requests", csp_body(customer.pk, "azure"))
    before = written()
    m365 = api.post("/support-requests", csp_body(customer.pk, "microsoft_365"))

    assert azure.status_code == 201 and azure.json()["charged"] is False
    body = assert_refused(m365, 409, "product_not_entitled", before)
    assert "Azure only" in body["detail"]
    assert_refused(api.get("/benefits"), 403, "not_authorized", before)


def test_an_organization_without_csp(live_server):
    organization = OrganizationFactory(in_mpn=True, in_csp=False)
    membership(organization, "gold", OTHER)
    agent = UserFactory(organization=organization, is_admin_agent=True)
    api = Api(live_server.url, agent)
    stranger = CustomerFactory()
    before = written()

    assert_refused(
        api.post("/support-requests", csp_body(stranger.pk, "azure")), 404, "not_found", before
    )
    assert_refused(api.get("/customers"), 403, "not_authorized", before)


def test_customers_endpoint(live_server, partner):
    mine = [CustomerFactory(organization=partner, name=n) for n in ("Fabrikam", "Alpine")]
    CustomerFactory(name="Someone else's")
    agent = Api(live_server.url, UserFactory(organization=partner, is_admin_agent=True))
    admin = Api(live_server.url, UserFactory(organization=partner, is_global_admin=True))

    items = agent.get("/customers").json()["items"]

    assert [i["name"] for i in items] == ["Alpine", "Fabrikam"]
    assert {i["id"] for i in items} == {c.pk for c in mine}
    denied = admin.get("/customers")
    assert denied.status_code == 403 and denied.json()["code"] == "role_required"


def test_unknown_workload_and_mismatched_product(live_server, partner):
    customer = CustomerFactory(organization=partner)
    api = Api(live_server.url, UserFactory(organization=partner, is_admin_agent=True))
    before = written()
    # A workload the catalog does not have is, like any object named that does not exist,
    # not found, with the field's path.
    body = assert_refused(
        api.post("/support-requests", csp_body(customer.pk, "quantum")),
        404,
        "not_found",
        before,
    )
    assert body["errors"][0]["path"] == "workload"
    mismatch = csp_body(customer.pk, "azure") | {"product_id": product("Microsoft 365").pk}
    refused = assert_refused(
        api.post("/support-requests", mismatch), 409, "product_not_entitled", before
    )
    assert "Azure" in refused["detail"]


# --- paid plans --------------------------------------------------------------------------


@pytest.fixture
def operator():
    return UserFactory(organization=None, is_staff=True)


def grant(organization, code, operator, today):
    return plan_grant(
        operator=operator,
        organization=organization,
        plan=Benefit.objects.get(code=code),
        starts=today,
        ends=today + datetime.timedelta(days=364),
    )


def test_a_granted_advanced_plan_refuses_on_premises_and_charges_cloud(
    live_server, operator, today
):
    organization = OrganizationFactory()  # no membership at all: only the purchased plan
    advanced = grant(organization, "advanced_support", operator, today).entitlement
    api = Api(live_server.url, UserFactory(organization=organization))
    ids = {"contract_id": advanced.contract_id, "access_id": advanced.access_id}
    base = {"severity": "B", "title": "t", "description": "d"}
    before = written()

    onprem = api.post(
        "/support-requests", base | ids | {"product_id": product("SQL Server", "2022").pk}
    )
    assert_refused(onprem, 409, "product_not_entitled", before)
    cloud = api.post("/support-requests", base | ids | {"product_id": product("Azure").pk})

    assert cloud.status_code == 201, cloud.text
    assert cloud.json()["entitlement_id"] == advanced.pk
    advanced.refresh_from_db()
    assert advanced.used == 1 and advanced.allowance is None
    benefits = {b["benefit"]: b for b in api.get("/benefits").json()["items"]}
    assert benefits["advanced_support"]["status"] == "active"
    assert benefits["advanced_support"]["offer"] == "advanced_support"
    assert benefits["advanced_support"]["contract_id"] == advanced.contract_id


def test_premier_covers_both_and_free_benefits_are_used_first(
    live_server, partner, operator, today
):
    premier = grant(partner, "premier_support", operator, today).entitlement
    user = UserFactory(organization=partner)
    api = Api(live_server.url, user)
    onprem = {
        "product_id": product("SQL Server", "2022").pk,
        "severity": "B",
        "title": "t",
        "description": "d",
    }
    free = Entitlement.objects.get(organization=partner, benefit__code="product_support")

    first = api.post(
        "/support-requests", onprem | {"contract_id": free.contract_id, "access_id": free.access_id}
    )
    by_premier = api.post(
        "/support-requests",
        onprem | {"contract_id": premier.contract_id, "access_id": premier.access_id},
    )
    default_again = api.post("/support-requests", onprem)

    assert first.json()["entitlement_id"] == free.pk
    assert by_premier.json()["entitlement_id"] == premier.pk
    assert default_again.json()["entitlement_id"] == free.pk  # the free benefit comes first


def test_plan_grants_are_checked(partner, operator, today):
    grant(partner, "premier_support", operator, today)
    with pytest.raises(ValidationFailed) as twice:
        grant(partner, "premier_support", operator, today)
    assert twice.value.errors[0]["path"] == "plan"
    with pytest.raises(ValidationFailed):
        plan_grant(
            operator=operator,
            organization=partner,
            plan=Benefit.objects.get(code="product_support"),
            starts=today,
            ends=today,
        )


def test_membership_changes_leave_granted_plans_alone(partner, operator, today):
    from partnerdesk.benefits.services import entitlements_sync

    grant(partner, "advanced_support", operator, today)
    partner.memberships.update(ends=today - datetime.timedelta(days=1))
    entitlements_sync(organization=partner)

    plan = Entitlement.objects.get(organization=partner, benefit__code="advanced_support")
    assert plan.state == "active"


def test_an_operator_grants_a_plan_in_the_admin(client, partner, operator, today):
    operator.is_superuser = True
    operator.save()
    client.force_login(operator)
    response = client.post(
        "/admin/benefits/plangrant/add/",
        {
            "organization": partner.pk,
            "plan": Benefit.objects.get(code="premier_support").pk,
            "starts": today.isoformat(),
            "ends": (today + datetime.timedelta(days=364)).isoformat(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    plan = Entitlement.objects.get(organization=partner, benefit__code="premier_support")
    assert plan.state == "active" and plan.contract_id
    assert SupportRequest.objects.count() == 0


def test_the_comparison_page_sets_plans_and_free_benefits_side_by_side(client, partner):
    client.force_login(UserFactory(organization=partner))
    page = client.get("/benefits/plans/").content.decode()
    for text in (
        "Action Pack",
        "Silver",
        "Gold",
        "Advanced Support for Partners",
        "Premier Support for Partners",
        "10 incidents",
        "Not eligible",
        "Not covered",
    ):
        assert text in page, text


def test_api_token_of_another_org_cannot_see_customers(live_server, partner):
    CustomerFactory(organization=partner)
    outsider = UserFactory(organization=OrganizationFactory(in_csp=True), is_admin_agent=True)
    response = requests.get(
        live_server.url + "/api/v1/customers",
        headers={"Authorization": f"Bearer {token_for(outsider)}"},
        timeout=10,
    )
    assert response.json()["items"] == []
