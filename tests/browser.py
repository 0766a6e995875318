"""Shared helpers for the Chromium tests: launch, sign in, translate, screenshot, axe."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.utils import translation
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LANGUAGES = ["en", "ru", "pl"]
LOCALES = {"en": "en-US", "ru": "ru-RU", "pl": "pl-PL"}
AXE = Path(__file__).with_name("vendor") / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def chromium_path() -> str:
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is required (apt-get install chromium)"
    return executable


def t(language: str, text: str) -> str:
    """What the portal must show for ``text`` in ``language``, from the shipped catalogs."""
    with translation.override(language):
        return translation.gettext(text)


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(base_url + "/")
    expect(page).to_have_url(f"{base_url}/login/?next=/dashboard/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()


def screenshot(page: Page, name: str, language: str) -> None:
    """`make screenshots` sets PARTNERDESK_SCREENSHOTS: the pictures in docs/ come from
    these journeys."""
    if os.environ.get("PARTNERDESK_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{language}.png"), full_page=True)


def axe_violations(page: Page) -> list[dict]:
    """Serious and critical violations axe-core finds on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
