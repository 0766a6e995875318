"""Issue 16 in the portal and the engineers' console. In a real Chromium, at desktop
width and on a 390 px phone (nothing scrolls sideways): a partner opens an advisory
request for 1.5 hours (told first that the estimate is missing, then that 6 hours are
more than the hours left), sees the reservation on the request and the advisory hours
going down on the benefits pages; an engineer logs 2 hours and closes it; the partner
sees the settlement. Over the Django test client: the category choice and its
descriptions, a frontline question, and the console's refusal to go below zero without
the operator's override, then with it."""

import re

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from partnerdesk.benefits.models import Entitlement, LedgerEntry
from partnerdesk.support.models import SupportRequest
from partnerdesk.support.reconcile import reconcile
from partnerdesk.support.services import (
    SupportRequestDraft,
    support_request_create,
    time_entry_add,
)
from tests.browser import screenshot, sign_in
from tests.factories import OrganizationFactory, UserFactory, activate, membership, product

LANGUAGE = "en"  # the new texts are not in the catalogs yet: English only
WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture(autouse=True)
def reconciled(db):
    yield
    assert reconcile()[1] == []


@pytest.fixture
def organization():
    organization = OrganizationFactory(name="Contoso")
    membership(organization, "success_core", program="ai-cloud-2025")  # 2 incidents, 5 hours
    activate(organization)
    return organization


def hours_contract(organization) -> Entitlement:
    return Entitlement.objects.get(
        organization=organization, benefit__code="advisory_hours", state="active"
    )


def no_sideways_scrolling(page: Page) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


def submit(page: Page) -> None:
    page.locator("#request-form button[type=submit]").click()
    page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.parametrize("device", list(WIDTHS))
def test_an_advisory_request_from_reservation_to_settlement(
    browser, live_server, organization, device
):
    partner = UserFactory(organization=organization, email="ann@contoso.example", name="Ann Lee")
    UserFactory(organization=None, is_staff=True, email="sam@support.example", name="Sam Ito")
    hours = hours_contract(organization)
    suffix = "" if device == "desktop" else "-phone"
    url = live_server.url
    context = browser.new_context(locale="en-US", viewport={"width": WIDTHS[device], "height": 900})
    page = context.new_page()
    sign_in(page, url, partner.email)

    page.goto(url + "/support/requests/new/")
    expect(page.locator("#category input[value=technical]")).to_be_checked()
    expect(page.locator("#estimate")).to_be_hidden()
    with page.expect_response(lambda r: "/plans/" in r.url):
        page.locator("#category input[value=advisory]").check()
    plans = page.locator("#plans")
    expect(plans).to_contain_text(hours.contract_id)
    expect(plans).to_contain_text("5 of 5 hours left")
    expect(page.locator("#estimate")).to_be_visible()
    # Another product keeps the advisory hours in the picker.
    with page.expect_response(lambda r: "/plans/" in r.url):
        page.locator("#id_product").select_option(label="Azure")
    expect(plans).to_contain_text(hours.contract_id)
    page.locator("#id_access_id").fill(hours.access_id)
    page.locator("#id_contract_id").fill(hours.contract_id)
    page.locator("#id_title").fill("Landing zone design review")
    page.locator("#id_description").fill("We plan a hub-and-spoke network for 40 subscriptions.")
    no_sideways_scrolling(page)
    screenshot(page, "advisory-new" + suffix, LANGUAGE)

    # Without an estimate: said on the field, nothing written.
    submit(page)
    estimate_error = page.locator("#estimate .field-error")
    expect(estimate_error).to_contain_text("Say how long you expect the advice to take")
    # More than the hours left: said with the hours left.
    expect(page.locator("#category input[value=advisory]")).to_be_checked()
    page.locator("#id_estimate_hours").fill("6")
    submit(page)
    expect(page.locator("#form-error")).to_contain_text("Not enough advisory hours")
    expect(page.locator("#form-error")).to_contain_text("5 hours left on this contract")
    no_sideways_scrolling(page)
    screenshot(page, "advisory-insufficient" + suffix, LANGUAGE)
    assert SupportRequest.objects.count() == 0

    page.locator("#id_estimate_hours").fill("1.5")
    submit(page)
    expect(page.locator("main .notice-success")).to_contain_text(
        f"Reserved from contract {hours.contract_id}: 1.5 hours."
    )
    request = SupportRequest.objects.get()
    expect(page.locator("#request-category")).to_have_text("Advisory (presales and deployment)")
    expect(page.locator("#hours-reserved")).to_have_text("1.5 hours")
    expect(page.locator("#hours-logged")).to_have_text("0 hours")
    expect(page.locator("#hours-settled")).to_have_count(0)
    expect(page.locator("#support-plan")).not_to_contain_text("incident")
    no_sideways_scrolling(page)
    screenshot(page, "advisory-reserved" + suffix, LANGUAGE)

    page.goto(url + "/benefits/technical/")
    row = page.locator("#benefits-table tr[data-benefit=advisory_hours]")
    expect(row.locator("td.num")).to_have_text(["5 hours", "1.5", "3.5"])
    no_sideways_scrolling(page)
    row.locator("a").first.click()
    expect(page.locator("#remaining-of")).to_have_text("3.5 of 5 hours")
    no_sideways_scrolling(page)
    screenshot(page, "advisory-benefit" + suffix, LANGUAGE)

    # The engineer logs 2 hours and closes the request.
    console = browser.new_context(
        locale="en-US", viewport={"width": WIDTHS[device], "height": 900}
    ).new_page()
    sign_in(console, url, "sam@support.example")
    console.goto(f"{url}/staff/requests/{request.pk}/")
    expect(console.locator("#no-time")).to_be_visible()
    console.locator("#id_minutes").fill("120")
    console.locator("#id_note").fill("Design workshop")
    console.locator("#log-time").click()
    expect(console.locator("main .notice-success")).to_contain_text("2 hours logged.")
    expect(console.locator("#time-entries tbody tr")).to_have_count(1)
    expect(console.locator("#time-entries tbody")).to_contain_text("Design workshop")
    expect(console.locator("#time-total")).to_have_text("2 hours")
    expect(console.locator("#close-form")).to_contain_text(
        "Allow going below zero (operator override)"
    )
    no_sideways_scrolling(console)
    screenshot(console, "advisory-console" + suffix, LANGUAGE)
    console.locator("#id_resolution").select_option("solved")
    console.locator("#close-form button[type=submit]").click()
    expect(console.locator("main .notice-success")).to_contain_text(
        "The request is closed and its hours settled."
    )
    expect(console.locator("#time-form")).to_have_count(0)
    console.context.close()

    page.goto(f"{url}/support/requests/{request.pk}/")
    expect(page.locator("#hours-logged")).to_have_text("2 hours")
    expect(page.locator("#hours-settled")).to_have_text(
        "2 hours used; 0.5 hours more than reserved charged"
    )
    no_sideways_scrolling(page)
    screenshot(page, "advisory-settled" + suffix, LANGUAGE)
    page.goto(url + "/benefits/technical/")
    expect(row.locator("td.num")).to_have_text(["5 hours", "2", "3"])
    context.close()


# --- the same pages over the Django test client ---------------------------------------


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def advisory(user, estimate_minutes: int) -> SupportRequest:
    hours = hours_contract(user.organization)
    return support_request_create(
        user=user,
        draft=SupportRequestDraft(
            product_id=product("Azure").pk,
            severity="B",
            title="Sizing",
            description="d",
            category="advisory",
            estimate_minutes=estimate_minutes,
            contract_id=hours.contract_id,
            access_id=hours.access_id,
        ),
    )


def test_the_form_offers_the_categories_in_order_with_their_descriptions(organization):
    page = signed_in(UserFactory(organization=organization)).get("/support/requests/new/")

    assert page.status_code == 200
    html = page.content.decode()
    names = [
        "Technical problem",
        "Billing, quota or subscription",
        "Frontline question",
        "Advisory (presales and deployment)",
    ]
    positions = [html.index(name) for name in names]
    assert positions == sorted(positions)
    assert "Questions the frontline team answers" in html
    radios = dict(re.findall(r'<input type="radio" name="category" value="(\w+)"([^>]*)>', html))
    assert list(radios) == ["technical", "billing", "frontline", "advisory"]
    assert [code for code, attrs in radios.items() if "checked" in attrs] == ["technical"]
    assert 'step="0.25"' in html and 'min="0.25"' in html
    # The picker starts with the incident contracts only: no hours offered as incidents.
    assert "advisory hours" not in html.split('id="plans"')[1].split("</fieldset>")[0].lower()


def test_the_plan_picker_follows_the_category(organization):
    client = signed_in(UserFactory(organization=organization))
    azure = product("Azure").pk

    advisory_plans = client.get(f"/support/requests/new/plans/?product={azure}&category=advisory")
    frontline_plans = client.get(f"/support/requests/new/plans/?product={azure}&category=frontline")
    technical_plans = client.get(f"/support/requests/new/plans/?product={azure}")

    assert "5 of 5 hours left" in advisory_plans.content.decode()
    assert "Partner Cloud Support" not in advisory_plans.content.decode()
    assert "Frontline questions are free" in frontline_plans.content.decode()
    assert 'name="contract"' not in frontline_plans.content.decode()
    assert "Partner Cloud Support" in technical_plans.content.decode()
    assert "hours left" not in technical_plans.content.decode()


def test_a_frontline_question_from_the_form_costs_nothing(organization):
    client = signed_in(UserFactory(organization=organization))
    before = list(Entitlement.objects.order_by("pk").values_list("balance", flat=True))

    response = client.post(
        "/support/requests/new/",
        {
            "category": "frontline",
            "estimate_hours": "3",  # ignored: only advisory requests take an estimate
            "product": product("Azure").pk,
            "severity": "C",
            "title": "Where is the quota page?",
            "description": "We cannot find it.",
        },
        follow=True,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "Frontline questions are free: nothing was charged." in html
    assert "Frontline question: nothing is charged" in html
    request = SupportRequest.objects.get()
    assert (request.charged, request.entitlement_id, request.estimate_minutes) == (
        False,
        None,
        None,
    )
    assert list(Entitlement.objects.order_by("pk").values_list("balance", flat=True)) == before


def test_the_console_refuses_to_go_below_zero_without_the_override(organization):
    partner = UserFactory(organization=organization)
    engineer = UserFactory(organization=None, is_staff=True)
    request = advisory(partner, 240)  # 4 of the 5 hours reserved
    time_entry_add(engineer=engineer, request_id=request.pk, minutes=420)  # 7 hours
    console = signed_in(engineer)
    page = console.get(f"/staff/requests/{request.pk}/").content.decode()
    assert "Allow going below zero (operator override)" in page
    assert 'id="time-total">7 hours<' in page

    refused = console.post(
        f"/staff/requests/{request.pk}/close/", {"resolution": "solved"}, follow=True
    )

    html = refused.content.decode()
    assert "Not enough advisory hours" in html
    assert "an operator&#x27;s override is needed to go below zero" in html
    request.refresh_from_db()
    assert (request.status, request.settled_at) == ("open", None)

    closed = console.post(
        f"/staff/requests/{request.pk}/close/",
        {"resolution": "solved", "overdraw": "on"},
        follow=True,
    )

    assert "The request is closed and its hours settled." in closed.content.decode()
    assert hours_contract(organization).balance == -120
    settle = LedgerEntry.objects.get(support_request=request, kind="settle")
    assert (settle.delta, settle.overdraw) == (-180, True)
    partner_page = signed_in(partner).get(f"/support/requests/{request.pk}/").content.decode()
    assert "7 hours used; 3 hours more than reserved charged" in partner_page


def test_time_is_logged_by_engineers_only_and_on_advisory_requests(organization):
    partner = UserFactory(organization=organization)
    engineer = UserFactory(organization=None, is_staff=True)
    request = advisory(partner, 60)
    console = signed_in(engineer)

    as_partner = signed_in(partner).post(f"/staff/requests/{request.pk}/time/", {"minutes": 30})
    too_long = console.post(f"/staff/requests/{request.pk}/time/", {"minutes": 2000}, follow=True)
    logged = console.post(
        f"/staff/requests/{request.pk}/time/", {"minutes": 20, "note": "Call"}, follow=True
    )

    assert as_partner.status_code == 403
    assert "Ensure this value is less than or equal to 1440." in too_long.content.decode()
    assert "0.33 hours logged." in logged.content.decode()
    assert list(request.time_entries.values_list("minutes", "note")) == [(20, "Call")]
    # A request that is not advisory has no time form, and refuses time.
    incidents = Entitlement.objects.get(
        organization=organization, benefit__code="partner_cloud_support", state="active"
    )
    technical = support_request_create(
        user=partner,
        draft=SupportRequestDraft(
            product_id=product("Azure").pk,
            severity="C",
            title="t",
            description="d",
            contract_id=incidents.contract_id,
            access_id=incidents.access_id,
        ),
    )
    page = console.get(f"/staff/requests/{technical.pk}/").content.decode()
    assert 'id="time-form"' not in page and "operator override" not in page
    refused = console.post(f"/staff/requests/{technical.pk}/time/", {"minutes": 5}, follow=True)
    assert "Time is logged on advisory requests only." in refused.content.decode()


def test_the_benefit_page_counts_the_ledger_in_hours(organization):
    partner = UserFactory(organization=organization)
    advisory(partner, 90)

    page = signed_in(partner).get(f"/benefits/technical/{hours_contract(organization).pk}/")

    html = page.content.decode()
    assert "Hours ledger" in html and "Incident ledger" not in html
    cells = re.findall(r'<td class="num">([^<]*)</td>', html)
    # Grant of 5 hours, then the reservation of 1.5: changes and balances in hours.
    assert cells == ["+5", "5", "-1.5", "3.5"], cells
    assert 'id="remaining-of">3.5 of 5 hours<' in html
