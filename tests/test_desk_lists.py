"""Finding requests and assigning them (issue 14): the lists' filters, search (in English,
Russian and Polish, and with input that looks like query syntax), sort orders, the CSV
export streamed over a real server, and who may pick up, reassign and unassign."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
import requests
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from partnerdesk.benefits.ledger import ledger_post
from partnerdesk.benefits.models import Entitlement
from partnerdesk.support.events import RequestEvent, request_event
from partnerdesk.support.models import RequestStatus, SupportRequest
from partnerdesk.support.services import (
    SupportRequestDraft,
    support_request_close,
    support_request_create,
)
from tests.factories import (
    OTHER,
    CustomerFactory,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    product,
    token_for,
)


@pytest.fixture
def desk(db):
    organization = OrganizationFactory(name="Contoso", in_csp=True)
    membership(organization, "gold", OTHER)
    activate(organization)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    ledger_post(entitlement_id=contract.pk, kind="adjustment", delta=100, note="desk tests")
    ann = UserFactory(organization=organization, email="ann@contoso.example", name="Ann Lee")
    bob = UserFactory(organization=organization, email="bob@contoso.example", name="Bob Ray")
    engineer = UserFactory(organization=None, is_staff=True, email="eng@ms.example", name="Eli")
    other_engineer = UserFactory(
        organization=None, is_staff=True, email="zoe@ms.example", name="Zoe"
    )

    def make(user=ann, title="t", description="d", severity="C", family=("SQL Server", "2022")):
        return support_request_create(
            user=user,
            draft=SupportRequestDraft(
                product_id=product(*family).pk,
                severity=severity,
                title=title,
                description=description,
                contract_id=contract.contract_id,
                access_id=contract.access_id,
            ),
        )

    return {
        "organization": organization,
        "ann": ann,
        "bob": bob,
        "engineer": engineer,
        "other_engineer": other_engineer,
        "make": make,
        "api": lambda user: Client(headers={"authorization": f"Bearer {token_for(user)}"}),
    }


def ids(answer) -> list[int]:
    assert answer.status_code == 200, answer.content
    return [item["id"] for item in answer.json()["items"]]


def test_filters_combine(desk):
    make, ann, bob = desk["make"], desk["ann"], desk["bob"]
    critical = make(title="Cluster down", severity="A")
    moderate = make(user=bob, title="Slow query", severity="B")
    minimal = make(title="Question", severity="C")
    closed = make(title="Old one")
    support_request_close(engineer=desk["engineer"], request_id=closed.pk, resolution="solved")
    long_ago = timezone.now() - datetime.timedelta(days=40)
    SupportRequest.objects.filter(pk=minimal.pk).update(created_at=long_ago)
    api = desk["api"](ann)

    assert ids(api.get("/api/v1/support-requests?severity=critical")) == [critical.pk]
    assert ids(api.get("/api/v1/support-requests?severity=b")) == [moderate.pk]
    assert ids(api.get("/api/v1/support-requests?status=resolved")) == [closed.pk]
    assert set(ids(api.get("/api/v1/support-requests?status=active"))) == {
        critical.pk,
        moderate.pk,
        minimal.pk,
    }
    assert ids(api.get("/api/v1/support-requests?opener=BOB@contoso.example")) == [moderate.pk]
    sql = product("SQL Server", "2022").pk
    assert len(ids(api.get(f"/api/v1/support-requests?product_id={sql}"))) == 4
    assert ids(api.get("/api/v1/support-requests?family=SharePoint%20Server")) == []
    today = timezone.localdate()
    recent = ids(api.get(f"/api/v1/support-requests?created_from={today - datetime.timedelta(1)}"))
    assert minimal.pk not in recent and len(recent) == 3
    old = api.get(f"/api/v1/support-requests?created_to={today - datetime.timedelta(30)}")
    assert ids(old) == [minimal.pk]
    both = api.get(
        f"/api/v1/support-requests?severity=A&created_to={today}&opener=ann@contoso.example"
    )
    assert ids(both) == [critical.pk]
    assert api.get("/api/v1/support-requests?severity=A").json()["count"] == 1


def test_engineers_filter_by_assignee_and_queue(desk):
    make, engineer = desk["make"], desk["engineer"]
    mine = make(title="mine")
    theirs = make(title="theirs")
    nobody = make(title="nobody")
    api = desk["api"](engineer)
    assert api.post(f"/api/v1/support-requests/{mine.pk}/pick-up").status_code == 200
    answer = api.post(
        f"/api/v1/support-requests/{theirs.pk}/assign",
        {"engineer": "ZOE@ms.example"},
        content_type="application/json",
    )
    assert answer.json()["assigned_to"] == "zoe@ms.example"

    assert ids(api.get("/api/v1/support-requests?assigned=me")) == [mine.pk]
    assert ids(api.get("/api/v1/support-requests?assigned=none")) == [nobody.pk]
    assert ids(api.get("/api/v1/support-requests?assigned=zoe@ms.example")) == [theirs.pk]
    assert len(ids(api.get("/api/v1/support-requests?family=SQL%20Server"))) == 3


def test_another_organizations_requests_are_never_found(desk):
    desk["make"](title="Contoso secret")
    outsider_org = OrganizationFactory()
    outsider = UserFactory(organization=outsider_org)
    api = desk["api"](outsider)
    assert ids(api.get("/api/v1/support-requests?q=secret")) == []
    assert ids(api.get("/api/v1/support-requests")) == []


SEARCHED = {
    "en": ("Backup fails every night", "The agent stops at 02:00 with an error."),
    "ru": ("Сервер не запускается", "После обновления служба падает при старте."),
    "pl": ("Błąd logowania użytkowników", "Żółć: konto zablokowane po aktualizacji."),
}


@pytest.mark.parametrize(
    ("query", "language"),
    [
        ("backup", "en"),
        ("BACK", "en"),  # a prefix, any case
        ("agent stops", "en"),  # every word, in the description
        ("сервер", "ru"),
        ("СЛУЖБ", "ru"),
        ("обновл служба", "ru"),
        ("błąd", "pl"),
        ("Użytkow", "pl"),
        ("żółć konto", "pl"),
    ],
)
def test_search_finds_words_in_three_languages(desk, query, language):
    made = {code: desk["make"](title=t, description=d) for code, (t, d) in SEARCHED.items()}
    api = desk["api"](desk["ann"])
    assert ids(api.get("/api/v1/support-requests", {"q": query})) == [made[language].pk]


def test_search_needs_every_word_and_follows_changes(desk):
    made = desk["make"](title="Backup fails", description="nightly")
    api = desk["api"](desk["ann"])
    assert ids(api.get("/api/v1/support-requests", {"q": "backup сервер"})) == []
    SupportRequest.objects.filter(pk=made.pk).update(title="Restore fails")
    # The search follows the row (SQLite: the FTS table's triggers).
    assert ids(api.get("/api/v1/support-requests", {"q": "backup"})) == []
    assert ids(api.get("/api/v1/support-requests", {"q": "restore"})) == [made.pk]


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_sqlite_search_ignores_diacritics(desk):
    made = desk["make"](title="Błąd logowania użytkowników")
    api = desk["api"](desk["ann"])
    # ż ó ą ę ć become z o a e c ("ł" is a letter of its own, not an l with a mark).
    assert ids(api.get("/api/v1/support-requests", {"q": "uzytkow bł"})) == [made.pk]


HOSTILE = [
    '"',
    "AND OR (",
    "*",
    "'",
    ":*",
    "\\",
    "NEAR(a b",
    "title:x",
    "a' OR 1=1 --",
    "!&|<->",
    "-backup",
    "back*up",
    '"backup',
    "^backup",
    "%_%",
    "(" * 300,
    "b" * 5000,
]


@pytest.mark.parametrize("query", HOSTILE)
def test_query_syntax_never_reaches_the_database(desk, query):
    made = desk["make"](title="Backup fails", description="up")
    api = desk["api"](desk["ann"])
    answer = api.get("/api/v1/support-requests", {"q": query})
    assert answer.status_code in (200, 422), answer.content
    if answer.status_code == 200:
        assert set(ids(answer)) <= {made.pk}
    export = api.get("/api/v1/support-requests/export", {"q": query})
    assert export.status_code in (200, 422)
    if export.status_code == 200:
        b"".join(export.streaming_content)


def test_control_characters_and_bad_values_are_refused_by_field(desk):
    api = desk["api"](desk["ann"])
    for query, path in [
        ({"q": "a\x00b"}, "q"),
        ({"opener": "x\x00@y"}, "opener"),
        ({"ordering": "password"}, "ordering"),
        ({"ordering": "-organization__name"}, "ordering"),
        ({"severity": "urgent"}, "severity"),
        ({"status": "lost"}, "status"),
    ]:
        answer = api.get("/api/v1/support-requests", query)
        assert answer.status_code == 422, (query, answer.content)
        assert answer["Content-Type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["code"] == "validation_error"
        assert [e["path"] for e in problem["errors"]] == [path], problem
    # A range that ends before it starts matches nothing (the page says so instead).
    reversed_range = {"created_from": "2026-02-01", "created_to": "2026-01-01"}
    answer = api.get("/api/v1/support-requests", reversed_range)
    assert answer.status_code == 200 and answer.json()["items"] == []


@pytest.mark.parametrize(
    "key",
    [
        "id",
        "created_at",
        "updated_at",
        "severity",
        "status",
        "title",
        "product",
        "first_response_due",
    ],
)
def test_every_column_sorts_both_ways_with_id_breaking_ties(desk, key):
    make = desk["make"]
    made = [
        make(title="b", severity="B"),
        make(title="a", severity="A", family=("Windows Server", "2025")),
        make(title="b", severity="B"),
        make(title="c", severity="C"),
    ]
    support_request_close(engineer=desk["engineer"], request_id=made[3].pk, resolution="solved")
    SupportRequest.objects.filter(pk=made[0].pk).update(first_response_due=None)
    rows = list(SupportRequest.objects.select_related("product"))

    def sort_value(r):
        return {
            "product": (r.product.family, r.product.version),
            "first_response_due": r.first_response_due,
        }.get(key, getattr(r, key))

    api = desk["api"](desk["ann"])
    for descending in (False, True):
        got = ids(api.get(f"/api/v1/support-requests?ordering={'-' if descending else ''}{key}"))
        with_value = [r for r in rows if sort_value(r) is not None]
        expected = sorted(with_value, key=lambda r: (sort_value(r), r.pk), reverse=descending)
        expected += [r for r in rows if sort_value(r) is None]  # empty due times last
        assert got == [r.pk for r in expected], (key, descending)


def test_a_filtered_page_keeps_the_query_budget(desk):
    for n in range(6):
        desk["make"](title=f"Backup {n}", severity="A" if n % 2 else "C")
    api = desk["api"](desk["ann"])
    url = "/api/v1/support-requests?q=backup&severity=A&ordering=-title&limit=2"
    with CaptureQueriesContext(connection) as captured:
        answer = api.get(url)
    assert answer.json()["count"] == 3 and len(answer.json()["items"]) == 2
    statements = [q["sql"] for q in captured if not q["sql"].startswith(("BEGIN", "SAVEPOINT"))]
    assert len([s for s in statements if not s.startswith("RELEASE")]) <= 3, statements


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_search_uses_the_gin_index(desk):
    from partnerdesk.support import selectors
    from partnerdesk.support.finding import request_filters

    filters, _errors = request_filters({"q": "backup fails"})
    queryset = selectors.requests_found(user=desk["engineer"], filters=filters)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    assert "request_search" in queryset.explain()


# Export


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.mark.django_db(transaction=True)
def test_export_streams_the_filtered_list_over_http(live_server, desk):
    make = desk["make"]
    first = make(title='=HYPERLINK("http://evil")', severity="A")
    second = make(title="Сервер не запускается", severity="A")
    make(title="not this one", severity="C")
    customer_request = make(title="+1 формула", severity="A")
    SupportRequest.objects.filter(pk=customer_request.pk).update(
        customer=CustomerFactory(organization=desk["organization"], name="Fabrikam")
    )
    token = token_for(desk["ann"])

    answer = requests.get(
        live_server.url + "/api/v1/support-requests/export",
        params={"severity": "critical", "ordering": "id"},
        headers={"Authorization": f"Bearer {token}"},
        stream=True,
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert (
        answer.headers["Content-Disposition"]
        == f'attachment; filename="support-requests-{today}.csv"'
    )
    assert "Content-Length" not in answer.headers  # streamed, not built whole
    rows = _csv(answer.raw.read())
    header, *lines = rows
    assert header[:4] == ["id", "created_at", "updated_at", "status"]
    by_name = [dict(zip(header, line, strict=True)) for line in lines]
    assert [int(r["id"]) for r in by_name] == [first.pk, second.pk, customer_request.pk]
    assert by_name[0]["title"] == '\'=HYPERLINK("http://evil")'  # never a formula
    assert by_name[1]["title"] == "Сервер не запускается"
    assert by_name[2]["title"] == "'+1 формула"
    assert by_name[2]["customer"] == "Fabrikam"
    assert by_name[0]["product"] == "SQL Server 2022"
    assert by_name[0]["opened_by"] == "ann@contoso.example"
    assert by_name[0]["sla_state"] == "on_track"
    assert by_name[0]["charged"] == "true"

    refused = requests.get(
        live_server.url + "/api/v1/support-requests/export?ordering=secret",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"] == "ordering"


def test_the_export_is_a_streaming_answer_in_the_api_and_the_portal(desk):
    desk["make"](title="one")
    answer = desk["api"](desk["ann"]).get("/api/v1/support-requests/export")
    assert answer.streaming
    client = Client()
    client.force_login(desk["ann"])
    page = client.get(reverse("web:requests_export"), {"q": "one"})
    assert page.streaming and page["Content-Type"] == "text/csv; charset=utf-8"
    rows = _csv(b"".join(page.streaming_content))
    assert [r[8] for r in rows[1:]] == ["one"]
    assert rows[0] == _csv(b"".join(answer.streaming_content))[0]


# Assignment


@pytest.fixture
def told():
    heard = []

    def listen(sender, kind, support_request, actor, **kwargs):
        heard.append((kind, support_request.pk, actor.email, support_request.assigned_to_id))

    request_event.connect(listen, dispatch_uid="desk-test")
    yield heard
    request_event.disconnect(dispatch_uid="desk-test")


def test_pick_up_assign_and_unassign(desk, told):
    made = desk["make"]()
    engineer, zoe = desk["engineer"], desk["other_engineer"]
    api = desk["api"](engineer)

    picked = api.post(f"/api/v1/support-requests/{made.pk}/pick-up")
    assert picked.status_code == 200
    assert (picked.json()["status"], picked.json()["assigned_to"]) == (
        "in_progress",
        "eng@ms.example",
    )
    moved = api.post(
        f"/api/v1/support-requests/{made.pk}/assign",
        {"engineer": "zoe@ms.example"},
        content_type="application/json",
    )
    assert (moved.json()["status"], moved.json()["assigned_to"]) == (
        "in_progress",
        "zoe@ms.example",
    )
    back = api.post(
        f"/api/v1/support-requests/{made.pk}/assign",
        {"engineer": None},
        content_type="application/json",
    )
    assert (back.json()["status"], back.json()["assigned_to"]) == ("open", None)
    assert told == [
        (RequestEvent.PICKED_UP, made.pk, engineer.email, engineer.pk),
        (RequestEvent.ASSIGNED, made.pk, engineer.email, zoe.pk),
    ]


def test_a_request_waiting_on_the_partner_keeps_waiting(desk):
    made = desk["make"]()
    SupportRequest.objects.filter(pk=made.pk).update(status=RequestStatus.ATTENTION_NEEDED)
    api = desk["api"](desk["engineer"])
    answer = api.post(f"/api/v1/support-requests/{made.pk}/pick-up")
    assert answer.json()["status"] == "attention_needed"
    back = api.post(
        f"/api/v1/support-requests/{made.pk}/assign",
        {"engineer": None},
        content_type="application/json",
    )
    assert back.json()["status"] == "attention_needed"


@pytest.mark.parametrize(
    "email",
    ["ann@contoso.example", "nobody@ms.example", "retired@ms.example", "", "x" * 300],
)
def test_only_an_active_engineer_can_be_assigned(desk, email):
    UserFactory(organization=None, is_staff=True, is_active=False, email="retired@ms.example")
    made = desk["make"]()
    answer = desk["api"](desk["engineer"]).post(
        f"/api/v1/support-requests/{made.pk}/assign",
        {"engineer": email},
        content_type="application/json",
    )
    if email == "":
        # An empty e-mail is "nobody": the same as null.
        assert answer.status_code == 200 and answer.json()["assigned_to"] is None
        return
    assert answer.status_code == 422, answer.content
    assert answer.json()["errors"][0]["path"].endswith("engineer")
    made.refresh_from_db()
    assert (made.assigned_to_id, made.status) == (None, "open")


def test_assign_needs_the_engineer_key(desk):
    made = desk["make"]()
    answer = desk["api"](desk["engineer"]).post(
        f"/api/v1/support-requests/{made.pk}/assign", {}, content_type="application/json"
    )
    assert answer.status_code == 422


def test_partners_cannot_assign_and_finished_requests_cannot_move(desk):
    made = desk["make"]()
    own = desk["api"](desk["bob"])
    for path, body in [("pick-up", None), ("assign", {"engineer": "eng@ms.example"})]:
        answer = own.post(
            f"/api/v1/support-requests/{made.pk}/{path}", body, content_type="application/json"
        )
        assert (answer.status_code, answer.json()["code"]) == (403, "role_required")
        outsider = desk["api"](UserFactory(organization=OrganizationFactory()))
        answer = outsider.post(
            f"/api/v1/support-requests/{made.pk}/{path}", body, content_type="application/json"
        )
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    support_request_close(engineer=desk["engineer"], request_id=made.pk, resolution="solved")
    engineer = desk["api"](desk["engineer"])
    for path, body in [("pick-up", None), ("assign", {"engineer": "zoe@ms.example"})]:
        answer = engineer.post(
            f"/api/v1/support-requests/{made.pk}/{path}", body, content_type="application/json"
        )
        assert (answer.status_code, answer.json()["code"]) == (409, "request_finished")
    missing = engineer.post("/api/v1/support-requests/999999/pick-up")
    assert missing.status_code == 404


# The portal's lists


def test_the_console_queues_and_reassigning(desk):
    make, engineer = desk["make"], desk["engineer"]
    sql = make(title="SQL one", severity="B")
    windows = make(title="Windows one", severity="A", family=("Windows Server", "2025"))
    client = Client()
    client.force_login(engineer)

    page = client.get(reverse("web:staff_queue"))
    html = page.content.decode()
    # Still being worked on, the first response due first (A is due in 2 hours).
    assert html.index("Windows one") < html.index("SQL one")
    assert 'aria-sort="ascending"' in html
    # The export link exports what the console shows, in its order.
    assert "/support/requests/export/?status=active&amp;ordering=first_response_due" in html
    queue = client.get(reverse("web:staff_queue"), {"family": "Windows Server"}).content.decode()
    assert "Windows one" in queue and "SQL one" not in queue

    answer = client.post(reverse("web:staff_assign", args=[sql.pk]), {"engineer": "zoe@ms.example"})
    assert answer.status_code == 302
    sql.refresh_from_db()
    assert sql.assigned_to == desk["other_engineer"]
    mine = client.get(reverse("web:staff_queue"), {"assigned": "none"}).content.decode()
    assert "Windows one" in mine and "SQL one" not in mine
    refused = client.post(
        reverse("web:staff_assign", args=[windows.pk]),
        {"engineer": "ann@contoso.example"},
        follow=True,
    )
    assert "No active support engineer has that e-mail." in refused.content.decode()
    windows.refresh_from_db()
    assert windows.assigned_to is None


def test_the_partner_list_filters_sorts_and_pages_in_the_database(desk):
    make = desk["make"]
    for n in range(30):
        make(title=f"Request {n:02}")
    make(title="Сервер не запускается")
    client = Client()
    client.force_login(desk["ann"])

    html = client.get(reverse("web:requests"), {"q": "сервер"}).content.decode()
    assert "Сервер не запускается" in html and "Request 01" not in html
    sorted_page = client.get(reverse("web:requests"), {"ordering": "title"}).content.decode()
    assert 'aria-sort="ascending"' in sorted_page
    assert sorted_page.index("Request 00") < sorted_page.index("Request 01")
    second = client.get(reverse("web:requests"), {"ordering": "title", "page": 2})
    assert "Request 25" in second.content.decode() and "Request 00" not in second.content.decode()
    refused = client.get(reverse("web:requests"), {"ordering": "nope", "severity": "Z"})
    assert refused.status_code == 200
    assert "Sort by one of" in refused.content.decode()
    assert 'id="requests-table"' in refused.content.decode()  # the rest still applies


# In a real browser (Debian's Chromium), in English, Russian and Polish


@pytest.fixture
def browser_page(browser, language):
    from tests.browser import LOCALES

    # bypass_csp: axe is injected as an inline script, which the policy forbids.
    context = browser.new_context(
        locale=LOCALES[language], viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture(params=["en", "ru", "pl"])
def language(request):
    return request.param


def _open_filters(page) -> None:
    details = page.locator(".list-filters details")
    if details.get_attribute("open") is None:
        details.locator("summary").click()


def _tn(language: str, singular: str, plural: str, number: int) -> str:
    from django.utils import translation

    with translation.override(language):
        return translation.ngettext(singular, plural, number) % {"counter": number}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_partner_searches_filters_and_sorts_the_list(browser_page, live_server, desk, language):
    from django.utils.text import capfirst
    from playwright.sync_api import expect

    from tests.browser import axe_violations, screenshot, sign_in, t

    page, make = browser_page, desk["make"]
    for title, description in SEARCHED.values():
        make(title=title, description=description, severity="B")
    make(title="Сервер отвечает медленно", severity="A")
    make(title="Zapytanie o licencję", severity="C")
    customer = CustomerFactory(organization=desk["organization"], name="Fabrikam")
    SupportRequest.objects.filter(title__startswith="Błąd").update(customer=customer)

    sign_in(page, live_server.url, "ann@contoso.example")
    page.goto(live_server.url + "/support/requests/")
    expect(page.locator("#requests-table tbody tr")).to_have_count(5)
    customer_header = capfirst(t(language, "CSP customer"))
    expect(page.locator("#requests-table thead")).to_contain_text(customer_header)
    expect(page.locator("#requests-table tbody")).to_contain_text("Fabrikam")

    page.get_by_role("searchbox").fill("сервер")
    page.get_by_role("button", name=t(language, "Search"), exact=True).click()
    rows = page.locator("#requests-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#list-count")).to_have_text(
        _tn(language, "%(counter)s request", "%(counter)s requests", 2)
    )

    _open_filters(page)
    page.locator("#filter-severity").select_option("A")
    page.get_by_role("button", name=t(language, "Apply filters")).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Сервер отвечает медленно")
    expect(page.get_by_role("searchbox")).to_have_value("сервер")

    page.locator("#filter-severity").select_option("")
    page.get_by_role("searchbox").fill("")
    page.get_by_role("button", name=t(language, "Apply filters")).click()
    expect(rows).to_have_count(5)
    title_header = page.locator("#requests-table th", has_text=t(language, "Title"))
    title_header.get_by_role("link").click()
    expect(title_header).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_contain_text("Backup fails every night")
    title_header.get_by_role("link").click()
    expect(title_header).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_contain_text("Сервер отвечает медленно")

    page.get_by_role("searchbox").fill("nothing-like-this")
    page.get_by_role("button", name=t(language, "Search"), exact=True).click()
    expect(page.locator("#no-matches")).to_have_text(
        t(language, "No request matches these filters.")
    )

    page.get_by_role("searchbox").fill("błąd")
    page.get_by_role("button", name=t(language, "Search"), exact=True).click()
    expect(rows).to_have_count(1)
    with page.expect_download() as download:
        page.locator("#export-link").click()
    exported = _csv(download.value.path().read_bytes())
    assert [r[8] for r in exported[1:]] == ["Błąd logowania użytkowników"]
    assert download.value.suggested_filename.startswith("support-requests-")
    assert axe_violations(page) == []

    page.get_by_role("searchbox").fill("")
    page.get_by_role("button", name=t(language, "Search"), exact=True).click()
    _open_filters(page)
    page.locator("#filter-severity").select_option("B")
    page.get_by_role("button", name=t(language, "Apply filters")).click()
    expect(rows).to_have_count(3)
    screenshot(page, "requests-filtered", language)
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "requests-filtered-phone", language)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_engineer_finds_and_reassigns_a_request(browser_page, live_server, desk, language):
    from playwright.sync_api import expect

    from tests.browser import axe_violations, screenshot, sign_in, t

    page, make = browser_page, desk["make"]
    make(title="Cluster down", severity="A", family=("Windows Server", "2025"))
    slow = make(title="Slow query", severity="B")
    make(title="Question", severity="C")

    sign_in(page, live_server.url, "eng@ms.example")
    page.goto(live_server.url + "/staff/requests/")
    rows = page.locator("#queue-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Cluster down")  # due first
    due = page.locator("#queue-table th", has_text=t(language, "First response due"))
    expect(due).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_contain_text(t(language, "On track"))
    screenshot(page, "console", language)
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "console-phone", language)
    page.set_viewport_size({"width": 1280, "height": 900})

    _open_filters(page)
    page.locator("#filter-family").select_option("SQL Server")
    page.get_by_role("button", name=t(language, "Apply filters")).click()
    expect(rows).to_have_count(2)
    rows.filter(has_text="Slow query").get_by_role("link").click()

    page.locator("#assign-engineer").select_option("zoe@ms.example")
    page.get_by_role("button", name=t(language, "Reassign")).click()
    expect(page.locator(".notice-success")).to_have_text(
        t(language, "The request is assigned to %(name)s.") % {"name": "Zoe"}
    )
    slow.refresh_from_db()
    assert slow.assigned_to.email == "zoe@ms.example"
    assert axe_violations(page) == []

    page.goto(live_server.url + "/staff/requests/?assigned=none")
    expect(rows).to_have_count(2)
    expect(page.locator("#queue-table")).not_to_contain_text("Slow query")
    page.goto(live_server.url + f"/staff/requests/{slow.pk}/")
    page.locator("#assign-engineer").select_option("")
    page.get_by_role("button", name=t(language, "Reassign")).click()
    expect(page.locator(".notice-success")).to_have_text(
        t(language, "The request is back in the queue, unassigned.")
    )
