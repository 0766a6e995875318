"""The conversation on a support request: replies both sides see, internal notes only
engineers see, questions that wait on the partner (the first-response clock paused), who
may withdraw, the notices and e-mails each step sends, and the refund made visible."""

from __future__ import annotations

import datetime
import threading

import pytest
import requests
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import formats, timezone, translation

from partnerdesk.benefits.models import Entitlement
from partnerdesk.notices.models import RequestNotice
from partnerdesk.notices.requests import request_notices_opened_due
from partnerdesk.support.models import RequestNote, SupportRequest
from partnerdesk.support.services import support_request_add_note
from tests.browser import t
from tests.factories import (
    OTHER,
    CustomerFactory,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    open_request,
    token_for,
)
from tests.helpers import console_script

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


class Api:
    def __init__(self, base: str, user):
        self.base = base + "/api/v1"
        self.headers = {"Authorization": f"Bearer {token_for(user)}"}

    def get(self, path):
        return requests.get(self.base + path, headers=self.headers, timeout=10)

    def post(self, path, json=None):
        return requests.post(self.base + path, json=json, headers=self.headers, timeout=10)


@pytest.fixture(autouse=True)
def no_language_left_behind():
    """The pages a test's Client opens activate their reader's language in this thread;
    the next module's tests expect none."""
    yield
    translation.deactivate()


@pytest.fixture
def desk(settings):
    """Contoso (its program contact a Polish-speaking admin), its requester (Russian), a
    colleague, an outsider and two support engineers; e-mails sent as tasks run at once."""
    settings.PARTNERDESK_BASE_URL = "https://desk.example"
    contoso = OrganizationFactory(name="Contoso", contact_email="Pawel@Contoso.example")
    membership(contoso, "gold", OTHER)
    activate(contoso)
    people = {
        "opener": UserFactory(
            organization=contoso, email="olga@contoso.example", name="Olga", language="ru"
        ),
        "colleague": UserFactory(organization=contoso, email="carl@contoso.example"),
        "contact": UserFactory(
            organization=contoso,
            email="pawel@contoso.example",
            name="Paweł",
            language="pl",
            is_global_admin=True,
        ),
        "outsider": UserFactory(email="out@fabrikam.example"),
        "engineer": UserFactory(
            organization=None, is_staff=True, email="eng@microsoft.example", name="Erin"
        ),
        "other_engineer": UserFactory(
            organization=None, is_staff=True, email="sam@microsoft.example", name="Sam"
        ),
    }
    contract = Entitlement.objects.get(organization=contoso, benefit__code="product_support")
    settings.TASKS = IMMEDIATE  # after the activations: their task waits for its time
    mail.outbox.clear()
    return {"org": contoso, "contract": contract, **people}


def new_request(desk, **options) -> SupportRequest:
    return open_request(desk["opener"], desk["contract"], **options)


def notices_of(user) -> list[tuple[int, str]]:
    return list(
        RequestNotice.objects.filter(recipient=user).values_list("support_request_id", "kind")
    )


def mails_to(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address]]


# --- the API ---------------------------------------------------------------------------


def test_internal_notes_stay_with_the_engineers(live_server, desk):
    support_request = new_request(desk)
    engineer = Api(live_server.url, desk["engineer"])
    path = f"/support-requests/{support_request.pk}"

    internal = engineer.post(path + "/notes", {"body": "Looks like KB5031 again", "internal": True})
    reply = engineer.post(path + "/notes", {"body": "Please send the setup log."})

    assert internal.status_code == 201 and internal.json()["internal"] is True
    assert reply.status_code == 201
    assert reply.json() | {"id": 0, "created_at": None} == {
        "id": 0,
        "author": "eng@microsoft.example",
        "author_name": "Erin",
        "author_side": "engineer",
        "body": "Please send the setup log.",
        "internal": False,
        "attention_needed": False,
        "created_at": None,
    }
    as_partner = Api(live_server.url, desk["opener"]).get(path).json()["notes"]
    assert [n["body"] for n in as_partner] == ["Please send the setup log."]
    as_engineer = engineer.get(path).json()["notes"]
    assert [(n["body"], n["internal"]) for n in as_engineer] == [
        ("Looks like KB5031 again", True),
        ("Please send the setup log.", False),
    ]
    # Told of the reply only, never of the internal note: notices and e-mails alike.
    assert notices_of(desk["opener"]) == [(support_request.pk, "reply")]
    assert notices_of(desk["contact"]) == [(support_request.pk, "reply")]
    assert notices_of(desk["engineer"]) == []
    assert sorted(m.to[0] for m in mail.outbox) == ["olga@contoso.example", "pawel@contoso.example"]
    assert not any("KB5031" in m.body or "KB5031" in m.subject for m in mail.outbox)
    support_request.refresh_from_db()
    assert support_request.first_responded_at is not None  # the reply, not the internal note
    assert support_request.first_responded_at == RequestNote.objects.get(internal=False).created_at


def test_only_engineers_write_internal_notes_or_ask_the_partner(live_server, desk):
    support_request = new_request(desk)
    path = f"/support-requests/{support_request.pk}/notes"
    partner = Api(live_server.url, desk["contact"])  # even a Global admin

    for option in ("internal", "attention_needed"):
        refused = partner.post(path, {"body": "hello", option: True})
        assert refused.status_code == 403, refused.text
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert refused.json()["code"] == "role_required"
    both = Api(live_server.url, desk["engineer"]).post(
        path, {"body": "hello", "internal": True, "attention_needed": True}
    )
    assert both.status_code == 422 and both.json()["errors"][0]["path"] == "attention_needed"
    assert not RequestNote.objects.exists()
    support_request.refresh_from_db()
    assert support_request.status == "open" and support_request.first_responded_at is None


def test_any_member_replies_another_organization_cannot_see_it(live_server, desk):
    support_request = new_request(desk)
    path = f"/support-requests/{support_request.pk}/notes"

    colleague = Api(live_server.url, desk["colleague"]).post(path, {"body": "Same here."})
    outsider = Api(live_server.url, desk["outsider"]).post(path, {"body": "hi"})

    assert colleague.status_code == 201 and colleague.json()["author_side"] == "partner"
    assert outsider.status_code == 404 and outsider.json()["code"] == "not_found"
    assert list(RequestNote.objects.values_list("body", flat=True)) == ["Same here."]
    # Nobody picked it up: a partner's reply tells no one.
    assert not RequestNotice.objects.exists() and mail.outbox == []


def test_a_question_waits_on_the_partner_and_their_reply_resumes_the_clock(live_server, desk):
    support_request = new_request(desk, severity="A")  # 2 hours, around the clock
    path = f"/support-requests/{support_request.pk}"
    engineer, colleague = (
        Api(live_server.url, desk["engineer"]),
        Api(live_server.url, desk["colleague"]),
    )
    due, warning = support_request.first_response_due, support_request.sla_warning_at

    asked = engineer.post(path + "/notes", {"body": "Which build?", "attention_needed": True})

    assert asked.status_code == 201 and asked.json()["attention_needed"] is True
    waiting = engineer.get(path).json()
    assert waiting["status"] == "attention_needed"
    support_request.refresh_from_db()
    assert support_request.sla_paused_at is not None
    assert support_request.first_responded_at == support_request.sla_paused_at  # answered
    assert notices_of(desk["opener"]) == [(support_request.pk, "attention_needed")]
    [question] = mails_to("olga@contoso.example")
    assert "Which build?" in question.body
    waiting_for = "Microsoft support is waiting for your reply on request #%(number)d: %(title)s"
    assert question.subject == t("ru", waiting_for) % {"number": support_request.pk, "title": "t"}

    # The question was asked 40 minutes ago: the clock stood still that long.
    paused = timezone.now() - datetime.timedelta(minutes=40)
    SupportRequest.objects.filter(pk=support_request.pk).update(sla_paused_at=paused)
    answered = colleague.post(path + "/notes", {"body": "Build 16.0.1"})

    assert answered.status_code == 201
    support_request.refresh_from_db()
    assert support_request.status == "open"  # nobody picked it up
    assert support_request.sla_paused_at is None
    moved = support_request.first_response_due - due
    assert datetime.timedelta(minutes=39) < moved < datetime.timedelta(minutes=41)
    assert support_request.sla_warning_at - warning == moved
    assert engineer.get(path).json()["sla_state"] == "met"


def test_the_partners_answer_puts_an_assigned_request_back_in_progress(live_server, desk):
    support_request = new_request(desk)
    SupportRequest.objects.filter(pk=support_request.pk).update(
        assigned_to=desk["engineer"], status="in_progress"
    )
    path = f"/support-requests/{support_request.pk}"
    question = {"body": "Which build?", "attention_needed": True}
    Api(live_server.url, desk["engineer"]).post(path + "/notes", question)
    mail.outbox.clear()

    Api(live_server.url, desk["opener"]).post(path + "/notes", {"body": "16.0.1"})

    support_request.refresh_from_db()
    assert support_request.status == "in_progress"
    # The assigned engineer is told (the actor never is), in English, with the console link.
    assert notices_of(desk["engineer"]) == [(support_request.pk, "reply")]
    [told] = mail.outbox
    assert told.to == ["eng@microsoft.example"] and "16.0.1" in told.body
    assert f"https://desk.example/staff/requests/{support_request.pk}/" in told.body


def test_withdraw_is_for_the_opener_and_the_admins(live_server, desk):
    by_colleague, by_admin, by_opener = new_request(desk), new_request(desk), new_request(desk)
    balance = Entitlement.objects.get(pk=desk["contract"].pk).balance

    refused = Api(live_server.url, desk["colleague"]).post(
        f"/support-requests/{by_colleague.pk}/withdraw"
    )
    admin = Api(live_server.url, desk["contact"]).post(f"/support-requests/{by_admin.pk}/withdraw")
    opener = Api(live_server.url, desk["opener"]).post(f"/support-requests/{by_opener.pk}/withdraw")
    engineer = Api(live_server.url, desk["engineer"]).post(
        f"/support-requests/{by_colleague.pk}/withdraw"
    )

    assert refused.status_code == 403 and refused.json()["code"] == "role_required"
    assert engineer.status_code == 404
    by_colleague.refresh_from_db()
    assert by_colleague.status == "open" and by_colleague.refunded_at is None
    for answer in (admin, opener):
        assert answer.status_code == 200, answer.text
        assert answer.json()["refunded"] is True and answer.json()["refunded_at"]
    assert Entitlement.objects.get(pk=desk["contract"].pk).balance == balance + 2
    # Closing tells the requester and the contact, saying the incident came back; the
    # one who withdrew is not told of it.
    assert notices_of(desk["contact"]) == [(by_opener.pk, "closed")]
    assert notices_of(desk["opener"]) == [(by_admin.pk, "closed")]
    polish = mails_to("pawel@contoso.example")[0]
    assert t("pl", "withdrawn") in polish.subject and "1" in polish.subject


def test_a_finished_request_takes_no_replies(live_server, desk):
    support_request = new_request(desk)
    path = f"/support-requests/{support_request.pk}"
    engineer = Api(live_server.url, desk["engineer"])
    assert engineer.post(path + "/close", {"resolution": "solved"}).status_code == 200

    for who in (engineer, Api(live_server.url, desk["opener"])):
        refused = who.post(path + "/notes", {"body": "one more thing"})
        assert refused.status_code == 409 and refused.json()["code"] == "request_finished"
    assert not RequestNote.objects.exists()


def test_the_closing_email_says_charged_refunded_or_nothing_on_the_csp_plan(live_server, desk):
    solved, duplicate = new_request(desk), new_request(desk)
    csp_org = OrganizationFactory(in_mpn=False, in_csp=True, contact_email="")
    agent = UserFactory(organization=csp_org, email="kim@lit.example", is_helpdesk_agent=True)
    customer = CustomerFactory(organization=csp_org)
    created = Api(live_server.url, agent).post(
        "/support-requests",
        {
            "customer_id": customer.pk,
            "workload": "azure",
            "severity": "B",
            "title": "t",
            "description": "d",
        },
    )
    assert created.status_code == 201 and created.json()["charged"] is False
    engineer = Api(live_server.url, desk["engineer"])

    for support_request, resolution in ((solved, "solved"), (duplicate, "duplicate")):
        engineer.post(f"/support-requests/{support_request.pk}/close", {"resolution": resolution})
    engineer.post(f"/support-requests/{created.json()['id']}/close", {"resolution": "solved"})

    russian = {m.subject: m.body for m in mails_to("olga@contoso.example")}
    [solved_mail] = [b for s, b in russian.items() if f"#{solved.pk} " in s]
    [duplicate_mail] = [b for s, b in russian.items() if f"#{duplicate.pk} " in s]
    refund = t("ru", "1 incident charged — refunded on %(date)s (%(reason)s)")
    refunded = refund.split("%(date)s")[0]
    assert t("ru", "1 incident charged") in solved_mail and refunded not in solved_mail
    assert refunded in duplicate_mail and t("ru", "duplicate") in duplicate_mail
    [csp_mail] = mails_to("kim@lit.example")
    assert "incident" not in csp_mail.body.lower() and "incident" not in csp_mail.subject.lower()
    assert "Cloud Solution Provider" in csp_mail.body


# --- "opened": the sweep ---------------------------------------------------------------


def test_the_opened_sweep_tells_once_even_run_twice(live_server, desk):
    fresh, old = new_request(desk, title="Fresh"), new_request(desk, title="Old")
    SupportRequest.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    assert not RequestNotice.objects.exists(), "opening a request writes no notice itself"

    assert request_notices_opened_due() == 1
    assert request_notices_opened_due() == 0

    assert notices_of(desk["opener"]) == [(fresh.pk, "opened")]
    assert notices_of(desk["contact"]) == [(fresh.pk, "opened")]
    assert sorted(m.to[0] for m in mail.outbox) == ["olga@contoso.example", "pawel@contoso.example"]
    [russian] = mails_to("olga@contoso.example")
    assert russian.subject == t("ru", "Request #%(number)d is open: %(title)s") % {
        "number": fresh.pk,
        "title": "Fresh",
    }
    assert f"https://desk.example/support/requests/{fresh.pk}/" in russian.body
    assert t("ru", "First response due") in russian.body


def test_two_sweeps_at_once_tell_once(transactional_db, desk):
    requests_opened = [new_request(desk, title=f"r{n}") for n in range(5)]
    barrier, results = threading.Barrier(2, timeout=30), []

    def sweep():
        try:
            barrier.wait()
            results.append(request_notices_opened_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    assert sum(results) == len(requests_opened)
    assert RequestNotice.objects.filter(kind="opened", recipient=desk["opener"]).count() == 5
    assert len(mails_to("olga@contoso.example")) == 5


# --- the pages -------------------------------------------------------------------------


def test_the_notices_page_lists_request_notices_until_the_request_is_opened(desk):
    support_request = new_request(desk, title="Replication fails")
    support_request_add_note(author=desk["engineer"], request_id=support_request.pk, body="Hi")
    client = Client()
    client.force_login(desk["colleague"])
    assert client.get("/notices/").content.count(b"Replication fails") == 0  # not told
    client.force_login(desk["opener"])

    page = client.get("/notices/").content.decode()

    link = f'href="/support/requests/{support_request.pk}/"'
    assert link in page and 'class="unread"' in page
    said = t("ru", "Microsoft support replied on request #%(number)d: %(title)s")  # Olga's
    assert said % {"number": support_request.pk, "title": "Replication fails"} in page
    client.get(f"/support/requests/{support_request.pk}/")
    again = client.get("/notices/").content.decode()
    assert link in again and 'class="unread"' not in again
    assert RequestNotice.objects.get(recipient=desk["opener"]).read_at is not None
    # Engineers have notices too: the partner's answer reaches the assigned engineer.
    SupportRequest.objects.filter(pk=support_request.pk).update(assigned_to=desk["engineer"])
    support_request_add_note(author=desk["opener"], request_id=support_request.pk, body="Thanks")
    client.force_login(desk["engineer"])
    console = client.get("/notices/").content.decode()
    assert f'href="/staff/requests/{support_request.pk}/"' in console


def test_the_request_pages_show_the_conversation_the_refund_and_who_may_withdraw(desk):
    support_request = new_request(desk)
    support_request_add_note(
        author=desk["engineer"], request_id=support_request.pk, body="Checking", internal=False
    )
    support_request_add_note(
        author=desk["engineer"], request_id=support_request.pk, body="Secret", internal=True
    )
    client = Client(headers={"accept-language": "en"})
    client.force_login(desk["colleague"])
    page = client.get(f"/support/requests/{support_request.pk}/").content.decode()
    assert "Checking" in page and "Secret" not in page
    assert "Microsoft support engineer" in page
    assert "/withdraw/" not in page  # a colleague may not withdraw
    assert 'name="internal"' not in page
    client.force_login(desk["engineer"])
    console = client.get(f"/staff/requests/{support_request.pk}/").content.decode()
    assert "Secret" in console and "Internal note: partners don't see it" in console
    assert 'name="internal"' in console and 'name="attention_needed"' in console

    client.force_login(desk["opener"])
    assert "/withdraw/" in client.get(f"/support/requests/{support_request.pk}/").content.decode()
    SupportRequest.objects.filter(pk=support_request.pk).update(status="open", assigned_to=None)
    withdraw = f"/support/requests/{support_request.pk}/withdraw/"
    assert client.post(withdraw).status_code == 302  # not confirmed: asks first
    support_request.refresh_from_db()
    assert support_request.status == "open"
    assert client.post(withdraw, {"confirm": "withdraw"}).status_code == 302
    page = client.get(f"/support/requests/{support_request.pk}/").content.decode()
    support_request.refresh_from_db()
    with translation.override("ru"):  # the opener reads Russian
        date = formats.date_format(timezone.localtime(support_request.refunded_at), "DATE_FORMAT")
    said = t("ru", "1 incident charged — refunded on %(date)s (%(reason)s)")
    assert said % {"date": date, "reason": t("ru", "withdrawn")} in page
    benefit = client.get(f"/benefits/technical/{desk['contract'].pk}/").content.decode()
    assert f'href="/support/requests/{support_request.pk}/"' in benefit
    ledger = ledger_rows(desk)
    assert {e["support_request_id"] for e in ledger} == {None, support_request.pk}


def ledger_rows(desk) -> list[dict]:
    answer = Client(headers={"authorization": f"Bearer {token_for(desk['opener'])}"}).get(
        f"/api/v1/benefits/{desk['contract'].pk}/ledger"
    )
    assert answer.status_code == 200
    return answer.json()["items"]


def test_the_console_reply_form_writes_internal_notes_and_questions(desk):
    support_request = new_request(desk)
    client = Client()
    client.force_login(desk["engineer"])
    url = f"/support/requests/{support_request.pk}/notes/"

    client.post(url, {"body": "note to self", "internal": "on"})
    answer = client.post(url, {"body": "Which build?", "attention_needed": "on"})

    assert answer.status_code == 302 and answer["Location"].startswith("/staff/requests/")
    assert list(RequestNote.objects.values_list("body", "internal", "asks_partner")) == [
        ("note to self", True, False),
        ("Which build?", False, True),
    ]
    support_request.refresh_from_db()
    assert support_request.status == "attention_needed"
    client.force_login(desk["opener"])
    refused = client.post(url, {"body": "sneaky", "internal": "on"})
    assert refused.status_code == 403
    assert RequestNote.objects.count() == 2


# --- a real SMTP server, a real worker ---------------------------------------------------


def test_the_reply_email_arrives_by_smtp_in_each_recipients_language(transactional_db):
    from django_tasks_db.models import DBTaskResult

    from tests.test_email import Mailbox, smtp_server

    contoso = OrganizationFactory(name="Contoso", contact_email="pawel@contoso.example")
    membership(contoso, "gold", OTHER)
    activate(contoso)
    opener = UserFactory(organization=contoso, email="olga@contoso.example", language="ru")
    UserFactory(organization=contoso, email="pawel@contoso.example", language="pl")
    engineer = UserFactory(organization=None, is_staff=True, email="eng@microsoft.example")
    contract = Entitlement.objects.get(organization=contoso, benefit__code="product_support")
    support_request = open_request(opener, contract, title="Replication fails")
    # Opened two days ago: the worker's "opened" sweep leaves it alone, only the reply goes.
    SupportRequest.objects.filter(pk=support_request.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    DBTaskResult.objects.all().delete()  # the activations' e-mails: not this test's
    support_request_add_note(
        author=engineer, request_id=support_request.pk, body="Please send the setup log."
    )
    assert DBTaskResult.objects.count() == 1  # queued on commit, for the worker
    mailbox = Mailbox()
    controller = smtp_server(mailbox)
    try:
        done = console_script(
            "worker",
            "--once",
            EMAIL_URL=f"smtp://127.0.0.1:{controller.port}?timeout=5",
            PARTNERDESK_BASE_URL="https://desk.example",
        )
        assert done.returncode == 0, done.stderr
        messages = mailbox.wait_for(2, within=20)
    finally:
        controller.stop()
    by_recipient = {m["to"][0]: m for m in messages}
    assert set(by_recipient) == {"olga@contoso.example", "pawel@contoso.example"}
    said = "Microsoft support replied on request #%(number)d: %(title)s"
    values = {"number": support_request.pk, "title": "Replication fails"}
    link = f"https://desk.example/support/requests/{support_request.pk}/"
    for address, language in (("olga@contoso.example", "ru"), ("pawel@contoso.example", "pl")):
        message = by_recipient[address]
        assert t(language, said) != said, f"not translated into {language}"
        assert message["subject"] == t(language, said) % values
        assert "Please send the setup log." in message["body"] and link in message["body"]
        assert t(language, "See the request") in message["body"]


# --- in a real browser -------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "ru", "pl"])
def test_a_partner_answers_the_engineers_question(browser, live_server, language):
    from playwright.sync_api import expect

    from tests.browser import LOCALES, axe_violations, screenshot, sign_in

    contoso = OrganizationFactory(name="Contoso")
    membership(contoso, "gold", OTHER)
    activate(contoso)
    ann = UserFactory(organization=contoso, email="ann@contoso.example", name="Ann Lee")
    engineer = UserFactory(
        organization=None, is_staff=True, email="erin@microsoft.example", name="Erin Diaz"
    )
    contract = Entitlement.objects.get(organization=contoso, benefit__code="product_support")
    support_request = open_request(ann, contract, title="Replication stays behind", severity="B")
    support_request_add_note(
        author=engineer,
        request_id=support_request.pk,
        body="Cluster logs show the KB5031 regression; waiting on the partner's build.",
        internal=True,
    )
    support_request_add_note(
        author=engineer,
        request_id=support_request.pk,
        body="Which cumulative update is installed on the replica?",
        attention_needed=True,
    )
    # bypass_csp: axe is injected as an inline script, which the policy forbids.
    context = browser.new_context(
        locale=LOCALES[language], viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "ann@contoso.example")
        page.goto(f"{live_server.url}/support/requests/{support_request.pk}/")

        notes = page.locator("#notes")
        expect(notes.locator("article.note")).to_have_count(1)
        expect(notes).to_contain_text("Which cumulative update is installed on the replica?")
        expect(notes).not_to_contain_text("KB5031")
        expect(notes.locator(".note-side")).to_have_text(t(language, "Microsoft support engineer"))
        expect(page.locator("#request-detail .badge").first).to_have_text(
            t(language, "Attention needed")
        )
        expect(page.locator("#waiting-for-you")).to_have_text(
            t(language, "Microsoft support is waiting for your reply.")
        )
        assert axe_violations(page) == []
        screenshot(page, "request-conversation", language)
        page.set_viewport_size({"width": 390, "height": 844})
        screenshot(page, "request-conversation-phone", language)
        page.set_viewport_size({"width": 1280, "height": 900})

        page.locator("#id_body").fill("KB5034441 is installed; the replica runs build 16.0.4115.")
        page.locator("#reply-form button[type=submit]").click()

        expect(page.get_by_text(t(language, "Your reply is sent."))).to_be_visible()
        expect(page.locator("#request-detail .badge").first).to_have_text(t(language, "Open"))
        expect(notes.locator("article.note")).to_have_count(2)
        expect(notes.locator("article.note").last).to_contain_text("KB5034441")
        expect(notes.locator(".note-side").last).to_have_text(t(language, "Partner"))
        expect(page.locator("#waiting-for-you")).to_have_count(0)
    finally:
        context.close()

    context = browser.new_context(locale=LOCALES[language], viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "erin@microsoft.example")
        page.goto(f"{live_server.url}/staff/requests/{support_request.pk}/")
        internal = page.locator("#notes article.note-internal")
        expect(internal).to_contain_text("KB5031")
        expect(internal.locator(".badge-internal")).to_have_text(
            t(language, "Internal note: partners don't see it")
        )
        expect(page.locator("label", has=page.locator("#id_internal"))).to_contain_text(
            t(language, "Internal note (partners don't see it)")
        )
        screenshot(page, "console-request", language)
    finally:
        context.close()


def test_a_reply_carries_its_files_all_or_nothing(desk, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from partnerdesk.support.models import Attachment

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    settings.MEDIA_ROOT = str(tmp_path)
    support_request = new_request(desk)
    client = Client()
    client.force_login(desk["opener"])
    url = f"/support/requests/{support_request.pk}/notes/"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

    sent = client.post(
        url, {"body": "The screenshot", "files": [SimpleUploadedFile("error.png", png)]}
    )
    refused = client.post(
        url,
        {
            "body": "And the page",
            "files": [
                SimpleUploadedFile("ok.png", png),
                SimpleUploadedFile("page.png", b"<html><script>alert(1)</script></html>"),
            ],
        },
    )

    assert sent.status_code == 302
    note = RequestNote.objects.get(body="The screenshot")
    assert list(Attachment.objects.values_list("note_id", "name")) == [(note.pk, "error.png")]
    assert refused.status_code >= 400  # a file refused: neither the reply nor its files
    assert not RequestNote.objects.filter(body="And the page").exists()
    assert Attachment.objects.count() == 1


def test_picked_up_tells_the_partner_once_and_an_assignee_it_is_theirs(desk):
    from partnerdesk.support.assignment import support_request_assign, support_request_pick_up

    support_request = new_request(desk)

    support_request_pick_up(engineer=desk["engineer"], request_id=support_request.pk)
    support_request_assign(
        engineer=desk["engineer"],
        request_id=support_request.pk,
        assignee_email="sam@microsoft.example",
    )

    assert notices_of(desk["opener"]) == [(support_request.pk, "picked_up")]
    assert notices_of(desk["contact"]) == [(support_request.pk, "picked_up")]
    assert notices_of(desk["engineer"]) == []  # their own doing
    assert notices_of(desk["other_engineer"]) == [(support_request.pk, "picked_up")]
    client = Client(headers={"accept-language": "en"})
    client.force_login(desk["other_engineer"])
    page = client.get("/notices/").content.decode()
    assert f"Request #{support_request.pk} is assigned to you" in page
    # The navigation shows them their unread count, on any page.
    assert 'id="nav-notices"' in page
    assert 'class="count"' in client.get("/staff/requests/").content.decode()


def test_the_csp_plan_never_mentions_incidents_on_the_page(desk):
    csp_org = OrganizationFactory(in_mpn=False, in_csp=True)
    agent = UserFactory(organization=csp_org, is_helpdesk_agent=True)
    customer = CustomerFactory(organization=csp_org)
    created = Client(headers={"authorization": f"Bearer {token_for(agent)}"}).post(
        "/api/v1/support-requests",
        {"customer_id": customer.pk, "workload": "azure", "severity": "B", "title": "t"}
        | {"description": "d"},
        content_type="application/json",
    )
    assert created.status_code == 201
    for language in ("en", "ru", "pl"):
        client = Client(headers={"accept-language": language})
        client.force_login(agent)
        page = client.get(f"/support/requests/{created.json()['id']}/").content.decode()
        assert t(language, "Cloud Solution Provider plan") in page
        for word in ("incident", "инцидент", "incydent"):
            assert word not in page.lower(), (language, word)


@pytest.mark.parametrize("language", ["en", "ru", "pl"])
def test_every_kind_of_request_notice_reads_well_on_the_notices_page(desk, language):
    from partnerdesk.notices.models import RequestNoticeKind

    support_request = new_request(desk, title="Cluster down")
    SupportRequest.objects.filter(pk=support_request.pk).update(resolution="duplicate")
    RequestNotice.objects.bulk_create(
        [
            RequestNotice(recipient=desk["engineer"], support_request=support_request, kind=kind)
            for kind in RequestNoticeKind
        ]
    )
    client = Client(headers={"accept-language": language})
    client.force_login(desk["engineer"])

    page = client.get("/notices/").content.decode()

    values = {"number": support_request.pk, "title": "Cluster down"}
    expected = [
        "Request #%(number)d is open: %(title)s",
        "Request #%(number)d is assigned to you: %(title)s",
        "The partner replied on request #%(number)d: %(title)s",
        "Microsoft support is waiting for your reply on request #%(number)d: %(title)s",
        "First response due soon on request #%(number)d: %(title)s",
        "First response overdue on request #%(number)d: %(title)s",
    ]
    for message in expected:
        assert t(language, message) % values in page
    closed = t(language, "Request #%(number)d is closed (%(resolution)s): %(title)s")
    assert closed % {**values, "resolution": t(language, "Duplicate")} in page
    assert page.count('class="unread"') == len(RequestNoticeKind)
