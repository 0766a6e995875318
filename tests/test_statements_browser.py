"""The benefit page's statement and forecast as a partner sees them, in a real Chromium on
a phone and a desktop, in English, Russian and Polish: the period form fits the screen,
"Statement (PDF)" downloads a PDF whose text (pdftotext) is in the page's language with
the organization's name, and "Statement (CSV)" a CSV of the same period."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from partnerdesk.benefits.models import Entitlement
from partnerdesk.core.quantities import quantity_text
from tests.browser import LANGUAGES, LOCALES, axe_violations, screenshot, sign_in, t
from tests.factories import OTHER, OrganizationFactory, UserFactory, activate, membership
from tests.factories import open_request as open_charged_request

pytestmark = [pytest.mark.browser]

NAMES = {"en": "Contoso Ltd", "ru": "ООО «Ромашка»", "pl": "Żółta Łódź Sp. z o.o."}
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_benefit_page_downloads_its_statement(browser, live_server, language, viewport):
    organization = OrganizationFactory(name=NAMES[language], partner_id=f"47110{len(language)}")
    membership(organization, "silver", OTHER)
    activate(organization)
    user = UserFactory(
        organization=organization, email="ann@example.org", name="Ann Lee", language=language
    )
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    open_charged_request(user, contract, title="Failover")
    context = browser.new_context(
        locale=LOCALES[language],
        viewport=VIEWPORTS[viewport],
        accept_downloads=True,
        bypass_csp=True,  # for axe-core's script
    )
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "ann@example.org")
        page.goto(f"{live_server.url}/benefits/technical/{contract.pk}/")
        form = page.locator("#statement-form")
        expect(form.locator("h2")).to_have_text(t(language, "Statement"))
        today = timezone.localdate().isoformat()
        expect(page.locator("#statement-to")).to_have_value(today)
        for control in ("#statement-from", "#statement-to", "#statement-csv", "#statement-pdf"):
            box = page.locator(control).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORTS[viewport]["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORTS[viewport]["width"]
        expect(page.locator("#forecast")).to_be_visible()
        assert [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")] == []
        screenshot(page, f"benefit-statement-{viewport}", language)

        with page.expect_download() as pdf_download:
            page.locator("#statement-pdf").click()
        pdf = pdf_download.value
        assert pdf.suggested_filename.endswith(".pdf")
        text = subprocess.run(
            ["pdftotext", "-layout", pdf.path(), "-"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        assert NAMES[language] in text
        assert organization.partner_id in text
        assert contract.contract_id in text
        assert t(language, "Closing balance") in " ".join(text.split())
        with translation.override(language):
            left = quantity_text(contract.allowance - 1, "incidents")
        assert left in " ".join(text.split())

        with page.expect_download() as csv_download:
            page.locator("#statement-csv").click()
        written = Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(written)))
        kinds = [row["kind"] for row in rows]
        assert kinds[0] == "opening_balance" and kinds[-1] == "closing_balance"
        assert "consume" in kinds
    finally:
        context.close()
