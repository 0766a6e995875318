"""Portal pages and the operators' admin, through Django's test client."""

import pytest
from django.urls import reverse

from partnerdesk.benefits.models import Entitlement
from partnerdesk.partners.models import Competency, Membership
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
            "offer": "action_pack",
            "competency": Competency.objects.get(name=CLOUD).pk,
            "starts": today.isoformat(),
            "ends": today.isoformat(),
        },
    )
    assert response.status_code == 200
    assert "Action Pack has no competency" in response.content.decode()
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
