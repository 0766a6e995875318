"""axe-core in Chromium on every portal page, in each language: no serious or critical
violations."""

import pytest

from partnerdesk.benefits.models import Entitlement
from partnerdesk.notices.services import notices_send_due
from tests.browser import LANGUAGES, LOCALES, axe_violations
from tests.factories import (
    PASSWORD,
    CustomerFactory,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    open_request,
)

pytestmark = pytest.mark.browser


def world():
    """One of everything a page can show."""
    contoso = OrganizationFactory(name="Contoso", in_mpn=True, in_csp=True)
    membership(contoso, "action_pack")
    activate(contoso)
    contract = Entitlement.objects.get(organization=contoso, state="active")
    ann = UserFactory(organization=contoso, email="ann@a11y.example", is_global_admin=True)
    UserFactory(organization=contoso, email="carla@a11y.example", is_admin_agent=True)
    customer = CustomerFactory(organization=contoso, name="Fabrikam")
    request = open_request(ann, contract, title="Cluster down", severity="A")
    for _ in range(5):
        open_request(ann, contract)
    notices_send_due()
    UserFactory(
        organization=OrganizationFactory(in_mpn=False, in_csp=True), email="kim@a11y.example"
    )
    UserFactory(organization=None, is_staff=True, email="sam@a11y.example")
    c, r = customer.pk, request.pk
    return {
        None: ["/login/", "/password-reset/", "/password-reset/sent/", "/no-such-page/"],
        "ann@a11y.example": [
            "/dashboard/",
            "/benefits/technical/",
            f"/benefits/technical/{contract.pk}/",
            "/benefits/plans/",
            "/support/requests/",
            "/support/requests/new/",
            f"/support/requests/{r}/",
            "/notices/",
        ],
        "carla@a11y.example": [
            "/csp/customers/",
            f"/csp/customers/{c}/",
            f"/csp/customers/{c}/requests/new/?workload=azure",
            f"/csp/customers/{c}/requests/new/?workload=microsoft_365",
        ],
        "kim@a11y.example": ["/benefits/technical/", "/dashboard/"],
        "sam@a11y.example": ["/staff/requests/", f"/staff/requests/{r}/", "/staff/sla/"],
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_serious_or_critical_violations_on_any_page(browser, live_server, language):
    pages = world()
    found = {}
    for email, paths in pages.items():
        # axe is injected as a script: the test tool, not the page, steps past the CSP.
        context = browser.new_context(locale=LOCALES[language], bypass_csp=True)
        page = context.new_page()
        if email:
            page.goto(live_server.url + "/login/")
            page.locator("#id_username").fill(email)
            page.locator("#id_password").fill(PASSWORD)
            page.locator("main form button[type=submit]").click()
            page.wait_for_load_state()
        for path in paths:
            page.goto(live_server.url + path)
            assert page.locator("html").get_attribute("lang") == language, path
            violations = axe_violations(page)
            if violations:
                found[path] = violations
        context.close()
    assert found == {}
