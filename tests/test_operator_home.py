"""The operators' home page (``/staff/``): pending activations, the requests whose first
response is due soonest, organizations low on incidents and recent refunds, each row
linked to its page; for support engineers only, in a fixed number of queries, and
readable on a phone."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from partnerdesk.benefits.activation import activation_request
from partnerdesk.benefits.ledger import ledger_post
from partnerdesk.benefits.models import Entitlement
from partnerdesk.support import overview
from tests.browser import LANGUAGES, LOCALES, screenshot, t
from tests.factories import (
    OTHER,
    PASSWORD,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    open_request,
)

TRANSACTION_CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "ROLLBACK")


def desk(n: int = 1) -> dict:
    """``n`` of everything the page lists, and what it must leave out."""
    made = {"pending": [], "requests": [], "low": [], "refunds": [], "plenty": []}
    for i in range(n):
        waiting = OrganizationFactory(name=f"Waiting {i} Ltd")
        membership(waiting, "action_pack")
        admin = UserFactory(organization=waiting, is_global_admin=True)
        contract = Entitlement.objects.get(organization=waiting)
        made["pending"].append(
            activation_request(user=admin, entitlement_id=contract.pk).activation
        )

        low = OrganizationFactory(name=f"Lowbalance {i} Ltd")
        membership(low, "action_pack")  # 10 incidents
        activate(low)
        user = UserFactory(organization=low, is_global_admin=True)
        contract = Entitlement.objects.get(organization=low, state="active")
        requests = [open_request(user, contract, title=f"Low {i} #{k}") for k in range(9)]
        made["low"].append(contract)
        made["requests"].extend(requests)
        ledger_post(
            entitlement_id=contract.pk,
            kind="refund",
            delta=1,
            support_request_id=requests[0].pk,
        )
        made["refunds"].append(requests[0])

        plenty = OrganizationFactory(name=f"Plenty {i} Ltd")
        membership(plenty, "gold", OTHER)
        activate(plenty)
        made["plenty"].append(plenty)
    return made


@pytest.fixture
def operator(client):
    user = UserFactory(organization=None, is_staff=True, email="op@vendor.example")
    client.force_login(user)
    return user


def section(html: str, name: str) -> str:
    match = re.search(rf'<section id="overview-{name}".*?</section>', html, re.S)
    assert match, name
    return match.group(0)


def test_each_section_lists_what_needs_an_operator(client, operator):
    made = desk()
    html = client.get(reverse("web:staff_home")).content.decode()

    activations = section(html, "activations")
    [pending] = made["pending"]
    assert "Waiting 0 Ltd" in activations
    assert reverse("admin:benefits_activation_change", args=[pending.pk]) in activations
    assert pending.due_at.strftime("%m/%d/%Y") in activations  # when it completes
    assert "Lowbalance" not in activations

    requests = section(html, "requests")
    soonest = min(made["requests"], key=lambda r: (r.first_response_due, r.pk))
    assert reverse("web:staff_request", args=[soonest.pk]) in requests
    assert "Lowbalance 0 Ltd" in requests
    assert requests.count('<td data-label="#">') == 9  # every one still waiting
    assert "Due soon" in requests or "On track" in requests

    low = section(html, "low")
    [contract] = made["low"]
    assert "Lowbalance 0 Ltd" in low and "2 of 10" in low  # 9 used, one refunded
    assert reverse("admin:partners_organization_change", args=[contract.organization_id]) in low
    assert "Plenty" not in low and "Waiting" not in low

    refunds = section(html, "refunds")
    [refunded] = made["refunds"]
    assert reverse("web:staff_request", args=[refunded.pk]) in refunds
    assert f"#{refunded.pk} Low 0 #0" in refunds


def test_empty_sections_say_so(client, operator):
    html = client.get(reverse("web:staff_home")).content.decode()
    assert "No activation is pending." in html
    assert "No request is waiting for its first response." in html
    assert "No organization is running low." in html
    assert "No refund yet." in html


def test_failing_webhooks_are_told_with_a_link_to_resume_them(client, operator, settings):
    from partnerdesk.webhooks.models import EndpointState, WebhookEndpoint
    from partnerdesk.webhooks.services import EndpointDraft, webhook_endpoint_create

    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True
    assert 'id="overview-webhooks"' not in client.get(reverse("web:staff_home")).content.decode()
    healthy = webhook_endpoint_create(
        operator=None, draft=EndpointDraft(url="http://127.0.0.1:8081/ok")
    )
    failing = webhook_endpoint_create(
        operator=None, draft=EndpointDraft(url="http://127.0.0.1:8082/crm", description="CRM")
    )
    WebhookEndpoint.objects.filter(pk=failing.pk).update(
        state=EndpointState.FAILING, failing_since=timezone.now()
    )
    html = section(client.get(reverse("web:staff_home")).content.decode(), "webhooks")
    assert "Failing webhooks" in html and "resume each one in the admin" in html
    change = reverse("admin:webhooks_webhookendpoint_change", args=[failing.pk])
    assert f'href="{change}">http://127.0.0.1:8082/crm</a>' in html
    assert "CRM" in html and healthy.url not in html


def test_only_support_engineers_see_it(client):
    assert client.get(reverse("web:staff_home")).status_code == 302  # sign in first
    organization = OrganizationFactory()
    client.force_login(UserFactory(organization=organization, is_global_admin=True))
    refused = client.get(reverse("web:staff_home"))
    assert refused.status_code == 403
    assert "Waiting" not in refused.content.decode()


def test_operators_land_on_it_and_partners_do_not(client, operator):
    assert client.get(reverse("web:home"))["Location"] == reverse("web:staff_home")
    assert client.get(reverse("web:dashboard"))["Location"] == reverse("web:staff_home")
    page = client.get(reverse("web:staff_home")).content.decode()
    assert 'id="nav-overview"' in page
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    client.force_login(UserFactory(organization=organization))
    assert client.get(reverse("web:home"))["Location"] == reverse("web:dashboard")
    assert client.get(reverse("web:dashboard")).status_code == 200
    assert 'id="nav-overview"' not in client.get(reverse("web:dashboard")).content.decode()


def queries_for(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("web:staff_home")).status_code == 200
    return sum(1 for q in captured if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL))


# The session, the user, the unread notices, then one query per section (the failing
# webhooks' included, shown only when there are some).
BUDGET = 9


def test_the_page_reads_a_fixed_number_of_statements(client, operator):
    desk(1)
    few = queries_for(client)
    desk(2)  # 27 requests waiting: more than a section shows
    assert queries_for(client) == few <= BUDGET
    html = client.get(reverse("web:staff_home")).content.decode()
    assert section(html, "requests").count('<td data-label="#">') == overview.LIMIT


def test_the_overview_never_writes(operator):
    desk(1)
    with CaptureQueriesContext(connection) as captured:
        overview.staff_overview()
    statements = [q["sql"].lstrip().split()[0].upper() for q in captured]
    assert statements == ["SELECT"] * 4


@pytest.mark.browser
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_page_on_a_phone(browser, live_server, language, settings):
    from partnerdesk.webhooks.models import EndpointState, WebhookEndpoint
    from partnerdesk.webhooks.services import EndpointDraft, webhook_endpoint_create

    desk(1)
    settings.PARTNERDESK_WEBHOOKS_ALLOW_PRIVATE = True
    long_url = "http://127.0.0.1:8082/hooks/partnerdesk/support-benefits/events?source=crm"
    failing = webhook_endpoint_create(operator=None, draft=EndpointDraft(url=long_url))
    WebhookEndpoint.objects.filter(pk=failing.pk).update(
        state=EndpointState.FAILING, failing_since=timezone.now()
    )
    UserFactory(organization=None, is_staff=True, email="op@vendor.example", language=language)
    context = browser.new_context(locale=LOCALES[language], viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(live_server.url + "/login/")
        page.locator("#id_username").fill("op@vendor.example")
        page.locator("#id_password").fill(PASSWORD)
        page.locator("main form button[type=submit]").click()
        expect(page).to_have_url(f"{live_server.url}/staff/")
        expect(page.get_by_role("heading", level=1)).to_have_text(t(language, "Overview"))
        for title in (
            "First response due soonest",
            "Pending activations",
            "Organizations low on incidents",
            "Recent refunds",
            "Failing webhooks",
        ):
            expect(page.get_by_role("heading", level=2, name=t(language, title))).to_be_visible()
        # Cards, not a table cut at the edge: nothing wider than the phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for name in ("activations", "low", "refunds", "requests", "webhooks"):
            link = page.locator(f"#overview-{name} tbody tr a").first
            expect(link).to_be_visible()
            box = link.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        low = page.locator("#overview-low tbody tr").first
        expect(low).to_contain_text("Lowbalance 0 Ltd")
        screenshot(page, "staff-home", language)
    finally:
        context.close()
