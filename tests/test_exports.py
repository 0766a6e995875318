"""The operators' exports of every organization's ledger and support requests: staff
only, streamed (never built whole), CSV that parses, every organization's rows, amounts in
each benefit's unit; and the same from the console script (`partnerdesk export-ledger`,
`export-requests`) in a process of its own."""

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from partnerdesk.benefits.ledger import ledger_post
from partnerdesk.benefits.models import Entitlement, LedgerEntry
from partnerdesk.support.models import SupportRequest
from tests.factories import (
    OTHER,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    open_request,
)
from tests.helpers import console_script


def rows_of(content: bytes) -> list[dict]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def two_partners():
    """A 2021 Gold partner with two requests charged, and a 2025 partner whose advisory
    hours lost 90 minutes to an adjustment whose note looks like a formula."""
    gold = OrganizationFactory(name="Contoso Żółć", partner_id="5100001")
    membership(gold, "gold", OTHER)
    activate(gold)
    user = UserFactory(organization=gold)
    contract = Entitlement.objects.get(organization=gold, benefit__code="product_support")
    open_request(user, contract, title="one")
    open_request(user, contract, title="=two")
    advisory = OrganizationFactory(name="ООО Ромашка", partner_id="5100002")
    membership(advisory, "success_core", program="ai-cloud-2025")
    activate(advisory)
    hours = Entitlement.objects.get(organization=advisory, benefit__code="advisory_hours")
    ledger_post(entitlement_id=hours.pk, kind="adjustment", delta=-90, note="@workshop")
    return gold, advisory, hours


def staff_client() -> Client:
    client = Client()
    client.force_login(UserFactory(organization=None, is_staff=True))
    return client


def streamed_rows(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; ")
    assert not response.has_header("Content-Length")
    return rows_of(b"".join(response.streaming_content))


@pytest.mark.django_db
def test_the_ledger_export_has_every_organizations_entries_in_their_units():
    _gold, _advisory, hours = two_partners()
    rows = streamed_rows(staff_client().get(reverse("web:staff_ledger_export")))

    assert [int(r["id"]) for r in rows] == list(
        LedgerEntry.objects.order_by("id").values_list("id", flat=True)
    )
    assert {r["partner_id"] for r in rows} == {"5100001", "5100002"}
    assert {r["organization"] for r in rows} == {"Contoso Żółć", "ООО Ромашка"}
    uses = [r for r in rows if r["partner_id"] == "5100001" and r["kind"] == "consume"]
    assert [(r["delta"], r["balance_after"], r["unit"]) for r in uses] == [
        ("-1", "19", "incidents"),  # a negative amount is a number, not a formula
        ("-1", "18", "incidents"),
    ]
    assert all(r["support_request_id"] and r["actor"] for r in uses)
    workshop = next(
        r for r in rows if r["entitlement_id"] == str(hours.pk) and r["kind"] == "adjustment"
    )
    assert (workshop["benefit"], workshop["unit"], workshop["delta"]) == (
        "advisory_hours",
        "hours",
        "-1.5",
    )
    assert workshop["balance_after"] == "3.5" and workshop["allowance_after"] == "5"
    assert workshop["note"] == "'@workshop"
    entry = LedgerEntry.objects.get(pk=workshop["id"])
    assert (workshop["entry_hash"], workshop["previous_hash"]) == (
        entry.entry_hash,
        entry.previous_hash,
    )


@pytest.mark.django_db
def test_the_requests_export_has_every_organizations_requests():
    two_partners()
    other = OrganizationFactory(name="Northwind")
    membership(other, "gold", OTHER)
    activate(other)
    open_request(
        UserFactory(organization=other),
        Entitlement.objects.get(organization=other, benefit__code="product_support"),
        title="northwind's",
    )
    rows = streamed_rows(staff_client().get(reverse("web:staff_requests_export")))

    assert [int(r["id"]) for r in rows] == list(
        SupportRequest.objects.order_by("id").values_list("id", flat=True)
    )
    assert {r["organization"] for r in rows} == {"Contoso Żółć", "Northwind"}
    assert [r["title"] for r in rows] == ["one", "'=two", "northwind's"]


@pytest.mark.django_db
def test_the_exports_are_for_operators_only():
    gold, _advisory, _hours = two_partners()
    partner_admin = UserFactory(organization=gold, is_global_admin=True)
    client = Client()
    client.force_login(partner_admin)
    for name in ("web:staff_ledger_export", "web:staff_requests_export"):
        refused = client.get(reverse(name))
        assert refused.status_code == 403
        assert not refused.streaming and "5100001" not in refused.content.decode()
        anonymous = Client().get(reverse(name))
        assert anonymous.status_code == 302 and reverse("web:login") in anonymous["Location"]


@pytest.mark.django_db
def test_the_operators_home_links_the_exports():
    page = staff_client().get(reverse("web:staff_home")).content.decode()
    assert f'href="{reverse("web:staff_ledger_export")}"' in page
    assert f'href="{reverse("web:staff_requests_export")}"' in page


@pytest.mark.django_db(transaction=True)
def test_the_console_script_writes_both_exports(tmp_path):
    two_partners()
    ledger, requests_file = tmp_path / "ledger.csv", tmp_path / "requests.csv"

    done = console_script("export-ledger", "--output", str(ledger))
    assert done.returncode == 0, done.stderr
    rows = rows_of(ledger.read_bytes())
    assert len(rows) == LedgerEntry.objects.count()
    assert f"{len(rows)} ledger entries written." in done.stderr
    assert {r["partner_id"] for r in rows} == {"5100001", "5100002"}

    done = console_script("export-requests", "--output", str(requests_file))
    assert done.returncode == 0, done.stderr
    assert [r["title"] for r in rows_of(requests_file.read_bytes())] == ["one", "'=two"]
    assert "2 support requests written." in done.stderr

    to_stdout = console_script("export-ledger")
    assert to_stdout.returncode == 0, to_stdout.stderr
    assert rows_of(to_stdout.stdout.encode()) == rows
