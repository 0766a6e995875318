"""The main journeys in a real Chromium (Debian's), driven by Playwright, in English,
Russian and Polish. Expected texts come from the shipped catalogs, so a page that is not
translated fails in Russian and Polish."""

import datetime
import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from partnerdesk.benefits.models import Entitlement
from partnerdesk.core.quantities import quantity_text
from tests.browser import (
    LANGUAGES,
    LOCALES,
    screenshot,
    sign_in,
    t,
)
from tests.factories import (
    CLOUD,
    OTHER,
    CustomerFactory,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
)
from tests.helpers import console_script

pytestmark = pytest.mark.browser


@pytest.fixture(params=LANGUAGES)
def language(request):
    return request.param


@pytest.fixture
def page(browser, language):
    context = browser.new_context(locale=LOCALES[language], viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_sign_in_dashboard_and_benefits(page, live_server, language, today):
    organization = OrganizationFactory(name="Contoso")
    membership(organization, "gold", CLOUD)
    membership(organization, "silver", OTHER)
    UserFactory(organization=organization, email="ann@contoso.example", name="Ann Lee")

    sign_in(page, live_server.url, "ann@contoso.example")

    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "Dashboard"))
    expect(page.locator("#benefit-cards article")).to_have_count(2)
    screenshot(page, "dashboard", language)
    page.locator("#nav-benefits").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "Technical benefits"))
    product = page.locator("#benefits-table tr[data-benefit=product_support]")
    cloud = page.locator("#benefits-table tr[data-benefit=cloud_support]")
    expect(product).to_contain_text("Microsoft Product Support")
    expect(product).to_contain_text(t(language, "Not activated"))
    with translation.override(language):
        twenty = quantity_text(20, "incidents")  # "20 incidents", "20 инцидентов", …
    expect(product.locator("td.num")).to_have_text([twenty, "0", "20"])
    unlimited = t(language, "Unlimited")
    expect(cloud.locator("td.num")).to_have_text([unlimited, "0", unlimited])
    deadline = today + datetime.timedelta(days=335)
    expect(product.locator("time")).to_have_attribute("datetime", deadline.isoformat())
    screenshot(page, "benefits", language)

    product.locator("a").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Microsoft Product Support")
    expect(page.locator("#benefit-detail")).to_contain_text(t(language, "Issued on activation"))
    expect(page.locator("svg.usage-chart")).to_have_count(1)


def test_the_seed_messages(page, live_server, language):
    UserFactory(
        organization=OrganizationFactory(in_mpn=False, in_csp=True), email="kim@lit.example"
    )
    UserFactory(organization=OrganizationFactory(), email="lea@prose.example")

    sign_in(page, live_server.url, "kim@lit.example")
    page.goto(live_server.url + "/benefits/technical/")
    expect(page.locator(".problem-detail")).to_have_text(
        t(language, "You are not authorized for this action.")
    )
    page.locator("#user-menu summary").click()
    page.locator("#user-menu button[type=submit]").click()

    sign_in(page, live_server.url, "lea@prose.example")
    page.goto(live_server.url + "/benefits/technical/")
    no_benefits = page.locator("#no-benefits")
    expect(no_benefits).to_contain_text(t(language, "Looks like you don't have any benefits yet."))
    screenshot(page, "no-benefits", language)
    no_benefits.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/login/?prompt=select_account")


def test_activate_and_see_both_ids(page, live_server, settings, language):
    settings.PARTNERDESK_ACTIVATION_DELAY = 0
    organization = OrganizationFactory(name="Contoso")
    membership(organization, "silver", OTHER)
    UserFactory(organization=organization, email="ben@contoso.example", is_mpn_partner_admin=True)
    UserFactory(organization=organization, email="eve@contoso.example")
    entitlement = Entitlement.objects.get(
        organization=organization, benefit__code="product_support"
    )

    sign_in(page, live_server.url, "eve@contoso.example")
    page.goto(f"{live_server.url}/benefits/technical/{entitlement.pk}/")
    button = page.locator("#activate-button")
    expect(button).to_be_disabled()
    expect(button).to_have_accessible_description(
        t(language, "Only a Global admin or an MPN partner admin can activate benefits.")
    )
    page.locator("#user-menu summary").click()
    page.locator("#user-menu button[type=submit]").click()

    sign_in(page, live_server.url, "ben@contoso.example")
    page.goto(f"{live_server.url}/benefits/technical/{entitlement.pk}/")
    page.locator("#activate-button").click()
    expect(page.locator("#benefit-detail .badge")).to_have_text(t(language, "Activation pending"))
    screenshot(page, "activation-pending", language)

    done = console_script("worker", "--once")
    assert done.returncode == 0, done.stderr
    page.reload()

    expect(page.locator("#benefit-detail .badge")).to_have_text(t(language, "Active"))
    facts = page.locator("dl.facts dd.mono")
    expect(facts.nth(0)).to_have_text(re.compile(r"^[0-9a-f]{8}-[0-9a-f-]{27}$"))
    expect(facts.nth(1)).to_have_text(re.compile(r"^PD(-[0-9A-Z]{4}){4}$"))
    screenshot(page, "benefit-active", language)


def test_open_a_request_with_the_ids_once_then_without(page, live_server, language):
    organization = OrganizationFactory(name="Contoso")
    membership(organization, "silver", OTHER)
    activate(organization)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    UserFactory(organization=organization, email="eve@contoso.example", name="Eve Adams")
    sign_in(page, live_server.url, "eve@contoso.example")
    remaining = page.locator("#benefits-table tr[data-benefit=product_support] td.num").nth(2)

    def new_request(title: str, ids: bool) -> None:
        page.goto(live_server.url + "/support/requests/new/")
        with page.expect_response(lambda r: "/plans/" in r.url):
            page.locator("#id_product").select_option(label="SQL Server 2022")
        expect(page.locator("#plans")).to_contain_text(contract.contract_id)
        if ids:
            page.locator("#id_access_id").fill(contract.access_id)
            page.locator("#id_contract_id").fill(contract.contract_id)
        else:
            expect(page.locator("#first-use")).to_have_count(0)
        page.locator("#id_severity_0").check()
        page.locator("#id_title").fill(title)
        page.locator("#id_description").fill("The service stops after the CU update.")
        page.locator("#request-form button[type=submit]").click()

    page.goto(live_server.url + "/support/requests/new/")
    with page.expect_response(lambda r: "/plans/" in r.url):
        page.locator("#id_product").select_option(label="SQL Server 2022")
    page.locator("#id_title").fill("No IDs")
    page.locator("#id_description").fill("x")
    page.locator("#request-form button[type=submit]").click()
    expect(page.locator("#form-error")).to_contain_text(contract_link_text(language))
    screenshot(page, "new-request", language)

    new_request("Cluster down", ids=True)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cluster down")
    expect(page.locator("#request-detail")).to_contain_text(t(language, "1 incident charged"))
    screenshot(page, "request", language)
    page.locator("#nav-benefits").click()
    expect(remaining).to_have_text("14")

    new_request("Backups slow", ids=False)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Backups slow")
    page.locator("#nav-benefits").click()
    expect(remaining).to_have_text("13")
    page.locator("#nav-requests").click()
    expect(page.locator("#requests-table tbody tr")).to_have_count(2)


def contract_link_text(language: str) -> str:
    from django.utils import translation

    from partnerdesk.support.exceptions import ContractLinkRequired

    with translation.override(language):
        return str(ContractLinkRequired().detail)


def test_admin_agent_opens_an_azure_request_for_a_customer(page, live_server, language):
    organization = OrganizationFactory(name="Contoso", in_mpn=True, in_csp=True)
    CustomerFactory(organization=organization, name="Fabrikam", tenant_id="fabrikam-tenant")
    UserFactory(organization=organization, email="carla@contoso.example", is_admin_agent=True)
    sign_in(page, live_server.url, "carla@contoso.example")

    page.locator("#nav-customers").click()
    page.get_by_role("link", name="Fabrikam").click()
    expect(page.locator("#service-management")).to_have_text(t(language, "Service management"))
    page.locator("a[href$='?workload=azure']").click()

    expect(page.locator("#plan-note")).to_contain_text("Cloud Solution Provider")
    page.locator("#id_severity_1").check()
    page.locator("#id_title").fill("VM scale set stuck")
    page.locator("#id_description").fill("Scale-out has been pending for an hour.")
    screenshot(page, "csp-request", language)
    page.locator("#request-form button[type=submit]").click()

    detail = page.locator("#request-detail")
    expect(detail).to_contain_text("VM scale set stuck")
    expect(detail).to_contain_text("Fabrikam")
    expect(detail).to_contain_text(t(language, "Cloud Solution Provider plan"))
    # A request on the Cloud Solution Provider plan never mentions incidents.
    expect(detail).not_to_contain_text(t(language, "1 incident charged"))


def test_the_language_switcher(page, live_server, language):
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    UserFactory(organization=organization, email="olga@partner.example")
    sign_in(page, live_server.url, "olga@partner.example")
    other = "pl" if language != "pl" else "ru"

    page.locator("#language-menu summary").click()
    page.locator(f"#language-menu button[value={other}]").click()

    expect(page.locator("html")).to_have_attribute("lang", other)
    expect(page.get_by_role("heading", level=1)).to_have_text(t(other, "Dashboard"))
