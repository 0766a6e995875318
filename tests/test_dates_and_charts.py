"""Every date on a page in the reader's language, in one long and one short format, and
the usage charts: months along the axis, a line for today, a title and a description.

The expected texts are written out here (month names included), not computed with the
formats under test."""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET

import pytest

from partnerdesk.benefits.models import Entitlement
from tests.factories import CLOUD, OrganizationFactory, UserFactory, activate, membership

MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "ru": [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ],
    "pl": [
        "stycznia",
        "lutego",
        "marca",
        "kwietnia",
        "maja",
        "czerwca",
        "lipca",
        "sierpnia",
        "września",
        "października",
        "listopada",
        "grudnia",
    ],
}
AXIS_MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "ru": ["Янв", "Фев", "Мар", "Апр", "Май", "Июн", "Июл", "Авг", "Сен", "Окт", "Ноя", "Дек"],
    "pl": ["Sty", "Lut", "Mar", "Kwi", "Maj", "Cze", "Lip", "Sie", "Wrz", "Paź", "Lis", "Gru"],
}
TODAY_WORD = {"en": "Today", "ru": "Сегодня", "pl": "Dziś"}
SVG = "{http://www.w3.org/2000/svg}"


def long_date(day: datetime.date, language: str) -> str:
    month = MONTHS[language][day.month - 1]
    if language == "en":
        return f"{month} {day.day}, {day.year}"
    return f"{day.day} {month} {day.year}"


def short_date(day: datetime.date, language: str) -> str:
    if language == "en":
        return day.strftime("%m/%d/%Y")
    return day.strftime("%d.%m.%Y")


def page(client, user, url: str, language: str) -> str:
    user.language = language
    user.save(update_fields=["language"])
    client.force_login(user)
    answer = client.get(url)
    assert answer.status_code == 200, url
    return answer.content.decode()


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def chart_svgs(html: str) -> list[ET.Element]:
    return [
        ET.fromstring(m.replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1))
        for m in re.findall(r'<svg class="usage-chart.*?</svg>', html, flags=re.S)
    ]


def month_labels(svg: ET.Element) -> list[str]:
    return [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "month"]


@pytest.fixture
def contoso(today):
    organization = OrganizationFactory(name="Contoso")
    ends = today + datetime.timedelta(days=200)
    membership(organization, "gold", CLOUD, ends=ends)
    user = UserFactory(organization=organization, is_global_admin=True)
    return organization, user, ends


@pytest.mark.parametrize("language", ["en", "ru", "pl"])
def test_the_benefits_page_and_the_dashboard_write_dates_one_long_and_one_short_way(
    client, contoso, today, language
):
    from tests.factories import open_request

    organization, user, ends = contoso
    benefits = visible_text(page(client, user, "/benefits/technical/", language))
    # The last date to activate (the membership's end) in the long format.
    assert long_date(ends, language) in benefits

    activate(organization)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    open_request(user, contract, title="Failover stops")
    dashboard = visible_text(page(client, user, "/dashboard/", language))
    expires = today.replace(year=today.year + 1) - datetime.timedelta(days=1)
    assert long_date(expires, language) in dashboard
    opened = re.search(
        re.escape(short_date(today, language)) + r" (\d{1,2}:\d\d)( [AP]M)?", dashboard
    )
    assert opened, dashboard
    # 24-hour time in Russian and Polish; AM/PM in English.
    assert bool(opened.group(2)) == (language == "en")
    detail = visible_text(page(client, user, f"/benefits/technical/{contract.pk}/", language))
    assert long_date(today, language) in detail
    for text in (benefits, dashboard, detail):
        assert "г.." not in text and " г." not in text
        # Django's own formats, which the product's replace: "Dec. 1", "6 p.m.", 01-12-2026.
        assert not re.search(r"\b[A-Z][a-z]{2}\. \d", text)
        assert "p.m." not in text and "a.m." not in text
        assert not re.search(r"\b\d\d-\d\d-\d{4}\b", text)


def test_the_short_date_in_polish_takes_dots(client, contoso, today):
    organization, user, _ = contoso
    activate(organization)
    from tests.factories import open_request

    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    open_request(user, contract)
    text = visible_text(page(client, user, "/dashboard/", "pl"))
    assert today.strftime("%d.%m.%Y") in text
    assert today.strftime("%d-%m-%Y") not in text


@pytest.mark.parametrize("language", ["en", "ru", "pl"])
def test_a_benefit_chart_marks_the_months_of_its_term_and_today(client, contoso, today, language):
    organization, user, _ = contoso
    activate(organization)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    html = page(client, user, f"/benefits/technical/{contract.pk}/", language)
    (svg,) = chart_svgs(html)

    # The term: a year from activation, one label a month, in order, in the language.
    start, end = contract.activated_at.date(), contract.expires_on
    assert (svg.get("data-start"), svg.get("data-end")) == (start.isoformat(), end.isoformat())
    labels = month_labels(svg)
    first = start.month if start.day == 1 else start.month % 12 + 1
    expected = [AXIS_MONTHS[language][(first - 1 + i) % 12] for i in range(len(labels))]
    assert labels == expected and 12 <= len(labels) <= 13
    years = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "year"]
    assert str(end.year) in years
    # Drawn for the page's width, labels at the page's text size (not scaled up).
    assert svg.get("class") == "usage-chart wide" and svg.get("viewBox") == "0 0 720 220"
    assert {t.get("font-size") for t in svg.iter(f"{SVG}text")} == {"12"}
    # Today: a line at today's place and the word.
    today_group = next(g for g in svg.iter(f"{SVG}g") if g.get("class") == "today")
    assert today_group.find(f"{SVG}text").text == TODAY_WORD[language]
    # Accessible: a role, a title and a description it is labelled by.
    assert svg.get("role") == "img"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert long_date(start, language) in title.text
    assert long_date(end, language) in desc.text and long_date(today, language) in desc.text


def test_a_benefit_not_yet_activated_charts_the_last_twelve_months(client, contoso, today):
    from partnerdesk.web.charts import CARD

    _, user, _ = contoso
    html = page(client, user, "/dashboard/", "en")
    svgs = chart_svgs(html)
    assert len(svgs) == 2
    for svg in svgs:
        assert svg.get("data-end") == today.isoformat()
        assert svg.get("data-start") == today.replace(year=today.year - 1).isoformat()
        assert svg.get("class") == "usage-chart card"
        # Twelve months marked, every other one labelled on a card.
        ticks = [line for line in svg.iter(f"{SVG}line") if line.get("class") == "tick"]
        assert len(ticks) in (12, 13)
        assert 6 <= len(month_labels(svg)) <= 7
        today_line = next(g for g in svg.iter(f"{SVG}g") if g.get("class") == "today")
        # At the right edge of the plot.
        assert float(today_line.find(f"{SVG}line").get("x1")) == CARD.width - CARD.right


def test_the_chart_places_use_by_date_and_today_on_the_axis(today):
    from partnerdesk.web.charts import WIDE, usage_chart

    start = today - datetime.timedelta(days=200)
    end = start + datetime.timedelta(days=365)
    points = [(start, 0), (start + datetime.timedelta(days=100), 3), (today, 3)]
    svg = ET.fromstring(
        str(
            usage_chart(
                points=points,
                ceiling=10,
                label="l",
                span=(start, end),
                today=today,
                chart_id="c",
                size=WIDE,
            )
        ).replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1)
    )
    plot = WIDE.width - WIDE.right - WIDE.left
    today_x = float(next(svg.iter(f"{SVG}g")).find(f"{SVG}line").get("x1"))
    assert today_x == pytest.approx(WIDE.left + 200 / 365 * plot, abs=0.2)
    line = next(p for p in svg.iter(f"{SVG}polyline")).get("points").split()
    # The use line stops at today; it does not run on into the future.
    assert max(float(p.split(",")[0]) for p in line) == pytest.approx(today_x, abs=0.1)
