"""The first-response clock as people see it, in a real Chromium, in English, Russian and
Polish: the request page's topic and due time with the time left and its state (desktop
and phone), the topic select following the product, and the engineers' SLA report."""

import datetime

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from partnerdesk.benefits.models import Entitlement
from partnerdesk.support.models import BusinessCalendar, SupportRequest, SupportTopic
from partnerdesk.support.services import SupportRequestDraft, support_request_create
from partnerdesk.web.templatetags.sla_clock import time_left
from tests.browser import (
    LANGUAGES,
    LOCALES,
    axe_violations,
    screenshot,
    sign_in,
    t,
)
from tests.factories import OTHER, OrganizationFactory, UserFactory, activate, membership, product

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_clock_on_the_request_page_the_topics_and_the_report(browser, live_server, language):
    organization = OrganizationFactory(name="Fabrikam Polska")
    membership(organization, "gold", OTHER)
    activate(organization)
    calendar = BusinessCalendar.objects.create(name="Warszawa", time_zone="Europe/Warsaw")
    calendar.organizations.add(organization)
    partner = UserFactory(organization=organization, email="ola@fabrikam.example", name="Ola Nowak")
    engineer = UserFactory(organization=None, is_staff=True, email="eng@support.example")
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    topic = SupportTopic.objects.get(family="SQL Server", code="high_availability")
    opened = support_request_create(
        user=partner,
        draft=SupportRequestDraft(
            product_id=product("SQL Server", "2022").pk,
            severity="B",
            title="Replica stays behind",
            description="Since the CU the secondary replica lags by hours.",
            contract_id=contract.contract_id,
            access_id=contract.access_id,
            topic_id=topic.pk,
        ),
    )
    now = timezone.now()
    left = datetime.timedelta(hours=1, minutes=20, seconds=55)
    SupportRequest.objects.filter(pk=opened.pk).update(
        first_response_due=now + left, sla_warning_at=now - datetime.timedelta(minutes=1)
    )
    with translation.override(language):
        expected_left = time_left(left.total_seconds())

    def context(width: int, **options):
        return browser.new_context(
            locale=LOCALES[language], viewport={"width": width, "height": 900}, **options
        )

    desktop = context(1280)
    page = desktop.new_page()
    sign_in(page, live_server.url, partner.email)
    page.goto(f"{live_server.url}/support/requests/{opened.pk}/")
    clock = page.locator("#first-response")
    expect(clock).to_contain_text(expected_left)
    expect(clock.locator(".badge-sla-warning")).to_have_text(t(language, "Due soon"))
    expect(clock).to_contain_text("Europe/Warsaw")
    expect(page.locator("#request-topic")).to_have_text(
        t(language, "Always On, backup and restore")
    )
    screenshot(page, "request-sla", language)

    # The topic select follows the product (htmx: with the plan picker, out of band).
    page.goto(live_server.url + "/support/requests/new/")
    with page.expect_response(lambda r: "/plans/" in r.url):
        page.locator("#id_product").select_option(label="SQL Server 2022")
    expect(page.locator("#id_topic")).to_contain_text(t(language, "Database engine and queries"))
    with page.expect_response(lambda r: "/plans/" in r.url):
        page.locator("#id_product").select_option(label="Azure")
    expect(page.locator("#id_topic")).to_contain_text(t(language, "Virtual machines"))
    expect(page.locator("#id_topic")).not_to_contain_text(
        t(language, "Database engine and queries")
    )
    desktop.close()

    phone = context(390)
    page = phone.new_page()
    sign_in(page, live_server.url, partner.email)
    page.goto(f"{live_server.url}/support/requests/{opened.pk}/")
    expect(page.locator("#first-response")).to_contain_text(t(language, "Due soon"))
    screenshot(page, "request-sla-phone", language)
    phone.close()

    # Earlier months for the report: per severity, some answered in time, some late.
    from partnerdesk.support.sla_report import first_month

    hour = datetime.timedelta(hours=1)
    groups = 1  # this month's B, still running
    for months_back, pattern in [(1, {"A": (5, 1), "B": (9, 2), "C": (4, 0)}), (2, {"B": (6, 3)})]:
        start = first_month(now, months_back + 1) + 30 * hour
        for severity, (met, late) in pattern.items():
            groups += 1
            made = [
                SupportRequest.objects.create(
                    organization=organization,
                    opened_by=partner,
                    product=opened.product,
                    severity=severity,
                    title=f"Earlier {severity}{i}",
                    description="d",
                    status="resolved",
                    first_response_due=start + hour,
                    first_responded_at=start + (hour / 2 if i < met else 3 * hour),
                    closed_at=start + 5 * hour,
                ).pk
                for i in range(met + late)
            ]
            SupportRequest.objects.filter(pk__in=made).update(created_at=start)

    # The engineer: the console links to the report.
    desktop = context(1280, bypass_csp=True)  # axe is injected as an inline script
    page = desktop.new_page()
    sign_in(page, live_server.url, engineer.email)
    page.goto(live_server.url + "/staff/requests/")
    page.locator("#sla-report-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "First-response report"))
    rows = page.locator("#sla-table tbody tr")
    expect(rows).to_have_count(groups)
    expect(rows.first.locator("td").nth(1)).to_have_text("B")  # newest month first
    totals = page.locator("#sla-totals")
    expect(totals).to_contain_text("83")  # A: 5 of 6
    expect(totals).to_contain_text("75")  # B: 15 of 20 decided (this month's is running)
    assert axe_violations(page) == []
    screenshot(page, "sla-report", language)
    desktop.close()
