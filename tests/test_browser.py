"""The portal in a real Chromium (Debian's), driven by Playwright."""

import datetime
import re
import shutil

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.factories import CLOUD, OTHER, PASSWORD, OrganizationFactory, UserFactory, membership

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(base_url + "/")
    expect(page).to_have_url(f"{base_url}/login/?next=/benefits/technical/")
    page.get_by_label("Work or personal account (e-mail)").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_and_see_the_benefits_table(page, live_server, today):
    organization = OrganizationFactory(name="Contoso")
    membership(organization, "gold", CLOUD)
    membership(organization, "silver", OTHER)
    UserFactory(organization=organization, email="ann@contoso.example", name="Ann Lee")

    sign_in(page, live_server.url, "ann@contoso.example")

    expect(page.get_by_role("heading", name="Technical benefits")).to_be_visible()
    table = page.locator("#benefits-table")
    product = table.locator("tr[data-benefit=product_support]")
    cloud = table.locator("tr[data-benefit=cloud_support]")
    expect(product).to_contain_text("Microsoft Product Support")
    expect(product).to_contain_text("Gold · Cloud Platform")
    expect(product).to_contain_text("Not activated")
    expect(product.locator("td.num")).to_have_text(["20", "0", "20"])
    expect(cloud.locator("td.num")).to_have_text(["Unlimited", "0", "Unlimited"])
    deadline = today + datetime.timedelta(days=335)
    expect(product.locator("time")).to_have_attribute("datetime", deadline.isoformat())

    product.get_by_role("link", name="Microsoft Product Support").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Microsoft Product Support")
    expect(page.locator("#benefit-detail")).to_contain_text("Issued on activation")
    expect(page.get_by_role("table")).to_contain_text("Grant")


def test_csp_only_account_is_told_it_is_not_authorized(page, live_server):
    UserFactory(
        organization=OrganizationFactory(in_mpn=False, in_csp=True), email="kim@lit.example"
    )

    sign_in(page, live_server.url, "kim@lit.example")

    expect(page.locator(".problem-detail")).to_have_text("You are not authorized for this action.")


def test_no_benefits_yet_offers_another_account(page, live_server):
    UserFactory(organization=OrganizationFactory(), email="lea@prose.example")

    sign_in(page, live_server.url, "lea@prose.example")

    expect(page.locator("#no-benefits")).to_contain_text(
        "Looks like you don't have any benefits yet."
    )
    expect(page.locator("#no-benefits")).to_contain_text("wrong account")
    page.get_by_role("button", name="Sign in with a different account").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_the_portal_speaks_russian(browser, live_server):
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    UserFactory(organization=organization, email="olga@partner.example")
    context = browser.new_context(locale="ru-RU")
    page = context.new_page()
    page.goto(live_server.url + "/login/")
    page.locator("#id_username").fill("olga@partner.example")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()

    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text("Технические преимущества")
    context.close()


def test_partner_admin_activates_and_then_sees_both_ids(page, live_server, settings):
    from tests.helpers import console_script

    settings.PARTNERDESK_ACTIVATION_DELAY = 0
    organization = OrganizationFactory(name="Contoso")
    membership(organization, "silver", OTHER)
    UserFactory(organization=organization, email="ben@contoso.example", is_mpn_partner_admin=True)
    sign_in(page, live_server.url, "ben@contoso.example")
    page.get_by_role("link", name="Microsoft Product Support").click()

    page.get_by_role("button", name="Activate").click()

    expect(page.get_by_role("status").first).to_contain_text("Activation requested")
    expect(page.locator("#activation")).to_contain_text("Activation pending")
    expect(page.locator("#benefit-detail .badge")).to_have_text("Activation pending")
    expect(page.locator("#benefit-detail")).to_contain_text("Issued on activation")

    done = console_script("worker", "--once")
    assert done.returncode == 0, done.stderr
    page.reload()

    expect(page.locator("#benefit-detail .badge")).to_have_text("Active")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("Access ID")
    access = facts.locator("dt:has-text('Access ID') + dd")
    contract = facts.locator("dt:has-text('Contract ID') + dd")
    expect(access).to_have_text(re.compile(r"^[0-9a-f]{8}-[0-9a-f-]{27}$"))
    expect(contract).to_have_text(re.compile(r"^PD(-[0-9A-Z]{4}){4}$"))
    page.get_by_role("link", name="Technical benefits").first.click()
    expect(page.locator("tr[data-benefit=product_support]")).to_contain_text("Active")
    expect(page.locator("tr[data-benefit=product_support] .contract-id")).to_contain_text("PD-")


def test_an_ordinary_user_sees_activate_greyed_out_with_the_reason(page, live_server):
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    UserFactory(organization=organization, email="eve@partner.example")
    sign_in(page, live_server.url, "eve@partner.example")
    page.get_by_role("link", name="Microsoft Product Support").click()

    button = page.get_by_role("button", name="Activate")
    expect(button).to_be_disabled()
    expect(button).to_have_accessible_description(
        "Only a Global admin or an MPN partner admin can activate benefits."
    )


def test_open_a_request_with_the_ids_once_then_without(page, live_server):
    from partnerdesk.benefits.models import Entitlement
    from tests.factories import activate

    organization = OrganizationFactory(name="Contoso")
    membership(organization, "silver", OTHER)
    activate(organization)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    UserFactory(organization=organization, email="eve@contoso.example", name="Eve Adams")
    sign_in(page, live_server.url, "eve@contoso.example")
    remaining = page.locator("tr[data-benefit=product_support] td.num").nth(2)
    expect(remaining).to_have_text("15")

    def open_request(title: str, with_ids: bool) -> None:
        page.locator("nav summary", has_text="Support").click()
        page.get_by_role("link", name="New support request").click()
        with page.expect_response(lambda r: "/plans/" in r.url):
            page.get_by_label("Product", exact=True).select_option(label="SQL Server 2022")
        expect(page.locator("#plans")).to_contain_text(contract.contract_id)
        if with_ids:
            page.get_by_role("textbox", name="Access ID").fill(contract.access_id)
            page.get_by_role("textbox", name="Contract ID").fill(contract.contract_id)
        else:
            expect(page.locator("#first-use")).to_have_count(0)
        page.get_by_label("A — critical").check()
        page.get_by_label("Title", exact=True).fill(title)
        page.get_by_label("Description", exact=True).fill("The service stops after the CU update.")
        page.get_by_role("button", name="Open the request").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(title)

    # Without the IDs the first time: refused, with the reason, nothing charged.
    page.locator("nav summary", has_text="Support").click()
    page.get_by_role("link", name="New support request").click()
    with page.expect_response(lambda r: "/plans/" in r.url):
        page.get_by_label("Product", exact=True).select_option(label="SQL Server 2022")
    page.get_by_label("Title", exact=True).fill("No IDs")
    page.get_by_label("Description", exact=True).fill("x")
    page.get_by_role("button", name="Open the request").click()
    expect(page.locator("#form-error")).to_contain_text("Access ID and Contract ID")

    open_request("Cluster down", with_ids=True)
    expect(page.locator("#request-detail")).to_contain_text("one incident charged")
    page.locator("nav summary", has_text="Benefits").click()
    page.get_by_role("link", name="Technical benefits").click()
    expect(remaining).to_have_text("14")

    open_request("Backups slow", with_ids=False)
    page.goto(live_server.url + "/benefits/technical/")
    expect(remaining).to_have_text("13")
    page.goto(live_server.url + "/support/requests/")
    expect(page.locator("#requests-table tbody tr")).to_have_count(2)


def test_admin_agent_opens_an_azure_request_for_a_customer(page, live_server):
    from tests.factories import CustomerFactory

    organization = OrganizationFactory(name="Contoso", in_mpn=True, in_csp=True)
    CustomerFactory(organization=organization, name="Fabrikam", tenant_id="fabrikam-tenant")
    UserFactory(organization=organization, email="carla@contoso.example", is_admin_agent=True)
    sign_in(page, live_server.url, "carla@contoso.example")

    page.locator("nav summary", has_text="CSP").click()
    page.get_by_role("link", name="Customers").click()
    page.get_by_role("link", name="Fabrikam").click()
    expect(page.get_by_role("heading", name="Service management")).to_be_visible()
    page.get_by_role("link", name="New request: Azure").click()

    expect(page.locator("#plan-note")).to_contain_text("no incident is charged")
    page.get_by_label("B — moderate").check()
    page.get_by_label("Title", exact=True).fill("VM scale set stuck")
    page.get_by_label("Description", exact=True).fill("Scale-out has been pending for an hour.")
    page.get_by_role("button", name="Open the request").click()

    detail = page.locator("#request-detail")
    expect(detail).to_contain_text("VM scale set stuck")
    expect(detail).to_contain_text("Fabrikam")
    expect(detail).to_contain_text("Cloud Solution Provider plan (no incident charged)")
    expect(detail).to_contain_text("Azure")
