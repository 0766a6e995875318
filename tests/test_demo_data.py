"""`partnerdesk demo-data`: a past of about fourteen months written through the services
and the ledger, so the charts tell a year, `reconcile` is clean, and nobody is e-mailed
about the past; the demo users' pages answer in English, Russian and Polish.

Transactional: the demo clock refuses to run inside a transaction (what the services
queue on commit must be queued while it runs), as the command runs outside tests."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from partnerdesk.accounts.models import User
from partnerdesk.benefits.models import Entitlement, EntitlementState, LedgerEntry, LedgerKind
from partnerdesk.onboarding.demo_history import DemoClockRefused, demo_clock
from partnerdesk.support.models import SupportRequest
from partnerdesk.support.reconcile import reconcile
from tests.test_dates_and_charts import AXIS_MONTHS, chart_svgs, month_labels, visible_text

real_now = timezone.now


@pytest.fixture
def demo(transactional_db):
    from django_tasks_db.models import DBTaskResult

    started = real_now()
    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return started, DBTaskResult


def test_the_demo_spans_more_than_a_year_through_the_ledger(demo, today):
    started, tasks = demo
    assert timezone.now is real_now  # the clock is put back

    months = {(d.year, d.month) for d in LedgerEntry.objects.values_list("created_at", flat=True)}
    assert len(months) >= 12
    oldest = LedgerEntry.objects.order_by("created_at").first().created_at.date()
    assert (today - oldest).days > 365
    assert not LedgerEntry.objects.filter(created_at__gt=real_now()).exists()
    kinds = set(LedgerEntry.objects.values_list("kind", flat=True))
    assert {LedgerKind.GRANT, LedgerKind.CONSUME, LedgerKind.REFUND, LedgerKind.EXPIRE} <= kinds
    # Requests, refunds, activations and an expiry, dated in the past.
    past = started - datetime.timedelta(days=30)
    assert SupportRequest.objects.filter(created_at__lt=past).count() >= 30
    assert SupportRequest.objects.filter(refunded_at__lt=past).count() >= 3
    assert Entitlement.objects.filter(activated_at__lt=past).count() >= 5
    assert Entitlement.objects.filter(state=EntitlementState.EXPIRED).exists()
    assert Entitlement.objects.filter(state=EntitlementState.LAPSED).exists()
    entitlements, problems = reconcile()
    assert entitlements >= 10 and problems == []
    # Nobody was told about the past: no e-mail, nothing queued before the command ran.
    assert mail.outbox == []
    assert not tasks.objects.filter(enqueued_at__lt=started).exists()
    assert not tasks.objects.filter(task_path__endswith="complete_activation").exists()

    # Running it again adds nothing to the past.
    count = LedgerEntry.objects.count()
    call_command("demo_data", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert LedgerEntry.objects.count() == count
    assert reconcile()[1] == []


def test_the_demo_charts_show_the_year_with_today(demo, client, today):
    ann = User.objects.get(email="ann@contoso.example")
    contract = Entitlement.objects.get(
        organization__partner_id="4711001", benefit__code="product_support"
    )
    client.force_login(ann)
    html = client.get(f"/benefits/technical/{contract.pk}/").content.decode()
    (svg,) = chart_svgs(html)
    labels = month_labels(svg)
    assert len(labels) >= 12 and set(labels) == set(AXIS_MONTHS["en"])
    points = [
        p.split(",") for p in svg.find("{http://www.w3.org/2000/svg}polyline").get("points").split()
    ]
    heights = {float(y) for _, y in points}
    assert len(heights) >= 8  # use rose month after month, not all on one day
    assert any(g.get("class") == "today" for g in svg.iter("{http://www.w3.org/2000/svg}g"))


def test_the_demo_clock_is_refused_outside_the_command(db):
    with pytest.raises(DemoClockRefused), demo_clock():
        pass
    assert timezone.now is real_now


DEMO_USERS = [
    "ann@contoso.example",
    "carla@contoso.example",
    "eve@outlook.example",
    "fay@fourthcoffee.example",
    "gus@tailspin.example",
    "hana@wideworld.example",
    "ivan@adventure-works.example",
    "kim@litware.example",
    "lea@proseware.example",
]
PAGES = [
    "/dashboard/",
    "/benefits/technical/",
    "/benefits/plans/",
    "/support/requests/",
    "/notices/",
]


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "ru", "pl"])
def test_a_walk_over_the_demo_users_main_pages(demo, client, language):
    from django.utils import translation

    with translation.override(language):
        dashboard = translation.gettext("Dashboard")
    walked = 0
    for email in DEMO_USERS:
        user = User.objects.get(email=email)
        user.language = language
        user.save(update_fields=["language"])
        client.force_login(user)
        organization = user.organization
        urls = list(PAGES if organization.in_mpn else ["/dashboard/", "/support/requests/"])
        if organization.in_csp and (user.is_admin_agent or user.is_helpdesk_agent):
            urls.append("/csp/customers/")
        urls += [
            f"/benefits/technical/{e.pk}/" for e in Entitlement.objects.for_user(user).visible()
        ]
        urls += [f"/support/requests/{r.pk}/" for r in SupportRequest.objects.for_user(user)[:3]]
        for url in urls:
            answer = client.get(url, follow=True)
            assert answer.status_code == 200, (email, url)
            text = visible_text(answer.content.decode())
            assert f'lang="{language}"' in answer.content.decode()
            assert len(text) > 200, (email, url)
            assert "г.." not in text, (email, url)
            assert not re.search(r"\b\d\d-\d\d-\d{4}\b", text), (email, url)
            walked += 1
        if organization.in_mpn:
            text = visible_text(client.get("/dashboard/").content.decode())
            assert dashboard in text
    assert walked > 50


VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "ru", "pl"])
def test_the_demo_charts_in_chromium(demo, browser, live_server, language):
    """The charts drawn at a readable size on a desktop and on a phone: inside the
    viewport, month labels of ordinary text size, the today line shown."""
    from playwright.sync_api import expect

    from tests.browser import LOCALES, screenshot, sign_in
    from tests.factories import PASSWORD

    ann = User.objects.get(email="ann@contoso.example")
    ann.set_password(PASSWORD)
    ann.language = language
    ann.save(update_fields=["password", "language"])
    contract = Entitlement.objects.get(
        organization__partner_id="4711001", benefit__code="product_support"
    )
    for name, viewport in VIEWPORTS.items():
        context = browser.new_context(locale=LOCALES[language], viewport=viewport)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            sign_in(page, live_server.url, ann.email)
            expect(page.locator("#benefit-cards svg.usage-chart").first).to_be_visible()
            screenshot(page, f"chart-dashboard-{name}", language)
            page.goto(f"{live_server.url}/benefits/technical/{contract.pk}/")
            chart = page.locator("svg.usage-chart.wide")
            chart.scroll_into_view_if_needed()
            expect(chart).to_be_visible()
            box = chart.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
            assert box["width"] <= 720 and box["height"] <= 230
            labels = chart.locator("text.month")
            assert labels.count() >= 12
            heights = [labels.nth(i).bounding_box()["height"] for i in range(labels.count())]
            # Ordinary label sizes, not a picture scaled up (nor shrunk past reading).
            assert all(7 <= h <= 20 for h in heights), heights
            expect(chart.locator("g.today line")).to_have_count(1)
            screenshot(page, f"chart-benefit-{name}", language)
        finally:
            context.close()
