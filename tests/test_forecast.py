"""Forecasts at the current pace: the pace over the last 90 days (or since activation),
when a limited benefit runs out, how much of it will expire unused (incidents, and hours
kept in minutes), in the API, on the dashboard and the benefit's page in three
languages, and the notice when more than half will expire unused 30 days out.

Histories are written by the real services under a clock set back (freezegun): every
ledger entry is stamped with its own past day, as the demo's replay does."""

from __future__ import annotations

import datetime
import re

import pytest
import requests
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

# The URLconf (and the API's pydantic schemas) are built before any clock is frozen.
import partnerdesk.urls  # noqa: F401
from partnerdesk.benefits.forecast import Basis, Outlook, entitlement_forecasts
from partnerdesk.benefits.models import Entitlement
from partnerdesk.notices.models import Notice
from partnerdesk.notices.services import notices_send_due
from partnerdesk.support.reconcile import reconcile
from partnerdesk.support.services import (
    SupportRequestDraft,
    contract_link,
    support_request_close,
    support_request_create,
    support_request_withdraw,
    time_entry_add,
)
from tests.factories import (
    CLOUD,
    OTHER,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    open_request,
    product,
    token_for,
)
from tests.test_dates_and_charts import long_date

DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def reconciled(db):
    """Every history written here agrees with its ledger."""
    yield
    assert reconcile()[1] == []


def at(day: datetime.date, hour: int = 12):
    return freeze_time(datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC))


def partner(
    activated_on: datetime.date | None,
    offer: str = "action_pack",
    competency: str | None = None,
    program: str = "mpn-2021",
):
    """An organization whose benefits were activated on ``activated_on`` (None: not
    activated), and a user who has linked every contract."""
    day = activated_on or timezone.localdate()
    with at(day, 9):
        organization = OrganizationFactory()
        membership(
            organization,
            offer,
            competency,
            program=program,
            starts=day - 30 * DAY,
            ends=day + 600 * DAY,
        )
        if activated_on is not None:
            activate(organization)
        user = UserFactory(organization=organization)
        for e in Entitlement.objects.filter(organization=organization, state="active"):
            contract_link(user=user, access_id=e.access_id, contract_id=e.contract_id)
    return organization, user


def contract(organization, code: str = "product_support") -> Entitlement:
    return Entitlement.objects.select_related("benefit").get(
        organization=organization, benefit__code=code
    )


def use_on(user, entitlement: Entitlement, day: datetime.date):
    """One incident, opened on ``day``: on-premises for product support, cloud else."""
    with at(day):
        if entitlement.benefit.code == "product_support":
            return open_request(user, entitlement)
        return support_request_create(
            user=user,
            draft=SupportRequestDraft(
                product_id=product("Azure").pk, severity="C", title="t", description="d"
            ),
        )


def withdraw_on(user, support_request, day: datetime.date) -> None:
    with at(day):
        support_request_withdraw(user=user, request_id=support_request.pk)


def forecast(entitlement: Entitlement, today: datetime.date):
    entitlement = contract(entitlement.organization, entitlement.benefit.code)
    return entitlement_forecasts(entitlements=[entitlement], today=today)[entitlement.pk]


# A calendar of its own, written out: activated on 5 January 2026, so the year's term
# ends on 4 January 2027; "today" is 6 October 2026, 90 days before it, and the window of
# the last 90 days opens on 8 July 2026.
ACTIVATED = datetime.date(2026, 1, 5)
TODAY = datetime.date(2026, 10, 6)
ENDS = datetime.date(2027, 1, 4)


def test_incidents_run_out_at_the_pace_of_the_last_90_days_net_of_refunds():
    organization, user = partner(ACTIVATED)  # Action Pack: 10 incidents
    entitlement = contract(organization)
    for day in (datetime.date(2026, 6, 1), datetime.date(2026, 6, 15)):  # before the window
        use_on(user, entitlement, day)
    in_window = [
        use_on(user, entitlement, datetime.date(2026, month, day))
        for month, day in ((7, 10), (7, 20), (8, 5), (8, 25), (9, 10), (9, 30))
    ]
    withdraw_on(user, in_window[0], datetime.date(2026, 10, 1))  # refunded

    result = forecast(entitlement, TODAY)
    # 8 used, 1 refunded: 3 left. In the window 6 uses less 1 refund: 5 in 90 days, so the
    # 3 last 54 days (3 × 90 / 5): until 29 November, before the term ends.
    assert (result.basis, result.window_days, result.window_used) == (Basis.LAST_90_DAYS, 90, 5)
    assert str(result.pace_in_unit) == "1.67"  # per 30 days
    assert result.outlook == Outlook.RUNS_OUT
    assert result.runs_out_on == datetime.date(2026, 11, 29)
    assert result.unused_at_expiry == 0
    assert result.ends_on == ENDS


def test_a_slow_pace_does_not_run_out_and_leaves_the_rest_unused():
    organization, user = partner(ACTIVATED)
    entitlement = contract(organization)
    use_on(user, entitlement, datetime.date(2026, 8, 1))

    result = forecast(entitlement, TODAY)
    # 9 left at 1 per 90 days would last 810 days: past the term's end, 90 days away,
    # when 9 − 1 = 8 are still there.
    assert result.outlook == Outlook.LASTS
    assert result.runs_out_on is None
    assert result.unused_at_expiry == 8
    assert str(result.pace_in_unit) == "0.33"


def test_no_use_in_the_window_leaves_everything_unused():
    organization, user = partner(ACTIVATED)
    entitlement = contract(organization)
    use_on(user, entitlement, datetime.date(2026, 3, 1))  # long before the window

    result = forecast(entitlement, TODAY)
    assert (result.window_used, result.pace_in_unit) == (0, 0)
    assert (result.outlook, result.runs_out_on, result.unused_at_expiry) == (
        Outlook.LASTS,
        None,
        9,
    )


def test_a_window_of_refunds_only_is_no_use():
    """A refund in the window of a use before it: the pace is never negative."""
    organization, user = partner(ACTIVATED)
    entitlement = contract(organization)
    early = use_on(user, entitlement, datetime.date(2026, 6, 1))
    withdraw_on(user, early, datetime.date(2026, 8, 1))

    result = forecast(entitlement, TODAY)
    assert (result.window_used, result.unused_at_expiry) == (0, 10)


def test_a_benefit_activated_less_than_90_days_ago_is_paced_since_activation():
    activated = datetime.date(2026, 9, 6)  # 30 days before TODAY
    organization, user = partner(activated)
    entitlement = contract(organization)
    for day in (datetime.date(2026, 9, 10), datetime.date(2026, 9, 20), datetime.date(2026, 10, 1)):
        use_on(user, entitlement, day)

    result = forecast(entitlement, TODAY)
    # 3 in 30 days; the 7 left last 70 days.
    assert (result.basis, result.window_days, result.window_used) == (
        Basis.SINCE_ACTIVATION,
        30,
        3,
    )
    assert result.pace_in_unit == 3
    assert result.runs_out_on == datetime.date(2026, 12, 15)


def test_two_weeks_after_activation_are_too_little_history():
    organization, user = partner(datetime.date(2026, 9, 30))
    entitlement = contract(organization)
    use_on(user, entitlement, datetime.date(2026, 10, 2))

    result = forecast(entitlement, TODAY)
    assert result.basis == Basis.TOO_LITTLE_HISTORY
    assert (result.outlook, result.runs_out_on, result.unused_at_expiry, result.pace_in_unit) == (
        None,
        None,
        None,
        None,
    )


def test_an_exhausted_unlimited_or_inactive_benefit():
    organization, user = partner(ACTIVATED)
    entitlement = contract(organization)
    for n in range(10):
        use_on(user, entitlement, datetime.date(2026, 9, 1) + n * DAY)
    exhausted = forecast(entitlement, TODAY)
    assert (exhausted.outlook, exhausted.runs_out_on, exhausted.unused_at_expiry) == (
        Outlook.EXHAUSTED,
        None,
        0,
    )
    assert exhausted.window_used == 10

    gold, gold_user = partner(ACTIVATED, "gold", CLOUD)  # cloud support: unlimited
    cloud = contract(gold, "cloud_support")
    use_on(gold_user, cloud, datetime.date(2026, 9, 1))
    unlimited = forecast(cloud, TODAY)
    assert unlimited.outlook == Outlook.UNLIMITED
    assert (unlimited.runs_out_on, unlimited.unused_at_expiry) == (None, None)
    assert unlimited.window_used == 1  # the pace is still told

    waiting, _ = partner(None)
    inactive = forecast(contract(waiting), TODAY)
    assert inactive.basis == Basis.NOT_ACTIVE
    assert (inactive.outlook, inactive.runs_out_on, inactive.unused_at_expiry) == (None,) * 3
    # Expired: the term is over.
    assert forecast(entitlement, ENDS + DAY).basis == Basis.NOT_ACTIVE


def test_hours_are_paced_by_reservations_and_settlements_to_the_minute():
    organization, user = partner(ACTIVATED, "success_core", program="ai-cloud-2025")
    hours = contract(organization, "advisory_hours")  # 5 hours: 300 minutes
    engineer = UserFactory(organization=None, is_staff=True)

    def advisory(day, estimate):
        with at(day):
            return support_request_create(
                user=user,
                draft=SupportRequestDraft(
                    product_id=product("Azure").pk,
                    severity="B",
                    title="Presales",
                    description="d",
                    category="advisory",
                    estimate_minutes=estimate,
                ),
            )

    advisory(datetime.date(2026, 6, 1), 30)  # before the window
    settled = advisory(datetime.date(2026, 7, 15), 90)
    with at(datetime.date(2026, 8, 1)):
        time_entry_add(engineer=engineer, request_id=settled.pk, minutes=60)
        support_request_close(engineer=engineer, request_id=settled.pk, resolution="solved")
    advisory(datetime.date(2026, 9, 1), 60)

    result = forecast(hours, TODAY)
    # In the window: 90 reserved, 30 given back by the settlement, 60 reserved: 120
    # minutes in 90 days. 150 minutes left would last 113 days, past the end (90 days),
    # when 150 − 120 = 30 minutes are left: half an hour.
    assert result.window_used == 120
    assert result.window_used_in_unit == 2
    assert str(result.pace_in_unit) == "0.67"  # hours per 30 days
    assert (result.outlook, result.runs_out_on) == (Outlook.LASTS, None)
    assert result.unused_at_expiry == 30
    assert str(result.unused_in_unit) == "0.5"


def test_the_forecasts_of_a_list_take_one_query():
    first, user = partner(ACTIVATED, "gold", OTHER)
    use_on(user, contract(first), datetime.date(2026, 8, 1))
    second, _ = partner(ACTIVATED)
    entitlements = list(
        Entitlement.objects.select_related("benefit").filter(organization__in=[first, second])
    )
    assert len(entitlements) == 3
    with CaptureQueriesContext(connection) as queries:
        forecasts = entitlement_forecasts(entitlements=entitlements, today=TODAY)
    assert len(queries) == 1
    assert forecasts[contract(first).pk].unused_at_expiry == 18  # 19 − 1


# The same story, but ending today, for the API, the pages and the notices.


@pytest.fixture
def paced(today):
    """Gold in Data Analytics, activated 120 days ago: cloud support (10 incidents) at a
    pace that runs out, product support (20) at one that leaves most of it unused."""
    organization, user = partner(today - 120 * DAY, "gold", OTHER)
    cloud = contract(organization, "cloud_support")
    for days_ago in (110, 100):
        use_on(user, cloud, today - days_ago * DAY)
    in_window = [
        use_on(user, cloud, today - days_ago * DAY) for days_ago in (80, 60, 40, 20, 10, 5)
    ]
    withdraw_on(user, in_window[0], today - 3 * DAY)
    onprem = contract(organization, "product_support")
    use_on(user, onprem, today - 50 * DAY)
    return organization, user, contract(organization, "cloud_support"), contract(organization)


def test_the_api_states_the_forecast_and_its_pace(live_server, paced, today):
    _organization, user, cloud, onprem = paced
    headers = {"Authorization": f"Bearer {token_for(user)}"}
    answer = requests.get(live_server.url + "/api/v1/benefits", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    items = {item["benefit"]: item for item in answer.json()["items"]}

    assert items["cloud_support"]["remaining"] == 3
    assert items["cloud_support"]["forecast"] == {
        "runs_out_on": (today + 54 * DAY).isoformat(),  # 3 × 90 / 5 days
        "unused_at_expiry": 0,
        "outlook": "runs_out",
        "basis": "last_90_days",
        "pace_window_days": 90,
        "pace_window_used": 5,
        "pace": 1.67,
        "ends_on": cloud.expires_on.isoformat(),
    }
    days_left = (onprem.expires_on - today).days
    assert 240 <= days_left <= 250
    assert items["product_support"]["forecast"] | {"ends_on": None} == {
        "runs_out_on": None,
        # 19 left, 1 per 90 days: about 2.7 go by the end.
        "unused_at_expiry": 16,
        "outlook": "lasts",
        "basis": "last_90_days",
        "pace_window_days": 90,
        "pace_window_used": 1,
        "pace": 0.33,
        "ends_on": None,
    }

    one = requests.get(
        f"{live_server.url}/api/v1/benefits/{cloud.pk}", headers=headers, timeout=10
    ).json()
    assert one["forecast"] == items["cloud_support"]["forecast"]

    schema = requests.get(live_server.url + "/api/v1/openapi.json", timeout=10).json()
    benefit = schema["components"]["schemas"]["BenefitOut"]
    assert "forecast" in benefit["required"]
    forecast_schema = schema["components"]["schemas"]["ForecastOut"]["properties"]
    assert {"runs_out_on", "unused_at_expiry", "basis", "pace_window_days", "pace"} <= set(
        forecast_schema
    )


FORECAST_TEXT = {
    "en": (
        "Runs out around {runs_out} at the current pace (5 incidents in the last 90 days).",
        "Will not run out before it expires at the current pace (1 incident in the last 90 days).",
        "About 16 incidents will expire unused on {ends}.",
    ),
    "ru": (
        "Закончится примерно {runs_out} при текущем темпе (5 инцидентов за последние 90 дней).",
        "Не закончится до истечения срока при текущем темпе (1 инцидент за последние 90 дней).",
        "Примерно 16 инцидентов пропадут неиспользованными {ends}.",
    ),
    "pl": (
        "Skończy się około {runs_out} przy obecnym tempie (5 incydentów w ciągu ostatnich 90 dni).",
        "Nie skończy się przed wygaśnięciem przy obecnym tempie "
        "(1 incydent w ciągu ostatnich 90 dni).",
        "Mniej więcej 16 incydentów przepadnie niewykorzystanych {ends}.",
    ),
}


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def card_text(html: str, code: str) -> str:
    card = re.search(rf'<article data-benefit="{code}">.*?</article>', html, flags=re.S)
    assert card, code
    return visible_text(card.group(0))


@pytest.mark.parametrize("language", ["en", "ru", "pl"])
def test_the_dashboard_and_the_benefit_page_tell_the_forecast(client, paced, today, language):
    _organization, user, cloud, onprem = paced
    runs_out, ends = (long_date(d, language) for d in (today + 54 * DAY, onprem.expires_on))
    runs, lasts, unused = (
        line.format(runs_out=runs_out, ends=ends) for line in FORECAST_TEXT[language]
    )
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)

    dashboard = client.get("/dashboard/").content.decode()
    cloud_card, onprem_card = (
        card_text(dashboard, c) for c in ("cloud_support", "product_support")
    )
    assert runs in cloud_card
    assert unused not in cloud_card
    assert lasts in onprem_card and unused in onprem_card

    page = visible_text(client.get(f"/benefits/technical/{onprem.pk}/").content.decode())
    assert lasts in page and unused in page
    page = visible_text(client.get(f"/benefits/technical/{cloud.pk}/").content.decode())
    assert runs in page


def test_a_new_benefit_says_it_has_no_forecast_yet(client, today):
    _organization, user = partner(today - 3 * DAY)
    client.force_login(user)
    dashboard = client.get("/dashboard/").content.decode()
    assert "No forecast yet: activated fewer than 14 days ago." in card_text(
        dashboard, "product_support"
    )


def test_the_hours_forecast_on_the_page(client, today):
    organization, user = partner(today - 200 * DAY, "success_core", program="ai-cloud-2025")
    hours = contract(organization, "advisory_hours")
    client.force_login(user)
    page = visible_text(client.get(f"/benefits/technical/{hours.pk}/").content.decode())
    assert "Will not run out before it expires: nothing used in the last 90 days." in page
    assert f"About 5 hours will expire unused on {long_date(hours.expires_on, 'en')}." in page


# The notice: 30 days (or fewer) before the end, more than half forecast to go unused.


def unused_notices(organization) -> list[Notice]:
    return list(Notice.objects.filter(organization=organization, kind="unused"))


def test_the_unused_notice_fires_once_30_days_out(today):
    # Gold in a cloud competency: product support (20 incidents) and unlimited cloud.
    organization, user = partner(today - 300 * DAY, "gold", CLOUD)
    admin = UserFactory(organization=organization, is_global_admin=True, language="ru")
    onprem = contract(organization)
    use_on(user, onprem, today - 20 * DAY)
    ends = onprem.expires_on
    assert 60 <= (ends - today).days <= 70

    notices_send_due(today=today)  # two months out: not yet
    assert unused_notices(organization) == []

    day = ends - 30 * DAY
    mail.outbox.clear()
    notices_send_due(today=day)
    [notice] = unused_notices(organization)
    # 19 left, 1 used in the 90 days before this day: about 19 − 30 / 90 ≈ 19 go unused.
    # Not the unlimited cloud support, ever.
    assert (notice.entitlement_id, notice.threshold, notice.amount) == (onprem.pk, 30, 19)
    english = (
        f"Microsoft Product Support: about 19 incidents will expire unused on "
        f"{long_date(ends, 'en')} at the current pace."
    )
    assert notice.message == english
    russian = (
        f"Microsoft Product Support: при текущем темпе примерно 19 инцидентов пропадут "
        f"неиспользованными {long_date(ends, 'ru')}."
    )
    assert russian in [m.subject for m in mail.outbox if m.to == [admin.email]]

    assert notices_send_due(today=day) == 0
    notices_send_due(today=ends - 7 * DAY)  # the 7-day expiry notices, not this one again
    assert Notice.objects.filter(organization=organization, kind="expiry", threshold=7).count() == 2
    assert len(unused_notices(organization)) == 1


def test_a_catch_up_inside_the_30_days_tells_it_once(today):
    organization, _user = partner(today - 340 * DAY)
    ends = contract(organization).expires_on
    assert 20 <= (ends - today).days <= 30
    notices_send_due(today=today)
    notices_send_due(today=today + DAY)
    [notice] = unused_notices(organization)
    assert notice.amount == 10


def test_no_unused_notice_when_the_pace_uses_up_half(today):
    """6 of 10 left, but the pace (4 in the last 90 days) takes about 1 of them before
    the end: about 5 unused, not more than half. The same 6 left with the 4 used before
    the window would be."""
    paced_org, paced_user = partner(today - 340 * DAY)
    paced_contract = contract(paced_org)
    idle_org, idle_user = partner(today - 340 * DAY)
    idle_contract = contract(idle_org)
    for days_ago in (80, 60, 40, 20):
        use_on(paced_user, paced_contract, today - days_ago * DAY)
        use_on(idle_user, idle_contract, today - (days_ago + 100) * DAY)

    notices_send_due(today=today)
    assert unused_notices(paced_org) == []
    [notice] = unused_notices(idle_org)
    assert notice.amount == 6


@pytest.mark.browser
def test_the_forecast_fits_a_phone(browser, live_server, paced):
    from playwright.sync_api import expect

    from tests.browser import axe_violations, screenshot, sign_in

    _organization, user, _cloud, _onprem = paced
    context = browser.new_context(
        locale="en-US", viewport={"width": 390, "height": 844}, bypass_csp=True
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, live_server.url, user.email)
        lines = page.locator("#benefit-cards .forecast small")
        expect(lines).to_have_count(3)  # runs out; will not run out, and the unused part
        width = page.evaluate("window.innerWidth")
        for index in range(3):
            box = lines.nth(index).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (index, box, width)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert axe_violations(page) == []
        screenshot(page, "dashboard-forecast-phone", "en")
    finally:
        context.close()


def test_the_unused_notice_counts_hours_to_the_minute(today):
    from django.utils import translation

    organization, user = partner(today - 340 * DAY, "success_core", program="ai-cloud-2025")
    hours = contract(organization, "advisory_hours")
    with at(today - 200 * DAY):  # long before the window: no pace
        support_request_create(
            user=user,
            draft=SupportRequestDraft(
                product_id=product("Azure").pk,
                severity="B",
                title="Presales",
                description="d",
                category="advisory",
                estimate_minutes=90,
            ),
        )
    notices_send_due(today=today)
    notice = Notice.objects.get(entitlement=hours, kind="unused")
    assert notice.amount == 210  # of 300 minutes
    name = hours.benefit.display_name
    assert notice.message == (
        f"{name}: about 3.5 hours will expire unused on "
        f"{long_date(hours.expires_on, 'en')} at the current pace."
    )
    with translation.override("pl"):
        assert notice.message == (
            f"{notice.entitlement.benefit.display_name}: przy obecnym tempie mniej więcej 3,5 "
            f"godziny przepadną niewykorzystane {long_date(hours.expires_on, 'pl')}."
        )
