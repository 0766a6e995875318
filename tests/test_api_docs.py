"""/api/v1/docs in a real Chromium: Swagger UI from our own static files, started by a
static script, lists the operations under the site's Content-Security-Policy, unchanged,
with nothing refused."""

import os

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser import CHROMIUM_ARGS, SCREENSHOTS, chromium_path

pytestmark = pytest.mark.browser

# Recorded before any script of the page runs (an init script is not subject to the CSP).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def test_the_api_docs_list_the_operations_offline_under_the_csp(live_server):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.add_init_script(RECORD_VIOLATIONS)
        console = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        try:
            response = page.goto(live_server.url + "/api/v1/docs")
            policy = response.headers["content-security-policy"]
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy

            create = page.locator(
                ".opblock-post .opblock-summary-path[data-path='/api/v1/support-requests']"
            )
            expect(create).to_be_visible(timeout=15_000)
            expect(page.locator(".opblock-get [data-path='/api/v1/benefits']")).to_be_visible()
            expect(page.locator(".info .title")).to_contain_text("partnerdesk")
            if os.environ.get("PARTNERDESK_SCREENSHOTS"):
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / "api-docs.png"))

            assert page.evaluate("window.__cspViolations") == []
            assert [m for m in console if "Content Security Policy" in m] == []
            # Nothing from anywhere but this server: no CDN, no public validator.
            assert [u for u in requested if not u.startswith(live_server.url)] == []
        finally:
            context.close()
            browser.close()
