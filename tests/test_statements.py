"""Ledger statements (benefits.statements): the balances a period opens and closes with
and the entries between, as CSV and as PDF in the organization's language (read back
with pdftotext), through the API over HTTP and from the benefit page."""

import csv
import datetime
import io
import subprocess

import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from freezegun import freeze_time

from partnerdesk.benefits.ledger import ledger_post
from partnerdesk.benefits.models import Entitlement, LedgerEntry
from partnerdesk.benefits.statements import benefit_statement, organization_language
from partnerdesk.core.exceptions import NotFound, ValidationFailed
from tests.factories import (
    OTHER,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    open_request,
    token_for,
)

pytestmark = pytest.mark.django_db

MARCH = datetime.date(2026, 3, 1)
PERIOD = (datetime.date(2026, 3, 6), datetime.date(2026, 3, 15))


def partner(name: str, language: str = "en", partner_id: str = "4711001"):
    """A Gold partner (20 on-premises incidents) whose ledger spans March 2026: granted on
    the 2nd, a request on the 5th, another and an operator's +3 on the 10th, a third
    request on the 20th. Its admin reads ``language``; returns (admin, the contract)."""
    with freeze_time("2026-03-02 09:00:00"):
        organization = OrganizationFactory(name=name, partner_id=partner_id)
        admin = UserFactory(organization=organization, is_global_admin=True, language=language)
        membership(organization, "gold", OTHER)
        activate(organization)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    operator = UserFactory(organization=None, is_staff=True, email=f"op-{partner_id}@ops.example")
    with freeze_time("2026-03-05 10:00:00"):
        open_request(admin, contract, title="first")
    with freeze_time("2026-03-10 11:30:00"):
        second = open_request(admin, contract, title="second")
        ledger_post(
            entitlement_id=contract.pk,
            kind="adjustment",
            delta=3,
            actor_id=operator.pk,
            note="=Goodwill for the outage",
        )
    with freeze_time("2026-03-20 12:00:00"):
        open_request(admin, contract, title="third")
    admin.second_request = second
    return admin, contract


def rows_of(content: bytes) -> list[dict]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def pdf_text(content: bytes, tmp_path) -> str:
    assert content.startswith(b"%PDF-")
    path = tmp_path / "statement.pdf"
    path.write_bytes(content)
    done = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    )
    return " ".join(done.stdout.split())  # words as read, whatever the line breaks


def test_a_period_opens_with_the_balance_before_it_and_lists_only_its_entries():
    admin, contract = partner("Contoso")
    statement = benefit_statement(
        user=admin, entitlement_id=contract.pk, start=PERIOD[0], end=PERIOD[1]
    )

    assert statement.content_type == "text/csv; charset=utf-8"
    assert statement.filename == "statement-4711001-product_support-2026-03-06-2026-03-15.csv"
    opening, *entries, closing = rows_of(statement.content)
    assert (opening["kind"], opening["created_at"], opening["balance_after"]) == (
        "opening_balance",
        "2026-03-06",
        "19",  # 20 granted, one used on the 5th
    )
    assert [(r["kind"], r["delta"], r["balance_after"]) for r in entries] == [
        ("consume", "-1", "18"),
        ("adjustment", "3", "21"),
    ]
    use, adjustment = entries
    assert use["support_request_id"] == str(admin.second_request.pk)
    assert use["actor"] == admin.email and use["entry"] == "Use"
    assert use["created_at"] == "2026-03-10T11:30:00+00:00"
    assert adjustment["actor"].startswith("op-")
    assert adjustment["note"] == "'=Goodwill for the outage"  # not a formula in a spreadsheet
    assert (closing["kind"], closing["created_at"]) == ("closing_balance", "2026-03-15")
    assert (closing["delta"], closing["balance_after"], closing["allowance_after"]) == (
        "2",
        "21",
        "20",
    )
    assert {r["unit"] for r in (opening, *entries, closing)} == {"incidents"}


def test_without_dates_it_covers_the_benefits_whole_life_so_far(today):
    admin, contract = partner("Contoso")
    opening, *entries, closing = rows_of(
        benefit_statement(user=admin, entitlement_id=contract.pk).content
    )
    assert (opening["created_at"], opening["balance_after"]) == ("2026-03-02", "0")
    assert [r["kind"] for r in entries] == ["grant", "consume", "consume", "adjustment", "consume"]
    assert (closing["created_at"], closing["balance_after"]) == (today.isoformat(), "20")
    ledger = list(LedgerEntry.objects.filter(entitlement=contract).values_list("id", flat=True))
    assert [int(r["entry_id"]) for r in entries] == ledger
    # Only a start: up to today; only an end: from the first day.
    only_start = rows_of(
        benefit_statement(user=admin, entitlement_id=contract.pk, start=PERIOD[1]).content
    )
    assert [r["kind"] for r in only_start[1:-1]] == ["consume"]
    only_end = rows_of(
        benefit_statement(user=admin, entitlement_id=contract.pk, end=PERIOD[0]).content
    )
    assert [r["kind"] for r in only_end[1:-1]] == ["grant", "consume"]


def test_a_period_without_entries_opens_and_closes_alike():
    admin, contract = partner("Contoso")
    day = datetime.date(2026, 3, 25)
    opening, closing = rows_of(
        benefit_statement(user=admin, entitlement_id=contract.pk, start=day, end=day).content
    )
    assert opening["balance_after"] == closing["balance_after"] == "20"
    assert closing["delta"] == "0"


def test_hours_are_shown_in_hours():
    with freeze_time("2026-03-02 09:00:00"):
        organization = OrganizationFactory(name="Hours Inc")
        membership(organization, "success_core", program="ai-cloud-2025")
        activate(organization)
    hours = Entitlement.objects.get(organization=organization, benefit__code="advisory_hours")
    with freeze_time("2026-03-03 09:00:00"):
        ledger_post(entitlement_id=hours.pk, kind="adjustment", delta=-90, note="workshop")
    admin = UserFactory(organization=organization, is_global_admin=True)
    _opening, grant, workshop, closing = rows_of(
        benefit_statement(user=admin, entitlement_id=hours.pk, start=MARCH).content
    )
    assert (grant["delta"], grant["unit"]) == ("5", "hours")  # 300 minutes
    assert (workshop["delta"], workshop["balance_after"]) == ("-1.5", "3.5")
    assert closing["balance_after"] == "3.5"


def test_another_organizations_benefit_is_not_found_and_bad_input_is_refused(monkeypatch):
    admin, contract = partner("Contoso")
    stranger = UserFactory(organization=OrganizationFactory(), is_global_admin=True)
    membership(stranger.organization, "action_pack")
    with pytest.raises(NotFound):
        benefit_statement(user=stranger, entitlement_id=contract.pk)
    with pytest.raises(ValidationFailed) as refused:
        benefit_statement(user=admin, entitlement_id=contract.pk, start=PERIOD[1], end=PERIOD[0])
    assert [e["path"] for e in refused.value.errors] == ["to"]
    with pytest.raises(ValidationFailed) as refused:
        benefit_statement(user=admin, entitlement_id=contract.pk, file_format="xlsx")
    assert [e["path"] for e in refused.value.errors] == ["format"]
    # A PDF is laid out whole: a period with too many entries is refused, CSV is not.
    monkeypatch.setattr("partnerdesk.benefits.statements.PDF_MAX_ENTRIES", 4)
    with pytest.raises(ValidationFailed) as refused:
        benefit_statement(user=admin, entitlement_id=contract.pk, file_format="pdf")
    assert "shorter period" in refused.value.errors[0]["message"]
    assert benefit_statement(user=admin, entitlement_id=contract.pk).filename.endswith(".csv")
    pdf = benefit_statement(
        user=admin, entitlement_id=contract.pk, start=PERIOD[0], file_format="pdf"
    )
    assert pdf.content.startswith(b"%PDF-")


def test_the_organizations_language_is_its_contacts_then_its_admins():
    organization = OrganizationFactory(contact_email="Pat@partner.example")
    assert organization_language(organization) == "en"  # nobody chose one: the site's
    UserFactory(organization=organization, language="ru")
    assert organization_language(organization) == "ru"
    UserFactory(organization=organization, language="pl", is_mpn_partner_admin=True)
    assert organization_language(organization) == "pl"
    UserFactory(organization=organization, language="en", email="pat@partner.example")
    assert organization_language(organization) == "en"


# What each language's PDF must say, read back from the file: the organization's name
# with its own letters, headings and kinds of entry in the language, amounts with the
# language's plural, and dates in the language's formats (partnerdesk/formats).
PDF_EXPECTED = {
    "en": {
        "name": "Fabrikam Søndergård & Müller",
        "words": ["Date", "Entry", "Change", "Balance", "Benefit", "Use", "Adjustment"],
        "amounts": ["19 incidents", "21 incidents", "Request #"],
        "dates": ["March 6, 2026", "March 15, 2026", "03/10/2026 11:30 AM"],
    },
    "ru": {
        "name": "ООО «Ромашка» — Щёлково",
        "words": ["Дата", "Операция", "Изменение", "Остаток", "Использование", "Корректировка"],
        "amounts": ["19 инцидентов", "21 инцидент", "Обращение #"],
        "dates": ["6 марта 2026", "15 марта 2026", "10.03.2026 11:30"],
    },
    "pl": {
        "name": "Łódź Systemy Żółć Sp. z o.o.",
        "words": ["Data", "Operacja", "Zmiana", "Saldo", "Korzyść", "Wykorzystanie", "Korekta"],
        "amounts": ["19 incydentów", "21 incydentów", "Zgłoszenie #"],
        "dates": ["6 marca 2026", "15 marca 2026", "10.03.2026 11:30"],
    },
}


@pytest.mark.parametrize("language", ["en", "ru", "pl"])
def test_the_pdf_is_in_the_organizations_language(language, tmp_path):
    expected = PDF_EXPECTED[language]
    admin, contract = partner(expected["name"], language=language)
    statement = benefit_statement(
        user=admin, entitlement_id=contract.pk, start=PERIOD[0], end=PERIOD[1], file_format="pdf"
    )
    assert statement.content_type == "application/pdf"
    assert statement.filename.endswith("-2026-03-06-2026-03-15.pdf")
    text = pdf_text(statement.content, tmp_path)

    assert expected["name"] in text
    assert "4711001" in text
    assert contract.contract_id in text and contract.access_id in text
    for word in expected["words"] + expected["amounts"] + expected["dates"]:
        assert word in text, word
    with translation.override(language):
        headings = [gettext("Ledger statement"), gettext("Entries"), gettext("Made by")]
    for heading in headings:
        assert heading in text, heading
    assert "Goodwill for the outage" in text
    if language != "en":
        assert "Adjustment" not in text and "Balance" not in text


def test_the_api_answers_csv_and_pdf_attachments_and_problems(live_server):
    admin, contract = partner("Contoso")
    _other, foreign = partner("Northwind", partner_id="4711002")
    url = f"{live_server.url}/api/v1/benefits/{contract.pk}/statement"
    headers = {"Authorization": f"Bearer {token_for(admin)}"}

    answer = requests.get(
        url, params={"from": "2026-03-06", "to": "2026-03-15"}, headers=headers, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert answer.headers["Content-Disposition"].startswith(
        'attachment; filename="statement-4711001-product_support-2026-03-06-2026-03-15.csv"'
    )
    assert [r["kind"] for r in rows_of(answer.content)] == [
        "opening_balance",
        "consume",
        "adjustment",
        "closing_balance",
    ]
    pdf = requests.get(url, params={"format": "pdf"}, headers=headers, timeout=60)
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert ".pdf" in pdf.headers["Content-Disposition"]

    def problem(address: str, params: dict, status: int, code: str) -> dict:
        refused = requests.get(address, params=params, headers=headers, timeout=30)
        assert refused.status_code == status, refused.text
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        body = refused.json()
        assert body["code"] == code
        return body

    foreign_url = f"{live_server.url}/api/v1/benefits/{foreign.pk}/statement"
    problem(foreign_url, {}, 404, "not_found")
    problem(foreign_url, {"format": "pdf"}, 404, "not_found")
    body = problem(url, {"from": "2026-03-15", "to": "2026-03-06"}, 422, "validation_error")
    assert [e["path"] for e in body["errors"]] == ["to"]
    body = problem(url, {"from": "2026-02-30"}, 422, "validation_error")
    assert [e["path"] for e in body["errors"]] == ["from"]
    body = problem(url, {"to": "yesterday"}, 422, "validation_error")
    assert [e["path"] for e in body["errors"]] == ["to"]
    body = problem(url, {"format": "xlsx"}, 422, "validation_error")
    assert [e["path"] for e in body["errors"]] == ["format"]


def test_the_benefit_page_offers_the_statement_and_sends_it():
    admin, contract = partner("Contoso")
    client = Client()
    client.force_login(admin)
    page = client.get(reverse("web:benefit_detail", args=[contract.pk])).content.decode()
    address = reverse("web:benefit_statement", args=[contract.pk])
    assert f'action="{address}"' in page
    assert 'name="from"' in page and 'name="to"' in page and 'value="2026-03-02"' in page
    assert 'value="csv"' in page and "Statement (CSV)" in page
    assert 'value="pdf"' in page and "Statement (PDF)" in page

    answer = client.get(address, {"from": "2026-03-06", "to": "2026-03-15", "format": "csv"})
    assert answer.status_code == 200 and answer["Content-Type"] == "text/csv; charset=utf-8"
    assert answer["Content-Disposition"].startswith("attachment; ")
    assert [r["kind"] for r in rows_of(answer.content)][1:-1] == ["consume", "adjustment"]
    pdf = client.get(address, {"format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")

    refused = client.get(address, {"from": "2026-03-15", "to": "2026-03-06"})
    assert refused.status_code == 422
    assert client.get(address, {"from": "not a date"}).status_code == 422
    assert client.get(address, {"format": "xlsx"}).status_code == 422
    _other, foreign = partner("Northwind", partner_id="4711002")
    assert client.get(reverse("web:benefit_statement", args=[foreign.pk])).status_code == 404
