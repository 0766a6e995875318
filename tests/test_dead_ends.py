"""No dead ends in the request flow: each refusal the system knows in advance is shown
before the form (CSP-only, lapsed membership, nothing usable, a product no plan covers),
IDs are read the way people type them, withdraw asks first, and the pending-activation
text follows the configured delay. Through the real pages, the API and a browser."""

from __future__ import annotations

import datetime
import html
import re

import pytest
import requests
from django.test import Client
from django.utils import formats, timezone, translation

from partnerdesk.benefits.activation import (
    activation_duration,
    activation_expected,
    activation_request,
)
from partnerdesk.benefits.ids import (
    normalized_access_id,
    normalized_contract_id,
    same_access_id,
    same_contract_id,
)
from partnerdesk.benefits.models import Entitlement, LedgerEntry, LedgerKind
from partnerdesk.support.models import Product, SupportRequest
from tests.browser import LOCALES, t
from tests.factories import (
    CLOUD,
    OTHER,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    open_request,
    product,
    token_for,
)

LANGUAGES = ["en", "ru", "pl"]


@pytest.fixture(autouse=True)
def no_language_left_behind():
    yield
    translation.deactivate()


def page_of(user, path: str, language: str = "en", **headers) -> str:
    client = Client(headers={"accept-language": language, **headers})
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return html.unescape(response.content.decode())


def api_get(live_server, user, path: str, language: str = "en"):
    return requests.get(
        f"{live_server.url}/api/v1{path}",
        headers={"Authorization": f"Bearer {token_for(user)}", "Accept-Language": language},
        timeout=10,
    )


def long_date(day: datetime.date, language: str) -> str:
    with translation.override(language):
        return formats.date_format(day, "DATE_FORMAT")


def request_form(product_pk: int, **extra) -> dict:
    return {
        "product": product_pk,
        "severity": "C",
        "title": "Log shipping stops",
        "description": "It stops every night.",
        **extra,
    }


@pytest.fixture
def lapsed(today):
    organization = OrganizationFactory(name="Proseware")
    ended = today - datetime.timedelta(days=35)
    membership(
        organization, "silver", OTHER, starts=today - datetime.timedelta(days=400), ends=ended
    )
    return UserFactory(organization=organization, is_global_admin=True), ended


@pytest.fixture
def contoso(today):
    organization = OrganizationFactory(name="Contoso")
    membership(organization, "gold", CLOUD)
    activate(organization)
    admin = UserFactory(organization=organization, is_global_admin=True, name="Ann Lee")
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    return admin, contract


# --- refusals known in advance ---------------------------------------------------------


def test_a_csp_only_organization_is_sent_to_its_customers_not_to_not_authorized():
    organization = OrganizationFactory(in_mpn=False, in_csp=True)
    agent = UserFactory(organization=organization, is_admin_agent=True)
    colleague = UserFactory(organization=organization)

    dashboard = page_of(agent, "/dashboard/")
    assert 'href="/support/requests/new/"' not in dashboard
    assert 'href="/csp/customers/" role="button"' in dashboard
    assert "Open a request for a customer" in dashboard

    for language in LANGUAGES:
        new = page_of(agent, "/support/requests/new/", language)
        assert 'data-obstacle="csp_only"' in new and 'id="request-form"' not in new
        assert t(language, "Your organization's support plan serves your customers") in new
        assert t(language, "Open a request for a customer") in new
        assert t(language, "You are not authorized for this action.") not in new

    # Without a CSP role: who can, instead of a link that would be refused.
    new = page_of(colleague, "/support/requests/new/")
    assert 'href="/csp/customers/"' not in new.split('id="request-obstacle"')[1]
    assert "Admin agent or a Helpdesk agent" in new
    assert 'href="/support/requests/new/"' not in page_of(colleague, "/dashboard/")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_lapsed_organization_is_told_when_its_membership_ended(lapsed, language):
    user, ended = lapsed
    said = t(language, "Your membership ended on %(date)s.") % {"date": long_date(ended, language)}

    new = page_of(user, "/support/requests/new/", language)
    assert said in new
    assert 'id="request-form"' not in new and 'name="title"' not in new
    assert t(language, "Support plans compared") in new
    assert "wrong account" not in new and "ошибочн" not in new

    benefits = page_of(user, "/benefits/technical/", language)
    assert 'id="membership-ended"' in benefits and said in benefits
    assert t(language, "Looks like you don't have any benefits yet.") not in benefits

    dashboard = page_of(user, "/dashboard/", language)
    assert 'id="membership-ended"' in dashboard and said in dashboard
    assert t(language, "Looks like you don't have any benefits yet.") not in dashboard
    assert 'href="/support/requests/new/"' not in dashboard


def test_a_lapsed_organizations_post_writes_nothing(lapsed):
    user, _ended = lapsed
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    response = client.post("/support/requests/new/", request_form(product("SQL Server", "2022").pk))
    assert response.status_code == 200 and 'data-obstacle="membership_ended"' in response.text
    assert not SupportRequest.objects.exists()


@pytest.mark.parametrize("language", ["en", "pl"])
def test_the_api_says_membership_ended_and_keeps_no_benefits(live_server, lapsed, language):
    user, ended = lapsed
    body = api_get(live_server, user, "/benefits", language).json()
    assert body["items"] == []
    assert body["notice"]["code"] == "membership_ended"
    assert long_date(ended, language) in body["notice"]["detail"]

    never = UserFactory(organization=OrganizationFactory())
    body = api_get(live_server, never, "/benefits").json()
    assert body["notice"]["code"] == "no_benefits"


def test_no_plan_at_all_is_said_before_the_form():
    user = UserFactory(organization=OrganizationFactory())
    new = page_of(user, "/support/requests/new/")
    assert 'data-obstacle="no_plan"' in new and 'id="request-form"' not in new
    assert "Your organization has no support plan yet" in new


@pytest.mark.parametrize("language", ["en", "ru"])
def test_plans_not_activated_or_pending_say_which_and_when(settings, language):
    organization = OrganizationFactory()
    membership(organization, "gold", CLOUD)
    admin = UserFactory(organization=organization, is_global_admin=True)
    settings.PARTNERDESK_ACTIVATION_DELAY = 20
    cloud = Entitlement.objects.get(organization=organization, benefit__code="cloud_support")
    activation_request(user=admin, entitlement_id=cloud.pk)

    new = page_of(admin, "/support/requests/new/", language)
    assert 'data-obstacle="nothing_usable"' in new and 'id="request-form"' not in new
    assert t(language, "None of your organization's support plans can be used now") in new
    items = re.findall(r'<li data-status="(\w+)">(.*?)</li>', new, re.S)
    assert {status for status, _text in items} == {"not_activated", "activation_pending"}
    pending = next(text for status, text in items if status == "activation_pending")
    assert t(language, "in about a minute") in pending


def test_a_product_no_plan_covers_names_the_plans_that_would(today):
    organization = OrganizationFactory()
    membership(organization, "action_pack")  # on-premises support only
    activate(organization)
    user = UserFactory(organization=organization)
    cloud = Product.objects.filter(deployment="cloud").order_by("pk").first()

    picker = page_of(user, f"/support/requests/new/plans/?product={cloud.pk}")
    assert "None of your organization's support plans covers cloud products." in picker
    covering = re.search(r'id="not-covered">(.*?)</div>', picker, re.S).group(1)
    assert "Signature Cloud Support — comes with a membership (Silver, Gold)" in covering
    assert "Premier Support for Partners — a paid plan" in covering
    assert "Advanced Support for Partners — a paid plan" in covering
    assert "Microsoft Product Support" not in covering  # on-premises only
    onprem = page_of(
        user, f"/support/requests/new/plans/?product={product('SQL Server', '2022').pk}"
    )
    assert 'id="not-covered"' not in onprem and 'name="contract"' in onprem


# --- IDs typed leniently ------------------------------------------------------------------


def test_ids_are_normalized_the_way_people_type_them():
    assert normalized_contract_id("pd-7k3m q9xa-2hzp 4wtn") == "PD7K3MQ9XA2HZP4WTN"
    assert normalized_contract_id("7K3M-Q9XA-2HZP-4WTN") == "PD7K3MQ9XA2HZP4WTN"
    assert same_contract_id("PD-01AB-CD23-EF45-GH67", "pd olab cd23-ef45-gh67")
    assert same_contract_id("PD-01AB-CD23-EF45-GH67", "PD-OIAB-CD23-EF45-GH67")
    assert not same_contract_id("PD-01AB-CD23-EF45-GH67", "PD-01AB-CD23-EF45-GH68")
    assert not same_contract_id("PD-01AB-CD23-EF45-GH67", "")
    uuid = "3f2b8c1e-0d4a-4b6e-9c2f-7a1d5e8b9c0f"
    assert normalized_access_id(" 3F2B8C1E 0D4A 4B6E 9C2F 7A1D5E8B9C0F ") == uuid.replace("-", "")
    assert same_access_id(uuid, uuid.upper().replace("-", " "))
    assert not same_access_id(uuid, uuid[:-1] + "e")
    assert not same_access_id(None, uuid) and not same_access_id(uuid, "ünïcode")


def test_a_contract_typed_in_lower_case_with_spaces_and_o_for_zero_is_accepted(contoso):
    admin, contract = contoso
    Entitlement.objects.filter(pk=contract.pk).update(contract_id="PD-01AB-CD23-EF45-GH67")
    contract.refresh_from_db()
    client = Client(headers={"accept-language": "en"})
    client.force_login(admin)
    typed = {
        "contract_id": "pd olab cd23-ef45 gh67",
        "access_id": " " + contract.access_id.upper().replace("-", " ") + " ",
    }
    response = client.post(
        "/support/requests/new/", request_form(product("SQL Server", "2022").pk, **typed)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    created = SupportRequest.objects.get()
    assert created.entitlement_id == contract.pk


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_wrong_access_id_is_told_apart_from_an_unknown_contract_id(contoso, language):
    admin, contract = contoso
    client = Client(headers={"accept-language": language})
    client.force_login(admin)
    sql_server = product("SQL Server", "2022").pk

    wrong_access = client.post(
        "/support/requests/new/",
        request_form(sql_server, contract_id=contract.contract_id.lower(), access_id="nope"),
    ).content.decode()
    wrong_access = html.unescape(wrong_access)
    unknown = client.post(
        "/support/requests/new/",
        request_form(sql_server, contract_id="PD-AAAA-BBBB-CCCC-DDDD", access_id="x"),
    ).content.decode()
    unknown = html.unescape(unknown)

    told_access = t(
        language,
        "The Access ID is not the one of contract %(contract)s. Copy the Access ID shown "
        "beside that contract on the Technical benefits page.",
    ) % {"contract": contract.contract_id}
    told_contract = t(
        language,
        "No support contract of your organization has that Contract ID. Copy it from the "
        "Technical benefits page (letters in any case; spaces and dashes don't matter).",
    )
    assert told_access in wrong_access and told_contract not in wrong_access
    assert told_contract in unknown and told_access not in unknown
    assert told_access != told_contract
    assert not SupportRequest.objects.exists()


def test_the_api_keeps_contract_link_required_for_both(live_server, contoso):
    admin, contract = contoso
    headers = {"Authorization": f"Bearer {token_for(admin)}", "Accept-Language": "en"}
    body = {
        "product_id": product("SQL Server", "2022").pk,
        "severity": "C",
        "title": "t",
        "description": "d",
    }
    url = f"{live_server.url}/api/v1/support-requests"
    wrong = requests.post(
        url,
        json=body | {"contract_id": contract.contract_id, "access_id": "x"},
        headers=headers,
        timeout=10,
    )
    unknown = requests.post(
        url,
        json=body | {"contract_id": "PD-AAAA-BBBB-CCCC-DDDD", "access_id": "x"},
        headers=headers,
        timeout=10,
    )
    assert (wrong.status_code, wrong.json()["code"]) == (403, "contract_link_required")
    assert (unknown.status_code, unknown.json()["code"]) == (403, "contract_link_required")
    assert wrong.json()["detail"] != unknown.json()["detail"]
    assert "Access ID" in wrong.json()["detail"] and "Contract ID" in unknown.json()["detail"]
    lenient = requests.post(
        url,
        json=body
        | {
            "contract_id": contract.contract_id.lower().replace("-", " "),
            "access_id": contract.access_id.upper(),
        },
        headers=headers,
        timeout=10,
    )
    assert lenient.status_code == 201, lenient.text


# --- withdraw asks first ----------------------------------------------------------------


def refunds(contract) -> int:
    return LedgerEntry.objects.filter(entitlement=contract, kind=LedgerKind.REFUND).count()


@pytest.mark.parametrize("language", LANGUAGES)
def test_withdraw_shows_a_confirmation_and_changes_nothing_until_confirmed(contoso, language):
    admin, contract = contoso
    support_request = open_request(admin, contract)
    contract.refresh_from_db()
    balance = contract.remaining
    client = Client(headers={"accept-language": language})
    client.force_login(admin)
    url = f"/support/requests/{support_request.pk}/withdraw/"

    detail = client.get(f"/support/requests/{support_request.pk}/").content.decode()
    assert f'href="{url}"' in detail and f'hx-get="{url}"' in detail

    confirm = html.unescape(client.get(url).content.decode())
    assert t(language, "Withdraw this request?") in confirm
    assert (
        t(language, "The incident charged to contract %(contract)s is given back.")
        % {"contract": contract.contract_id}
        in confirm
    )
    assert 'name="confirm" value="withdraw"' in confirm
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and 'id="withdraw-confirm"' in fragment

    unconfirmed = client.post(url)
    assert unconfirmed.status_code == 302 and unconfirmed["Location"] == url
    support_request.refresh_from_db()
    contract.refresh_from_db()
    assert support_request.status == "open" and refunds(contract) == 0
    assert contract.remaining == balance

    confirmed = client.post(url, {"confirm": "withdraw"})
    assert confirmed.status_code == 302
    support_request.refresh_from_db()
    contract.refresh_from_db()
    assert (support_request.status, support_request.resolution) == ("closed", "withdrawn")
    assert refunds(contract) == 1 and contract.remaining == balance + 1
    # Once withdrawn there is nothing to confirm.
    assert client.get(url).status_code == 409


def test_a_colleague_gets_no_confirmation_page(contoso):
    admin, contract = contoso
    support_request = open_request(admin, contract)
    colleague = UserFactory(organization=admin.organization)
    client = Client()
    client.force_login(colleague)
    assert client.get(f"/support/requests/{support_request.pk}/withdraw/").status_code == 403
    outsider = UserFactory(organization=OrganizationFactory())
    client.force_login(outsider)
    assert client.get(f"/support/requests/{support_request.pk}/withdraw/").status_code == 404


# --- activation texts follow the delay ----------------------------------------------------


@pytest.mark.parametrize(
    ("language", "seconds", "said"),
    [
        ("en", 20, "about a minute"),
        ("en", 600, "10 minutes"),
        ("en", 3 * 86400, "3 days"),
        ("en", 86400, "1 day"),
        ("ru", 20, "около минуты"),
        ("ru", 3 * 86400, "3 дня"),
        ("ru", 5 * 86400, "5 дней"),
        ("ru", 21 * 86400, "21 день"),
        ("ru", 2 * 3600, "2 часа"),
        ("pl", 3 * 86400, "3 dni"),
        ("pl", 5 * 60, "5 minut"),
        ("pl", 22 * 60, "22 minuty"),
    ],
)
def test_activation_duration_has_proper_plurals(language, seconds, said):
    with translation.override(language):
        assert activation_duration(seconds) == said


@pytest.mark.parametrize("language", ["en", "ru", "pl"])
@pytest.mark.parametrize("delay", [20, 3 * 86400])
def test_the_pending_text_follows_the_configured_delay(settings, language, delay):
    settings.PARTNERDESK_ACTIVATION_DELAY = delay
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    admin = UserFactory(organization=organization, is_global_admin=True, name="Ann Lee")
    entitlement = Entitlement.objects.get(organization=organization)
    outcome = activation_request(user=admin, entitlement_id=entitlement.pk)

    page = page_of(admin, f"/benefits/technical/{entitlement.pk}/", language)
    activation = re.search(r'<footer id="activation">(.*?)</footer>', page, re.S).group(1)
    today = timezone.localdate()
    with translation.override(language):
        expected = activation_expected(outcome.activation.due_at)
        duration = activation_duration(delay)
    assert expected in activation and duration in activation
    if delay == 20:
        assert expected == t(language, "in about a minute")
        assert long_date(today, language) not in expected  # not "complete by <today>"
    else:
        due = long_date(today + datetime.timedelta(days=3), language)
        assert expected == t(language, "by %(date)s") % {"date": due}
    assert "several days" not in activation


# --- in a browser, at phone width ---------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_lapsed_page_and_the_withdraw_confirmation_in_a_phone(
    browser, live_server, lapsed, contoso, language
):
    from playwright.sync_api import expect

    from tests.browser import axe_violations, screenshot, sign_in

    context = browser.new_context(
        locale=LOCALES[language], viewport={"width": 390, "height": 844}, bypass_csp=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        user, ended = lapsed
        sign_in(page, live_server.url, user.email)
        page.goto(live_server.url + "/support/requests/new/")
        heading = page.locator("#request-obstacle h2")
        said = t(language, "Your membership ended on %(date)s.") % {
            "date": long_date(ended, language)
        }
        expect(heading).to_have_text(said)
        box = heading.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        expect(page.locator("#request-form")).to_have_count(0)
        assert axe_violations(page) == []
        screenshot(page, "request-new-lapsed-phone", language)

        context.clear_cookies()
        admin, contract = contoso
        support_request = open_request(admin, contract)
        sign_in(page, live_server.url, admin.email)
        page.goto(f"{live_server.url}/support/requests/{support_request.pk}/")
        page.locator("#withdraw-button").click()  # htmx: the confirmation in place
        confirm = page.locator("#withdraw-confirm")
        expect(confirm.get_by_role("heading")).to_have_text(t(language, "Withdraw this request?"))
        expect(page).to_have_url(f"{live_server.url}/support/requests/{support_request.pk}/")
        support_request.refresh_from_db()
        assert support_request.status == "open"
        screenshot(page, "request-withdraw", language)
        page.locator("#withdraw-confirm-button").click()
        expect(page.locator("#request-detail")).to_be_visible()
        support_request.refresh_from_db()
        assert support_request.resolution == "withdrawn"
        assert refunds(contract) == 1
    finally:
        context.close()
