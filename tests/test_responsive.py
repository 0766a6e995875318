"""The portal on a 390 × 844 phone and a 1280 × 800 desktop, in English, Russian and
Polish, as the demo's partners see it: every benefit's status, remaining and expiry on
screen (their boxes inside the viewport, no sideways scrolling), no page wider than the
window, the navigation folded into a working "Menu" on the phone, paid plans by name, and
axe-core without a serious or critical violation."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from partnerdesk.benefits.models import Benefit, Entitlement
from partnerdesk.benefits.plans import plan_grant
from tests.browser import LANGUAGES, LOCALES, axe_violations, screenshot, sign_in, t
from tests.factories import (
    CLOUD,
    OTHER,
    CustomerFactory,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    open_request,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
MENU_LINKS = ["#nav-dashboard", "#nav-benefits", "#nav-plans", "#nav-requests"]


def demo_like_partners() -> dict:
    """Contoso (Gold and Silver, CSP, product support active, requests open) and Wide
    World Importers (Gold, Action Pack and a granted Premier Support plan), as in the demo."""
    contoso = OrganizationFactory(name="Contoso Ltd", in_mpn=True, in_csp=True)
    membership(contoso, "gold", CLOUD)
    membership(contoso, "silver", OTHER)
    activate(contoso)
    ann = UserFactory(organization=contoso, email="ann@contoso.example", name="Ann Lee")
    UserFactory(
        organization=contoso, email="carla@contoso.example", name="Carla Novak", is_admin_agent=True
    )
    fabrikam = CustomerFactory(
        organization=contoso, name="Fabrikam", tenant_id="3f2b9c1e-5d4a-4c7e-9a0b-1f2e3d4c5b6a"
    )
    CustomerFactory(
        organization=contoso,
        name="Northwind Traders",
        tenant_id="8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d",
    )
    contract = Entitlement.objects.get(
        organization=contoso, benefit__code="product_support", state="active"
    )
    open_request(ann, contract, title="Availability group failover does not complete", severity="A")
    open_request(ann, contract, title="Event 1014 floods the System log")

    wide_world = OrganizationFactory(name="Wide World Importers")
    membership(wide_world, "gold", "Messaging")
    membership(wide_world, "action_pack")
    hana = UserFactory(organization=wide_world, email="hana@wideworld.example", name="Hana Sato")
    operator = UserFactory(
        organization=None, is_staff=True, email="operator@partnerdesk.example", name="Olga"
    )
    today = timezone.localdate()
    plan_grant(
        operator=operator,
        organization=wide_world,
        plan=Benefit.objects.get(code="premier_support"),
        starts=today,
        ends=today + datetime.timedelta(days=364),
    )
    return {
        "ann": ann.email,
        "carla": "carla@contoso.example",
        "hana": hana.email,
        "operator": operator.email,
        "fabrikam": fabrikam.pk,
        "benefits": {
            ann.email: Entitlement.objects.filter(organization=contoso).count(),
            hana.email: Entitlement.objects.filter(organization=wide_world).count(),
        },
    }


def assert_fits(page: Page, where: str) -> None:
    """No sideways scrolling of the page, and axe finds nothing serious."""
    width = page.evaluate("window.innerWidth")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{where}: the page is {scroll_width} px wide in {width} px"
    assert axe_violations(page) == [], where


def assert_inside_viewport(page: Page, cell, where: str) -> None:
    expect(cell).to_be_visible()
    assert cell.inner_text().strip(), where
    box = cell.bounding_box()
    width = page.viewport_size["width"]
    assert box is not None, where
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{where}: {box} in {width} px"


def check_benefits(page: Page, base_url: str, count: int, language: str, where: str) -> None:
    page.goto(base_url + "/benefits/technical/")
    expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "Technical benefits"))
    rows = page.locator("#benefits-table tbody tr")
    expect(rows).to_have_count(count)
    for index in range(count):
        row = rows.nth(index)
        benefit = row.get_attribute("data-benefit")
        for cell in ("status", "remaining", "expires"):
            assert_inside_viewport(page, row.locator(f"td.{cell}"), f"{where} {benefit} {cell}")
    expect(page.locator("#benefits-table")).not_to_contain_text("_support")
    expect(page.locator("#plans-link")).to_have_text(t(language, "Support plans compared"))


def assert_nav_in_one_row(page: Page) -> None:
    """At desktop width the links stand inline, as before the menu existed: one row."""
    rows = {round(page.locator(link).bounding_box()["y"]) for link in MENU_LINKS}
    assert len(rows) == 1, f"the navigation wraps onto {len(rows)} rows on {page.url}"


def open_menu(page: Page, language: str, phone: bool) -> None:
    menu = page.locator("#nav-menu")
    summary = menu.locator("summary")
    if phone:
        expect(summary).to_have_text(t(language, "Menu"))
        for link in MENU_LINKS:
            expect(page.locator(link)).to_be_hidden()
        # From the keyboard, as a person without a mouse would open it.
        summary.focus()
        page.keyboard.press("Enter")
        expect(menu).to_have_attribute("open", "")
    else:
        expect(summary).to_be_hidden()
        assert_nav_in_one_row(page)
    for link, text in zip(
        MENU_LINKS, ["Dashboard", "Benefits", "Support plans", "Requests"], strict=True
    ):
        expect(page.locator(link)).to_be_visible()
        expect(page.locator(link)).to_have_text(t(language, text))
        assert_inside_viewport(page, page.locator(link), f"menu {link}")


@pytest.mark.parametrize("language", LANGUAGES)
def test_phone_and_desktop(browser, live_server, language):
    people = demo_like_partners()
    base = live_server.url
    for viewport in (PHONE, DESKTOP):
        phone = viewport is PHONE
        suffix = "-phone" if phone else ""
        # axe is injected as a script: the test tool, not the page, steps past the CSP.
        context = browser.new_context(locale=LOCALES[language], viewport=viewport, bypass_csp=True)
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            sign_in(page, base, people["ann"])
            expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "Dashboard"))
            expect(page.locator("#recent-requests tbody tr")).to_have_count(2)
            assert_fits(page, f"{language}{suffix} dashboard")
            screenshot(page, "dashboard" + suffix, language)

            open_menu(page, language, phone)
            if phone:
                screenshot(page, "menu-phone", language)
            page.locator("#nav-plans").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(
                t(language, "Support plans compared")
            )
            expect(page.locator("#nav-plans")).to_have_attribute("aria-current", "page")
            cards, table = page.locator("#plan-cards"), page.locator("#plans-table")
            expect(cards if phone else table).to_be_visible()
            expect(table if phone else cards).to_be_hidden()
            if not phone:
                assert_nav_in_one_row(page)
                last = table.locator("thead th").last
                assert_inside_viewport(page, last, f"{language} plans' last column")
            if phone:
                # Both programs' offers (three of 2021, four of 2025) and the two paid plans.
                expect(cards.locator("article")).to_have_count(9)
                expect(cards).to_contain_text("Partner Success Core")
                expect(cards).to_contain_text("Premier Support for Partners")
            assert_fits(page, f"{language}{suffix} plans")
            screenshot(page, "plans" + suffix, language)

            check_benefits(
                page, base, people["benefits"][people["ann"]], language, f"{language}{suffix}"
            )
            assert_fits(page, f"{language}{suffix} benefits")
            screenshot(page, "benefits" + suffix, language)
            page.locator("#plans-link").click()
            expect(page).to_have_url(base + "/benefits/plans/")

            page.goto(base + "/support/requests/")
            requests = page.locator("#requests-table tbody tr")
            expect(requests).to_have_count(2)
            for index in range(2):
                status = requests.nth(index).locator(".badge").first
                assert_inside_viewport(page, status, f"{language}{suffix} request {index}")
            assert_fits(page, f"{language}{suffix} requests")
            screenshot(page, "requests" + suffix, language)

            context.clear_cookies()
            sign_in(page, base, people["hana"])
            check_benefits(
                page, base, people["benefits"][people["hana"]], language, f"{language}{suffix} hana"
            )
            plan = page.locator("#benefits-table tr[data-benefit=premier_support]")
            paid, premier = (
                t(language, "Paid support plan"),
                t(language, "Premier Support for Partners"),
            )
            expect(plan.locator("td").first).to_have_text(f"{paid} · {premier}")
            expect(page.locator("#benefits-table")).not_to_contain_text("premier_support")
            assert_fits(page, f"{language}{suffix} paid plan benefits")

            context.clear_cookies()
            sign_in(page, base, people["carla"])
            page.goto(base + "/csp/customers/")
            expect(page.locator("#customers-table tbody tr")).to_have_count(2)
            assert_fits(page, f"{language}{suffix} customers")
            page.goto(f"{base}/csp/customers/{people['fabrikam']}/")
            assert_fits(page, f"{language}{suffix} customer")

            context.clear_cookies()
            sign_in(page, base, people["operator"])
            page.goto(base + "/staff/requests/")
            expect(page.locator("#queue-table tbody tr")).to_have_count(2)
            assert_fits(page, f"{language}{suffix} console")
        finally:
            context.close()
