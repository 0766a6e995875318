import os

import pytest
from django.core.servers import basehttp

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls made by
# the test itself (fixtures, assertions) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright, one per test module (tests/browser.py)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS, chromium_path

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# The live server's listen queue is 10 by default; the concurrency tests connect fifty
# clients at once, as a production server's (gunicorn's 2048) would accept.
basehttp.WSGIServer.request_queue_size = 256


@pytest.fixture(autouse=True)
def catalog(db):
    """The catalog is loaded by migrations; transactional tests flush it, so put it back."""
    catalog_loaded()


def catalog_loaded() -> None:
    """The migrations' catalog, loaded again where a flush emptied it."""
    from partnerdesk.benefits.catalog import (
        load_benefit_catalog,
        load_paid_plans,
        load_program_benefits,
    )
    from partnerdesk.benefits.catalog_snapshot import benefits_forget
    from partnerdesk.benefits.models import AllotmentRule, Benefit
    from partnerdesk.partners.catalog import load_competencies, load_programs, load_solution_areas
    from partnerdesk.partners.models import Competency, Program, ProgramOffer, SolutionArea
    from partnerdesk.support.catalog import (
        load_categories,
        load_default_calendar,
        load_products,
        load_topics,
        load_workloads,
    )
    from partnerdesk.support.catalog_snapshot import catalog_forget
    from partnerdesk.support.models import (
        BusinessCalendar,
        Product,
        RequestCategory,
        SupportTopic,
        Workload,
    )
    from partnerdesk.support.sla import calendars_forget

    # Each test starts from the database's catalog, not a copy a previous test left.
    benefits_forget()
    catalog_forget()
    calendars_forget()
    if not AllotmentRule.objects.exists():
        load_competencies(Competency)
        load_benefit_catalog(Benefit, AllotmentRule)
        load_paid_plans(Benefit)
    if not Program.objects.exists():
        load_programs(Program, ProgramOffer)
        load_solution_areas(SolutionArea)
        load_program_benefits(Program, Benefit, AllotmentRule)
    if not RequestCategory.objects.exists():
        load_categories(RequestCategory)
    if not Product.objects.exists():
        load_products(Product)
        load_workloads(Workload, Product)
    if not SupportTopic.objects.exists():
        load_topics(SupportTopic)
    if not BusinessCalendar.objects.exists():
        load_default_calendar(BusinessCalendar)


@pytest.fixture
def today():
    from django.utils import timezone

    return timezone.localdate()


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path_factory):
    """Files a test uploads go to a folder of its own, never to var/media."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _no_language_left_over():
    """A page a test asks for in Polish activates Polish in this thread (as it does in a
    server's), and it would stay active for the next test's in-process commands."""
    from django.utils import translation

    yield
    translation.deactivate()
