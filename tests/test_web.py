"""Portal pages and the operators' admin, through Django's test client."""

import pytest
from django.urls import reverse

from partnerdesk.benefits.models import Entitlement
from partnerdesk.partners.models import Competency, Membership, Program
from tests.factories import CLOUD, OrganizationFactory, UserFactory, membership


@pytest.fixture
def operator(client):
    user = UserFactory(organization=None, is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def test_pages_need_a_sign_in(client):
    response = client.get(reverse("web:benefits"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_another_organizations_benefit_page_is_not_found(client):
    other = OrganizationFactory()
    membership(other, "action_pack")
    mine = OrganizationFactory()
    membership(mine, "action_pack")
    client.force_login(UserFactory(organization=mine))
    foreign = Entitlement.objects.get(organization=other)

    response = client.get(reverse("web:benefit_detail", args=[foreign.pk]))

    assert response.status_code == 404
    assert b"does not exist" in response.content


def test_csp_only_page_is_403_with_the_seed_message(client):
    client.force_login(UserFactory(organization=OrganizationFactory(in_mpn=False, in_csp=True)))
    response = client.get(reverse("web:benefits"))
    assert response.status_code == 403
    assert "You are not authorized for this action." in response.content.decode()


@pytest.mark.parametrize(
    "model",
    [
        "partners/organization",
        "partners/membership",
        "partners/competency",
        "partners/customer",
        "benefits/benefit",
        "benefits/allotmentrule",
        "benefits/entitlement",
        "benefits/ledgerentry",
        "accounts/user",
        "accounts/apitoken",
        "benefits/activation",
        "accounts/auditevent",
        "support/product",
        "support/supportrequest",
        "support/contractlink",
        "support/workload",
        "benefits/plangrant",
        "notices/notice",
    ],
)
def test_every_admin_list_opens(client, operator, model):
    organization = OrganizationFactory()
    membership(organization, "gold", CLOUD)
    UserFactory(organization=organization)
    assert client.get(f"/admin/{model}/").status_code == 200


def test_adding_a_membership_in_the_admin_derives_entitlements(client, operator, today):
    organization = OrganizationFactory()
    competency = Competency.objects.get(name=CLOUD)

    response = client.post(
        "/admin/partners/membership/add/",
        {
            "organization": organization.pk,
            "program": Program.objects.get(code="mpn-2021").pk,
            "offer": "silver",
            "competency": competency.pk,
            "starts": today.isoformat(),
            "ends": today.replace(year=today.year + 1).isoformat(),
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Membership.objects.filter(organization=organization).count() == 1
    assert {
        e.benefit.code: e.allowance for e in Entitlement.objects.filter(organization=organization)
    } == {"product_support": 15, "cloud_support": None}


def test_an_action_pack_with_a_competency_is_refused_in_the_admin(client, operator, today):
    organization = OrganizationFactory()
    response = client.post(
        "/admin/partners/membership/add/",
        {
            "organization": organization.pk,
            "program": Program.objects.get(code="mpn-2021").pk,
            "offer": "action_pack",
            "competency": Competency.objects.get(name=CLOUD).pk,
            "starts": today.isoformat(),
            "ends": today.isoformat(),
        },
    )
    assert response.status_code == 200
    assert "This offer is not held in a competency." in response.content.decode()
    assert not Membership.objects.exists()


def test_the_language_switcher_remembers_the_users_choice(client):
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    user = UserFactory(organization=organization)
    client.force_login(user)

    response = client.post(
        reverse("web:set_language"), {"language": "pl", "next": reverse("web:benefits")}
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "pl"
    page = client.get(reverse("web:benefits"), headers={"accept-language": "ru"})
    assert "Korzyści techniczne" in page.content.decode()


def test_the_users_language_wins_over_accept_language_in_the_api(client):
    from tests.factories import token_for

    user = UserFactory(organization=OrganizationFactory(in_mpn=False, in_csp=True), language="pl")
    response = client.get(
        "/api/v1/benefits",
        headers={"authorization": f"Bearer {token_for(user)}", "accept-language": "ru"},
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "Nie masz uprawnień do wykonania tej akcji."


def _open_request(organization):
    from partnerdesk.benefits.models import Entitlement
    from partnerdesk.support.services import SupportRequestDraft, support_request_create
    from tests.factories import activate, product

    activate(organization)
    user = UserFactory(organization=organization)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    draft = SupportRequestDraft(
        product_id=product("SQL Server", "2022").pk,
        severity="A",
        title="Cluster down",
        description="d",
        contract_id=contract.contract_id,
        access_id=contract.access_id,
    )
    return user, support_request_create(user=user, draft=draft), contract


def test_the_staff_console_is_for_engineers_only(client):
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    user, support_request, contract = _open_request(organization)
    client.force_login(user)
    assert client.get(reverse("web:staff_queue")).status_code == 403

    engineer = UserFactory(organization=None, is_staff=True, name="Sam Engineer")
    client.force_login(engineer)
    queue = client.get(reverse("web:staff_queue")).content.decode()
    assert "Cluster down" in queue

    client.post(reverse("web:staff_pick_up", args=[support_request.pk]))
    client.post(reverse("web:request_note", args=[support_request.pk]), {"body": "On it."})
    client.post(reverse("web:staff_close", args=[support_request.pk]), {"resolution": "duplicate"})

    support_request.refresh_from_db()
    contract.refresh_from_db()
    assert (support_request.status, support_request.resolution) == ("closed", "duplicate")
    assert support_request.assigned_to == engineer
    assert support_request.notes.get().body == "On it."
    assert (contract.used, contract.balance) == (0, 10)


def test_partner_pages_list_show_and_withdraw(client):
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    user, support_request, contract = _open_request(organization)
    client.force_login(user)

    assert "Cluster down" in client.get(reverse("web:requests")).content.decode()
    detail = client.get(reverse("web:request_detail", args=[support_request.pk])).content.decode()
    assert contract.contract_id in detail and "Withdraw" in detail
    withdraw = reverse("web:request_withdraw", args=[support_request.pk])
    assert "Withdraw this request?" in client.get(withdraw).content.decode()
    client.post(withdraw, {"confirm": "withdraw"})

    support_request.refresh_from_db()
    contract.refresh_from_db()
    assert support_request.resolution == "withdrawn"
    assert contract.balance == 10
    stranger = UserFactory(organization=OrganizationFactory())
    client.force_login(stranger)
    assert client.get(reverse("web:request_detail", args=[support_request.pk])).status_code == 404


def test_the_plan_picker_hides_unavailable_plans_behind_a_toggle(client):
    from partnerdesk.benefits.ledger import ledger_post
    from partnerdesk.benefits.models import Entitlement
    from tests.factories import activate

    organization = OrganizationFactory()
    membership(organization, "gold", "Data Analytics")
    activate(organization)
    cloud = Entitlement.objects.get(organization=organization, benefit__code="cloud_support")
    ledger_post(entitlement_id=cloud.pk, kind="adjustment", delta=-10, note="used up elsewhere")
    client.force_login(UserFactory(organization=organization))

    page = client.get(reverse("web:request_new")).content.decode()

    usable, _, unavailable = page.partition("Show unavailable support plans")
    assert "Microsoft Product Support" in usable and "Signature Cloud Support" not in usable
    assert "Signature Cloud Support" in unavailable and "no incidents left" in unavailable


def test_csp_pages_are_for_agents_of_csp_partners(client):
    from tests.factories import CustomerFactory

    organization = OrganizationFactory(in_mpn=True, in_csp=True)
    customer = CustomerFactory(organization=organization, name="Fabrikam")
    client.force_login(UserFactory(organization=organization, is_global_admin=True))
    denied = client.get(reverse("web:csp_customers"))
    assert denied.status_code == 403
    assert "Admin agent" in denied.content.decode()

    client.force_login(UserFactory(organization=organization, is_helpdesk_agent=True))
    assert "Fabrikam" in client.get(reverse("web:csp_customers")).content.decode()
    page = client.get(reverse("web:csp_customer", args=[customer.pk])).content.decode()
    assert "Service management" in page and "New request: Azure" in page

    outsider = UserFactory(organization=OrganizationFactory(in_csp=True), is_admin_agent=True)
    client.force_login(outsider)
    assert client.get(reverse("web:csp_customer", args=[customer.pk])).status_code == 404
    assert client.get(reverse("web:csp_request_new", args=[customer.pk])).status_code == 404


def test_the_plan_picker_keeps_typed_ids_when_the_product_changes(client):
    from tests.factories import activate, product

    organization = OrganizationFactory()
    membership(organization, "action_pack")
    activate(organization)
    client.force_login(UserFactory(organization=organization))

    fragment = client.get(
        reverse("web:request_plans"),
        {"product": product("SQL Server", "2022").pk, "access_id": "typed-access"},
    ).content.decode()

    assert 'value="typed-access"' in fragment
    assert "Microsoft Product Support" in fragment


def test_error_pages_speak_the_visitors_language(client):
    page = client.get("/no-such-page/", headers={"accept-language": "pl"})
    assert page.status_code == 404
    from django.utils import translation

    with translation.override("pl"):
        expected = translation.gettext("Page not found")
    assert expected != "Page not found" and expected in page.content.decode()


def test_the_dashboard_shows_charts_balance_and_recent_requests(client):
    organization = OrganizationFactory()
    membership(organization, "gold", "Data Analytics")
    user, _request, contract = _open_request(organization)
    client.force_login(user)

    page = client.get(reverse("web:dashboard")).content.decode()

    assert page.count('class="usage-chart card"') == 2
    assert "1 of 20 incidents used since" in page
    assert "Cluster down" in page
    assert reverse("web:benefit_detail", args=[contract.pk]) in page


def test_cli_messages_follow_the_operators_language():
    from django.utils import translation

    from tests.helpers import console_script

    done = console_script("createtoken", "nobody@x.example", PARTNERDESK_LANGUAGE="ru")
    with translation.override("ru"):
        expected = translation.gettext("No user with the e-mail address %(email)s.") % {
            "email": "nobody@x.example"
        }
    assert done.returncode == 1
    assert "No user with the e-mail address" not in expected
    assert expected in done.stderr


def test_the_500_page_is_translated_and_stands_alone(rf):
    from django.utils import translation
    from django.views.defaults import server_error

    with translation.override("ru"):
        response = server_error(rf.get("/"))
        expected = translation.gettext("Something went wrong")
    assert response.status_code == 500
    assert expected != "Something went wrong" and expected in response.content.decode()
