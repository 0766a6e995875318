"""Issue 16's request categories and advisory hours, through the services (and the HTTP
API for what it takes today): who is charged what, when it is given back, how an advisory
request's estimate is reserved and settled against the time logged, and the operator's
audited override that may take the hours below zero. The database refuses bad rows too."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Sum
from django.utils import timezone

from partnerdesk.accounts.models import AuditEvent
from partnerdesk.benefits.exceptions import IncidentsExhausted
from partnerdesk.benefits.ledger import ledger_post
from partnerdesk.benefits.models import USE_KINDS, Entitlement, LedgerEntry
from partnerdesk.core.exceptions import RoleRequired, ValidationFailed
from partnerdesk.support.exceptions import HoursInsufficient, RequestFinished
from partnerdesk.support.models import SupportRequest, TimeEntry
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
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    product,
    token_for,
)

pytestmark = pytest.mark.django_db

HOURS = 5 * 60  # success_core's 5 advisory hours, as the ledger counts them
INCIDENTS = 2  # and its 2 cloud incidents


def partner_user(organization=None):
    """A user of an activated 2025 Success Core partner, its contracts linked."""
    if organization is None:
        organization = OrganizationFactory()
        membership(organization, "success_core", program="ai-cloud-2025")
        activate(organization)
    user = UserFactory(organization=organization)
    for e in Entitlement.objects.filter(organization=organization, state="active"):
        contract_link(user=user, access_id=e.access_id, contract_id=e.contract_id)
    return user


@pytest.fixture
def partner():
    return partner_user()


@pytest.fixture
def engineer():
    return UserFactory(organization=None, is_staff=True)


@pytest.fixture(autouse=True)
def reconciled(db):
    """Every test ends with the ledger and the requests agreeing."""
    yield
    assert reconcile()[1] == []


def incidents_of(organization) -> Entitlement:
    return Entitlement.objects.get(
        organization=organization, benefit__code="partner_cloud_support", state="active"
    )


def hours_of(organization) -> Entitlement:
    return Entitlement.objects.get(
        organization=organization, benefit__code="advisory_hours", state="active"
    )


def draft(category: str = "technical", estimate: int | None = None) -> SupportRequestDraft:
    return SupportRequestDraft(
        product_id=product("Azure").pk,
        severity="B",
        title=f"A {category} question",
        description="d",
        category=category,
        estimate_minutes=estimate,
    )


def open_request(user, category: str = "technical", estimate: int | None = None):
    return support_request_create(user=user, draft=draft(category, estimate))


def written() -> tuple:
    """Everything a refusal must leave as it was."""
    return (
        SupportRequest.objects.count(),
        LedgerEntry.objects.count(),
        TimeEntry.objects.count(),
        tuple(Entitlement.objects.order_by("pk").values_list("balance", "used", "overdrawn")),
        tuple(SupportRequest.objects.order_by("pk").values_list("status", "settled_at")),
    )


def kinds(support_request) -> list[tuple[str, int]]:
    return list(support_request.ledger_entries.order_by("pk").values_list("kind", "delta"))


def assert_ledger_sums(entitlement: Entitlement) -> None:
    entitlement.refresh_from_db()
    entries = entitlement.ledger_entries
    assert entitlement.balance == entries.aggregate(t=Sum("delta"))["t"]
    uses = entries.filter(kind__in=USE_KINDS).aggregate(t=Sum("delta"))["t"] or 0
    assert entitlement.used == -uses


# Technical: one incident, given back for a duplicate or a product bug only.


@pytest.mark.parametrize(
    "resolution, refunded",
    [("duplicate", True), ("product_bug", True), ("solved", False)],
)
def test_technical_is_refunded_for_a_duplicate_or_a_bug_only(
    partner, engineer, resolution, refunded
):
    contract = incidents_of(partner.organization)
    opened = open_request(partner, "technical")
    assert opened.category.code == "technical"
    assert (opened.charged, opened.entitlement_id) == (True, contract.pk)
    assert kinds(opened) == [("consume", -1)]
    contract.refresh_from_db()
    assert (contract.balance, contract.used) == (INCIDENTS - 1, 1)

    support_request_close(engineer=engineer, request_id=opened.pk, resolution=resolution)

    contract.refresh_from_db()
    if refunded:
        assert kinds(opened) == [("consume", -1), ("refund", 1)]
        assert (contract.balance, contract.used) == (INCIDENTS, 0)
    else:
        assert kinds(opened) == [("consume", -1)]
        assert (contract.balance, contract.used) == (INCIDENTS - 1, 1)
    assert_ledger_sums(contract)


# Billing: one incident while it is open, given back at any closure.


@pytest.mark.parametrize("resolution", ["solved", "duplicate", "product_bug"])
def test_billing_is_refunded_at_any_closure(partner, engineer, resolution):
    contract = incidents_of(partner.organization)
    opened = open_request(partner, "billing")
    assert (opened.charged, opened.entitlement_id) == (True, contract.pk)
    contract.refresh_from_db()
    assert contract.balance == INCIDENTS - 1

    support_request_close(engineer=engineer, request_id=opened.pk, resolution=resolution)

    assert kinds(opened) == [("consume", -1), ("refund", 1)]
    contract.refresh_from_db()
    assert (contract.balance, contract.used) == (INCIDENTS, 0)
    assert_ledger_sums(contract)


@pytest.mark.parametrize("category", ["technical", "billing"])
def test_withdrawing_gives_the_incident_back(partner, category):
    contract = incidents_of(partner.organization)
    opened = open_request(partner, category)

    support_request_withdraw(user=partner, request_id=opened.pk)

    assert kinds(opened) == [("consume", -1), ("refund", 1)]
    contract.refresh_from_db()
    assert (contract.balance, contract.used) == (INCIDENTS, 0)


def test_a_closed_billing_request_is_refunded_once(partner, engineer):
    opened = open_request(partner, "billing")
    support_request_close(engineer=engineer, request_id=opened.pk, resolution="solved")
    with pytest.raises(RequestFinished):
        support_request_close(engineer=engineer, request_id=opened.pk, resolution="duplicate")
    assert kinds(opened) == [("consume", -1), ("refund", 1)]


# Frontline: free.


def test_frontline_is_free(partner, engineer):
    before = LedgerEntry.objects.count()
    contracts = written()[3]

    opened = open_request(partner, "frontline")
    support_request_close(engineer=engineer, request_id=opened.pk, resolution="solved")

    opened.refresh_from_db()
    assert opened.category.code == "frontline"
    assert (opened.entitlement, opened.charged, opened.estimate_minutes) == (None, False, None)
    assert opened.resolution == "solved"
    assert LedgerEntry.objects.count() == before
    assert written()[3] == contracts


def test_frontline_works_with_no_incidents_left(partner):
    for _ in range(INCIDENTS):
        open_request(partner, "technical")
    before = written()
    with pytest.raises(IncidentsExhausted):
        open_request(partner, "technical")
    with pytest.raises(IncidentsExhausted):
        open_request(partner, "billing")
    assert written() == before

    opened = open_request(partner, "frontline")

    assert (opened.charged, opened.entitlement) == (False, None)
    assert incidents_of(partner.organization).balance == 0
    assert LedgerEntry.objects.count() == before[1]


def test_an_estimate_belongs_to_advisory_requests_only(partner):
    before = written()
    for category in ("technical", "billing", "frontline"):
        with pytest.raises(ValidationFailed) as refused:
            open_request(partner, category, estimate=60)
        assert refused.value.extra["errors"][0]["path"] == "estimate_hours"
    for estimate in (None, 0, 40 * 60 + 1):
        with pytest.raises(ValidationFailed):
            open_request(partner, "advisory", estimate=estimate)
    with pytest.raises(ValidationFailed) as refused:
        open_request(partner, "no-such-category")
    assert refused.value.extra["errors"][0]["path"] == "category"
    assert written() == before


# Advisory: the estimate reserved, settled against the time logged.


def test_advisory_reserves_its_estimate(partner):
    hours = hours_of(partner.organization)
    assert (hours.allowance, hours.balance, hours.used) == (HOURS, HOURS, 0)

    opened = open_request(partner, "advisory", estimate=90)

    assert opened.category.code == "advisory"
    assert (opened.charged, opened.entitlement_id, opened.estimate_minutes) == (True, hours.pk, 90)
    assert opened.settled_at is None
    assert kinds(opened) == [("reserve", -90)]
    hours.refresh_from_db()
    assert (hours.balance, hours.used, hours.overdrawn) == (HOURS - 90, 90, False)
    assert hours.remaining_in_unit == 3.5
    # The incidents are not touched.
    incidents = incidents_of(partner.organization)
    assert (incidents.balance, incidents.used) == (INCIDENTS, 0)
    assert AuditEvent.objects.filter(action="hours.reserved", target_id=str(opened.pk)).exists()


def test_advisory_is_refused_when_the_hours_left_do_not_cover_the_estimate(partner):
    hours = hours_of(partner.organization)
    before = written()
    with pytest.raises(HoursInsufficient) as refused:
        open_request(partner, "advisory", estimate=HOURS + 1)
    assert (refused.value.code, refused.value.status) == ("hours_insufficient", 409)
    assert written() == before

    open_request(partner, "advisory", estimate=240)
    before = written()
    with pytest.raises(HoursInsufficient):
        open_request(partner, "advisory", estimate=61)
    assert written() == before, "a refused reservation wrote something"

    open_request(partner, "advisory", estimate=60)  # exactly what is left

    hours.refresh_from_db()
    assert (hours.balance, hours.used) == (0, HOURS)
    with pytest.raises(HoursInsufficient):
        open_request(partner, "advisory", estimate=1)
    assert_ledger_sums(hours)


def test_time_entries_add_up_and_closing_releases_what_was_not_used(partner, engineer):
    hours = hours_of(partner.organization)
    opened = open_request(partner, "advisory", estimate=120)
    time_entry_add(engineer=engineer, request_id=opened.pk, minutes=30, note="call")
    time_entry_add(engineer=engineer, request_id=opened.pk, minutes=45, note="  write-up  ")
    assert sorted(opened.time_entries.values_list("minutes", "note")) == [
        (30, "call"),
        (45, "write-up"),
    ]
    hours.refresh_from_db()
    assert hours.balance == HOURS - 120  # logging time moves nothing until the close

    support_request_close(engineer=engineer, request_id=opened.pk, resolution="solved")

    opened.refresh_from_db()
    assert opened.settled_at is not None
    assert kinds(opened) == [("reserve", -120), ("settle", 45)]
    hours.refresh_from_db()
    assert (hours.balance, hours.used, hours.overdrawn) == (HOURS - 75, 75, False)
    assert_ledger_sums(hours)
    assert AuditEvent.objects.filter(action="hours.settled", target_id=str(opened.pk)).exists()
    with pytest.raises(RequestFinished):
        time_entry_add(engineer=engineer, request_id=opened.pk, minutes=5)


@pytest.mark.parametrize("resolution", ["duplicate", "product_bug"])
def test_advisory_time_is_charged_whatever_the_resolution(partner, engineer, resolution):
    """Advisory hours settle on the time logged; no resolution gives the estimate back."""
    hours = hours_of(partner.organization)
    opened = open_request(partner, "advisory", estimate=60)
    time_entry_add(engineer=engineer, request_id=opened.pk, minutes=20)

    support_request_close(engineer=engineer, request_id=opened.pk, resolution=resolution)

    assert kinds(opened) == [("reserve", -60), ("settle", 40)]
    hours.refresh_from_db()
    assert (hours.balance, hours.used) == (HOURS - 20, 20)


def test_closing_charges_the_time_over_the_estimate(partner, engineer):
    hours = hours_of(partner.organization)
    opened = open_request(partner, "advisory", estimate=60)
    time_entry_add(engineer=engineer, request_id=opened.pk, minutes=70)
    time_entry_add(engineer=engineer, request_id=opened.pk, minutes=30)

    support_request_close(engineer=engineer, request_id=opened.pk, resolution="solved")

    assert kinds(opened) == [("reserve", -60), ("settle", -40)]
    hours.refresh_from_db()
    assert (hours.balance, hours.used, hours.overdrawn) == (HOURS - 100, 100, False)
    assert_ledger_sums(hours)


def test_time_logged_exactly_as_estimated_settles_at_zero(partner, engineer):
    hours = hours_of(partner.organization)
    opened = open_request(partner, "advisory", estimate=60)
    time_entry_add(engineer=engineer, request_id=opened.pk, minutes=60)

    support_request_close(engineer=engineer, request_id=opened.pk, resolution="solved")

    assert kinds(opened) == [("reserve", -60), ("settle", 0)]
    hours.refresh_from_db()
    assert (hours.balance, hours.used) == (HOURS - 60, 60)


def test_withdrawing_releases_the_reservation(partner):
    hours = hours_of(partner.organization)
    opened = open_request(partner, "advisory", estimate=120)

    support_request_withdraw(user=partner, request_id=opened.pk)

    opened.refresh_from_db()
    assert (opened.resolution, opened.settled_at is not None) == ("withdrawn", True)
    assert kinds(opened) == [("reserve", -120), ("settle", 120)]
    hours.refresh_from_db()
    assert (hours.balance, hours.used) == (HOURS, 0)
    assert_ledger_sums(hours)


def test_time_is_logged_by_engineers_on_advisory_requests_only(partner, engineer):
    technical = open_request(partner, "technical")
    advisory = open_request(partner, "advisory", estimate=60)
    before = written()
    with pytest.raises(ValidationFailed):
        time_entry_add(engineer=engineer, request_id=technical.pk, minutes=10)
    with pytest.raises(RoleRequired):
        time_entry_add(engineer=partner, request_id=advisory.pk, minutes=10)
    for minutes in (0, -5, 24 * 60 + 1):
        with pytest.raises(ValidationFailed):
            time_entry_add(engineer=engineer, request_id=advisory.pk, minutes=minutes)
    assert written() == before


# Going below zero: only an operator, only on purpose, always audited.


def over_the_hours(partner, engineer):
    """An advisory request whose time logged is 100 minutes more than the hours left:
    60 minutes left after its 240-minute reservation, 400 logged."""
    opened = open_request(partner, "advisory", estimate=240)
    time_entry_add(engineer=engineer, request_id=opened.pk, minutes=300)
    time_entry_add(engineer=engineer, request_id=opened.pk, minutes=100)
    return opened


def test_closing_below_zero_is_refused_without_an_override(partner, engineer):
    opened = over_the_hours(partner, engineer)
    before = written()

    with pytest.raises(HoursInsufficient) as refused:
        support_request_close(engineer=engineer, request_id=opened.pk, resolution="solved")

    assert refused.value.code == "hours_insufficient"
    assert written() == before, "a refused settlement wrote something"
    opened.refresh_from_db()
    assert (opened.status, opened.settled_at) == ("open", None)
    assert not AuditEvent.objects.filter(action="hours.overdrawn").exists()


def test_an_operator_may_overdraw_and_it_is_audited(partner, engineer):
    hours = hours_of(partner.organization)
    opened = over_the_hours(partner, engineer)

    support_request_close(
        engineer=engineer, request_id=opened.pk, resolution="solved", overdraw=True
    )

    hours.refresh_from_db()
    assert (hours.balance, hours.used, hours.overdrawn) == (-100, HOURS + 100, True)
    settlement = opened.ledger_entries.get(kind="settle")
    assert (settlement.delta, settlement.overdraw, settlement.actor_id) == (-160, True, engineer.pk)
    assert opened.ledger_entries.get(kind="reserve").overdraw is False
    audit = AuditEvent.objects.get(action="hours.overdrawn")
    assert (audit.actor_id, audit.organization_id) == (engineer.pk, partner.organization_id)
    assert (audit.target_type, audit.target_id) == ("support.supportrequest", str(opened.pk))
    assert audit.data == {"reserved": 240, "logged": 400}
    assert_ledger_sums(hours)

    # Overdrawn hours reserve nothing more; frontline and incidents still work.
    before = written()
    with pytest.raises(HoursInsufficient):
        open_request(partner, "advisory", estimate=1)
    assert written() == before
    assert open_request(partner, "frontline").charged is False
    assert open_request(partner, "technical").charged is True


def test_the_override_is_not_used_where_it_is_not_needed(partner, engineer):
    opened = open_request(partner, "advisory", estimate=60)
    time_entry_add(engineer=engineer, request_id=opened.pk, minutes=90)

    support_request_close(
        engineer=engineer, request_id=opened.pk, resolution="solved", overdraw=True
    )

    settlement = opened.ledger_entries.get(kind="settle")
    assert (settlement.delta, settlement.overdraw) == (-30, False)
    assert hours_of(partner.organization).overdrawn is False
    assert not AuditEvent.objects.filter(action="hours.overdrawn").exists()


def test_an_overdrawn_balance_recovers_with_a_later_release(partner, engineer):
    hours = hours_of(partner.organization)
    first = open_request(partner, "advisory", estimate=150)
    second = open_request(partner, "advisory", estimate=150)
    time_entry_add(engineer=engineer, request_id=first.pk, minutes=200)
    support_request_close(
        engineer=engineer, request_id=first.pk, resolution="solved", overdraw=True
    )
    hours.refresh_from_db()
    assert (hours.balance, hours.overdrawn) == (-50, True)

    support_request_withdraw(user=partner, request_id=second.pk)

    hours.refresh_from_db()
    assert (hours.balance, hours.used, hours.overdrawn) == (100, 200, False)
    assert_ledger_sums(hours)


@pytest.mark.parametrize("logged", [0, 10, 30])
def test_a_release_is_not_refused_while_overdrawn(partner, engineer, logged):
    """With the hours overdrawn, a request that gives time back (or settles at zero) is
    not an overdraw: the partner may withdraw it, the engineer close it, no override."""
    hours = hours_of(partner.organization)
    big = open_request(partner, "advisory", estimate=150)
    small = open_request(partner, "advisory", estimate=30)
    time_entry_add(engineer=engineer, request_id=big.pk, minutes=400)
    support_request_close(engineer=engineer, request_id=big.pk, resolution="solved", overdraw=True)
    hours.refresh_from_db()
    assert (hours.balance, hours.overdrawn) == (-130, True)
    if logged:
        time_entry_add(engineer=engineer, request_id=small.pk, minutes=logged)
        support_request_close(engineer=engineer, request_id=small.pk, resolution="solved")
    else:
        support_request_withdraw(user=partner, request_id=small.pk)

    hours.refresh_from_db()
    assert (hours.balance, hours.overdrawn) == (-130 + 30 - logged, True)
    settlement = small.ledger_entries.get(kind="settle")
    assert (settlement.delta, settlement.overdraw) == (30 - logged, False)
    assert AuditEvent.objects.filter(action="hours.overdrawn").count() == 1
    assert_ledger_sums(hours)


def test_a_partner_cannot_overdraw(partner, engineer):
    opened = over_the_hours(partner, engineer)
    admin = UserFactory(organization=partner.organization, is_global_admin=True)
    before = written()

    with pytest.raises(RoleRequired):
        support_request_close(
            engineer=partner, request_id=opened.pk, resolution="solved", overdraw=True
        )
    with pytest.raises(RoleRequired):
        support_request_close(
            engineer=admin, request_id=opened.pk, resolution="solved", overdraw=True
        )
    # Withdrawing settles the time logged too, and a partner has no override.
    with pytest.raises(HoursInsufficient):
        support_request_withdraw(user=partner, request_id=opened.pk)

    assert written() == before
    assert hours_of(partner.organization).overdrawn is False
    assert not AuditEvent.objects.filter(action="hours.overdrawn").exists()


# The database's own guards.


def refused_by_the_database(statement: str, params: list) -> None:
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_the_database_refuses_a_negative_balance_without_the_flag(partner):
    hours = hours_of(partner.organization)
    table = Entitlement._meta.db_table
    refused_by_the_database(f"UPDATE {table} SET balance = -1 WHERE id = %s", [hours.pk])
    refused_by_the_database(f"UPDATE {table} SET overdrawn = %s WHERE id = %s", [True, hours.pk])
    hours.refresh_from_db()
    assert (hours.balance, hours.overdrawn) == (HOURS, False)
    # The flag and a negative balance together are what an override leaves: accepted.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET balance = -1, overdrawn = %s WHERE id = %s", [True, hours.pk]
        )
        transaction.set_rollback(True)


def entry_insert(entitlement: Entitlement, **values) -> tuple[str, list]:
    row = {
        "entitlement_id": entitlement.pk,
        "kind": "reserve",
        "delta": -30,
        "balance_after": entitlement.balance - 30,
        "allowance_after": entitlement.allowance,
        "actor_id": None,
        "note": "",
        "support_request_id": None,
        "overdraw": False,
        "created_at": timezone.now(),
        "previous_hash": entitlement.ledger_hash,
        "entry_hash": "0" * 64,
    } | values
    columns = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    return f"INSERT INTO {LedgerEntry._meta.db_table} ({columns}) VALUES ({marks})", list(
        row.values()
    )


def test_the_database_refuses_a_second_reservation_and_bad_entries(partner, engineer):
    hours = hours_of(partner.organization)
    opened = open_request(partner, "advisory", estimate=60)
    hours.refresh_from_db()
    entries = LedgerEntry.objects.count()

    refused_by_the_database(*entry_insert(hours, support_request_id=opened.pk))
    # A reservation that takes nothing, or names no request; an override on a reservation.
    other = open_request(partner, "frontline")
    refused_by_the_database(*entry_insert(hours, support_request_id=other.pk, delta=0))
    refused_by_the_database(*entry_insert(hours, support_request_id=None))
    refused_by_the_database(
        *entry_insert(hours, support_request_id=other.pk, overdraw=True, actor_id=engineer.pk)
    )
    # The application's own path meets the same unique index.
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger_post(
            entitlement_id=hours.pk, kind="reserve", delta=-30, support_request_id=opened.pk
        )
    assert LedgerEntry.objects.count() == entries


def test_the_database_refuses_a_second_settlement(partner, engineer):
    hours = hours_of(partner.organization)
    opened = open_request(partner, "advisory", estimate=60)
    support_request_close(engineer=engineer, request_id=opened.pk, resolution="solved")
    hours.refresh_from_db()

    refused_by_the_database(
        *entry_insert(hours, kind="settle", delta=10, support_request_id=opened.pk)
    )
    assert opened.ledger_entries.count() == 2


# Through the HTTP API: requests it opens are technical.


class Api:
    def __init__(self, base: str, user):
        self.base = base + "/api/v1"
        self.headers = {"Authorization": f"Bearer {token_for(user)}"}

    def post(self, path, json=None):
        return requests.post(self.base + path, json=json, headers=self.headers, timeout=30)


@pytest.mark.parametrize("resolution, balance", [("duplicate", 2), ("solved", 1)])
def test_the_api_opens_technical_requests(live_server, resolution, balance):
    user = partner_user()
    engineer = UserFactory(organization=None, is_staff=True)
    contract = incidents_of(user.organization)
    partner_api, engineer_api = Api(live_server.url, user), Api(live_server.url, engineer)

    created = partner_api.post(
        "/support-requests",
        {"product_id": product("Azure").pk, "severity": "B", "title": "t", "description": "d"},
    )
    assert created.status_code == 201, created.text
    opened = SupportRequest.objects.get(pk=created.json()["id"])
    assert (opened.category.code, opened.entitlement_id, opened.charged) == (
        "technical",
        contract.pk,
        True,
    )
    contract.refresh_from_db()
    assert contract.balance == INCIDENTS - 1

    closed = engineer_api.post(f"/support-requests/{opened.pk}/close", {"resolution": resolution})
    assert closed.status_code == 200, closed.text

    contract.refresh_from_db()
    assert contract.balance == balance
    assert hours_of(user.organization).balance == HOURS


# Real threads against the last hours.

THREADS = 8
ESTIMATE = 90  # 300 minutes cover three of them


@pytest.mark.django_db(transaction=True)
def test_eight_threads_against_five_hours():
    """Each thread its own connection; exactly B // E reservations get through."""
    user = partner_user()
    hours = hours_of(user.organization)
    assert hours.balance == HOURS
    barrier = threading.Barrier(THREADS)

    def reserve(_: int) -> str:
        try:
            barrier.wait(timeout=30)
            open_request(user, "advisory", estimate=ESTIMATE)
            return "reserved"
        except HoursInsufficient:
            return "hours_insufficient"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(reserve, i) for i in range(THREADS)]
        outcomes = Counter(f.result(timeout=120) for f in futures)

    k = HOURS // ESTIMATE
    assert outcomes == {"reserved": k, "hours_insufficient": THREADS - k}, outcomes
    hours.refresh_from_db()
    assert (hours.balance, hours.used) == (HOURS - k * ESTIMATE, k * ESTIMATE)
    assert LedgerEntry.objects.filter(entitlement=hours, kind="reserve").count() == k
    assert SupportRequest.objects.filter(organization=user.organization).count() == k
    assert_ledger_sums(hours)
