"""The operator's move of an organization from one partner program to the next (issue 16):
the old memberships close the day before, the new open on the date, and the ledger
records both sides — the old benefits' expiry and the new ones' grants."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from partnerdesk.accounts.models import AuditEvent
from partnerdesk.benefits.models import (
    Entitlement,
    EntitlementState,
    LedgerEntry,
    LedgerKind,
    in_unit,
)
from partnerdesk.benefits.services import entitlements_refresh_due, entitlements_sync
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.onboarding.program_move import program_move
from partnerdesk.partners.models import Membership, Program, months_after
from tests.factories import (
    OTHER,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    open_request,
)
from tests.helpers import console_script

DAY = datetime.timedelta(days=1)
INFRA = "Infrastructure (Azure)"
MOVE = [("success_core", None), ("solutions_partner", INFRA)]
# Partner Success Core + Solutions Partner, added up.
MOVED_ALLOWANCES = {"partner_cloud_support": 52, "partner_onprem_support": 20, "advisory_hours": 55}


@pytest.fixture
def gold(today):
    """A 2021 Gold organization (Data Analytics: 20 on-premises, 10 cloud incidents), its
    benefits activated, one on-premises incident used."""
    organization = OrganizationFactory(partner_id="4711001", name="Contoso")
    membership(organization, "gold", OTHER, starts=today - 200 * DAY, ends=today + 165 * DAY)
    activate(organization)
    product = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    open_request(UserFactory(organization=organization, is_global_admin=True), product)
    product.refresh_from_db()
    assert (product.state, product.balance) == (EntitlementState.ACTIVE, 19)
    return organization


def current(organization) -> dict[str, Entitlement]:
    return {
        e.benefit.code: e
        for e in Entitlement.objects.filter(organization=organization)
        .current()
        .select_related("benefit")
    }


def ledger_sides(entries) -> set[tuple[str, str, int]]:
    return {
        (e.kind, e.entitlement.benefit.code, in_unit(e.delta, e.entitlement.benefit.unit))
        for e in entries
    }


BOTH_SIDES = {
    (LedgerKind.EXPIRE, "product_support", -19),
    (LedgerKind.EXPIRE, "cloud_support", -10),
    (LedgerKind.GRANT, "partner_cloud_support", 52),
    (LedgerKind.GRANT, "partner_onprem_support", 20),
    (LedgerKind.GRANT, "advisory_hours", 55),
}


def assert_moved(organization, *, on: datetime.date, old: dict[str, Entitlement]) -> None:
    gold_membership = Membership.objects.get(organization=organization, offer="gold")
    assert gold_membership.ends == on - DAY
    for code, left in (("product_support", 19), ("cloud_support", 10)):
        lapsed = Entitlement.objects.get(pk=old[code].pk)
        assert (lapsed.state, lapsed.balance) == (EntitlementState.LAPSED, 0)
        last = lapsed.ledger_entries.order_by("pk").last()
        assert (last.kind, last.delta, last.note) == (LedgerKind.EXPIRE, -left, "membership lapsed")
    granted = current(organization)
    assert {code: e.allowance_in_unit for code, e in granted.items()} == MOVED_ALLOWANCES
    assert {code: e.offer for code, e in granted.items()} == {
        "partner_cloud_support": "success_core+solutions_partner",
        "partner_onprem_support": "solutions_partner",
        "advisory_hours": "success_core+solutions_partner",
    }
    for entitlement in granted.values():
        assert entitlement.state == EntitlementState.NOT_ACTIVATED
        assert entitlement.remaining_in_unit == entitlement.allowance_in_unit
        assert list(entitlement.ledger_entries.values_list("kind", flat=True)) == ["grant"]


def assert_reconciled() -> None:
    out = StringIO()
    call_command("reconcile", stdout=out)  # raises CommandError on any difference
    assert "Every balance equals its ledger." in out.getvalue()


def test_a_move_today_closes_2021_opens_2025_and_the_ledger_records_both_sides(gold, today):
    old = current(gold)
    operator = UserFactory(organization=None, is_staff=True)

    moved = program_move(
        partner_id="4711001", to_program="ai-cloud-2025", on=today, offers=MOVE, actor=operator
    )

    assert moved.recorded_now
    assert_moved(gold, on=today, old=old)
    year = months_after(today, 12) - DAY
    opened = Membership.objects.filter(organization=gold, program__code="ai-cloud-2025")
    assert sorted(
        (m.offer, m.solution_area.name if m.solution_area else None, m.starts, m.ends)
        for m in opened
    ) == [("solutions_partner", INFRA, today, year), ("success_core", None, today, year)]
    assert [m.pk for m in moved.closed] == [Membership.objects.get(offer="gold").pk]
    assert sorted(m.pk for m in moved.opened) == sorted(m.pk for m in opened)
    assert len(moved.entries) == len(BOTH_SIDES)
    assert ledger_sides(moved.entries) == BOTH_SIDES
    event = AuditEvent.objects.get(action="program.moved")
    assert (event.organization_id, event.actor_id) == (gold.pk, operator.pk)
    assert event.data == {
        "from": ["mpn-2021"],
        "to": "ai-cloud-2025",
        "on": today.isoformat(),
        "ends": year.isoformat(),
        "offers": [
            {"offer": "success_core", "qualification": None},
            {"offer": "solutions_partner", "qualification": INFRA},
        ],
    }
    assert_reconciled()
    # Done again, there is nothing left to move from, and nothing changes.
    entries = LedgerEntry.objects.count()
    with pytest.raises(ValidationFailed) as again:
        program_move(partner_id="4711001", to_program="ai-cloud-2025", on=today, offers=MOVE)
    assert [e["path"] for e in again.value.errors] == ["to", "offers[0]", "offers[1]"]
    assert LedgerEntry.objects.count() == entries


def test_a_move_on_a_past_date_ends_the_old_memberships_the_day_before_it(gold, today):
    on = today - 10 * DAY
    old = current(gold)

    program_move(partner_id="4711001", to_program="ai-cloud-2025", on=on, offers=MOVE)

    assert_moved(gold, on=on, old=old)
    assert set(
        Membership.objects.filter(program__code="ai-cloud-2025").values_list("starts", "ends")
    ) == {(on, months_after(on, 12) - DAY)}
    assert_reconciled()


def test_a_move_ahead_is_recorded_by_the_daily_refresh_on_its_date(gold, today):
    on = today + 30 * DAY
    old = current(gold)

    def entitlements():
        return list(
            Entitlement.objects.order_by("pk").values_list("pk", "state", "allowance", "balance")
        )

    before = entitlements()
    entries = list(LedgerEntry.objects.values_list("pk", flat=True))

    moved = program_move(partner_id="4711001", to_program="ai-cloud-2025", on=on, offers=MOVE)

    assert not moved.recorded_now
    assert moved.entries == []
    assert Membership.objects.get(offer="gold").ends == on - DAY
    assert Membership.objects.filter(program__code="ai-cloud-2025", starts=on).count() == 2
    assert entitlements() == before
    assert list(LedgerEntry.objects.values_list("pk", flat=True)) == entries
    # What the old benefits show follows the closed membership at once.
    assert Entitlement.objects.get(pk=old["cloud_support"].pk).membership_ends == on - DAY
    # The day before, the refresh has nothing to record.
    assert entitlements_refresh_due(today=on - DAY) == 0
    assert entitlements() == before

    assert entitlements_refresh_due(today=on) == 1

    assert_moved(gold, on=on, old=old)
    new_entries = LedgerEntry.objects.exclude(pk__in=entries).select_related("entitlement__benefit")
    assert ledger_sides(new_entries) == BOTH_SIDES
    assert_reconciled()


def test_the_new_memberships_end_when_the_operator_says(gold, today):
    ends = months_after(today, 24) - DAY
    program_move(
        partner_id="4711001",
        to_program="ai-cloud-2025",
        on=today,
        offers=[("success_expanded", None)],
        ends=ends,
    )
    opened = Membership.objects.get(organization=gold, program__code="ai-cloud-2025")
    assert (opened.offer, opened.starts, opened.ends) == ("success_expanded", today, ends)
    assert {code: e.allowance_in_unit for code, e in current(gold).items()} == {
        "partner_cloud_support": 5,
        "advisory_hours": 10,
    }


@pytest.fixture
def world(gold, today):
    """Beside the Gold organization: one already in ai-cloud-2025 only, and one holding a
    2021 membership and the 2025 Partner Success Core at once."""
    cloud_only = OrganizationFactory(partner_id="4711002")
    both = OrganizationFactory(partner_id="4711003")
    membership(both, "silver", OTHER, starts=today - 50 * DAY, ends=today + 300 * DAY)
    program = Program.objects.get(code="ai-cloud-2025")
    for organization in (cloud_only, both):
        Membership.objects.create(
            organization=organization,
            program=program,
            offer="success_core",
            starts=today - 20 * DAY,
            ends=today + 340 * DAY,
        )
        entitlements_sync(organization=organization)
    return gold


def database_state():
    return {
        "memberships": list(Membership.objects.order_by("pk").values_list("pk", "starts", "ends")),
        "entitlements": list(
            Entitlement.objects.order_by("pk").values_list(
                "pk", "state", "allowance", "balance", "membership_ends", "activation_deadline"
            )
        ),
        "ledger": LedgerEntry.objects.count(),
        "audit": AuditEvent.objects.filter(action="program.moved").count(),
    }


ERRORS = [
    pytest.param(
        {"partner_id": "9999999"},
        "partner_id",
        "no organization has the partner ID “9999999”",
        id="unknown-organization",
    ),
    pytest.param(
        {"to_program": "ai-cloud-2030"},
        "to",
        "unknown program “ai-cloud-2030” (known: ai-cloud-2025, mpn-2021)",
        id="unknown-program",
    ),
    pytest.param(
        {"partner_id": "4711002", "offers": [("success_expanded", None)]},
        "to",
        "4711002 has no membership of another program on {today}: there is nothing to move from",
        id="already-in-the-program-only",
    ),
    pytest.param(
        {"offers": [("gold", OTHER)]},
        "offers[0].offer",
        "ai-cloud-2025 has no offer “gold” (its offers: partner_launch, success_core, "
        "success_expanded, solutions_partner)",
        id="offer-not-in-the-program",
    ),
    pytest.param(
        {"offers": [("success_core", None), ("solutions_partner", None)]},
        "offers[1].solution_area",
        "solutions_partner is held in a solution area: name it",
        id="missing-solution-area",
    ),
    pytest.param(
        {"offers": [("solutions_partner", "Atlantis")]},
        "offers[0].solution_area",
        "unknown solution area “Atlantis”",
        id="unknown-solution-area",
    ),
    pytest.param(
        {"offers": [("success_core", "Modern Work")]},
        "offers[0].solution_area",
        "success_core is not held in a solution area",
        id="offer-held-in-nothing",
    ),
    pytest.param(
        {"offers": [("success_core", None), ("success_core", None)]},
        "offers[1]",
        "the same membership is listed twice",
        id="offer-twice",
    ),
    pytest.param(
        {"offers": [("Success Core", None)]},
        "offers[0].offer",
        None,
        id="offer-not-a-code",
    ),
    pytest.param({"offers": []}, "offers", "name at least one offer of the new program", id="none"),
    pytest.param(
        {"on": -300},
        "on",
        "Gold — Data Analytics ({starts} – {ends}) starts on {starts}, not before the move: "
        "it cannot end the day before; move on a later date",
        id="date-before-the-closed-membership-starts",
    ),
    pytest.param(
        {"on": -200},
        "on",
        "Gold — Data Analytics ({starts} – {ends}) starts on {starts}, not before the move: "
        "it cannot end the day before; move on a later date",
        id="date-on-the-closed-membership-start",
    ),
    pytest.param({"ends": -1}, "ends", "ends before it starts", id="ends-before-the-date"),
    pytest.param(
        {"partner_id": "4711002", "to_program": "mpn-2021", "offers": [("gold", OTHER)]},
        "on",
        "mpn-2021 runs from 2021-01-01 to 2025-01-21; a move to it must fall in between",
        id="program-retired",
    ),
    pytest.param(
        {"partner_id": "4711003", "offers": [("success_core", None)]},
        "offers[0]",
        "the organization already holds Partner Success Core ({core_starts} – {core_ends})",
        id="offer-already-held",
    ),
]


@pytest.mark.parametrize(("change", "path", "message"), ERRORS)
def test_a_refused_move_names_the_problem_and_writes_nothing(world, today, change, path, message):
    arguments = {
        "partner_id": "4711001",
        "to_program": "ai-cloud-2025",
        "on": today,
        "offers": MOVE,
    } | change
    for name in ("on", "ends"):
        if isinstance(arguments.get(name), int):
            arguments[name] = today + arguments[name] * DAY
    before = database_state()

    with pytest.raises(ValidationFailed) as refused:
        program_move(**arguments)

    assert [e["path"] for e in refused.value.errors] == [path]
    if message is not None:
        gold = Membership.objects.get(organization=world, offer="gold")
        core = Membership.objects.get(organization__partner_id="4711003", offer="success_core")
        assert refused.value.errors[0]["message"] == message.format(
            today=today.isoformat(),
            starts=gold.starts.isoformat(),
            ends=gold.ends.isoformat(),
            core_starts=core.starts.isoformat(),
            core_ends=core.ends.isoformat(),
        )
    assert database_state() == before


def test_the_command_prints_what_it_closed_opened_and_recorded(gold, today):
    out = StringIO()
    call_command(
        "move_program",
        "4711001",
        "--to",
        "ai-cloud-2025",
        "--on",
        today.isoformat(),
        "--offer",
        "success_core",
        "--offer",
        f"solutions_partner={INFRA}",
        stdout=out,
    )

    gold_membership = Membership.objects.get(offer="gold")
    year = months_after(today, 12) - DAY
    lines = out.getvalue().splitlines()
    assert lines[:3] == [
        f"Closed: Gold — Data Analytics ({gold_membership.starts} – {today - DAY})",
        f"Opened: Partner Success Core ({today} – {year})",
        f"Opened: Solutions Partner — {INFRA} ({today} – {year})",
    ]
    assert sorted(lines[3:]) == [
        "Ledger: Expiry, Microsoft Product Support, -19 incidents",
        "Ledger: Expiry, Signature Cloud Support, -10 incidents",
        "Ledger: Grant, Partner Cloud Support, +52 incidents",
        "Ledger: Grant, Partner On-premises Support, +20 incidents",
        "Ledger: Grant, Technical presales and deployment advisory hours, +55 hours",
    ]


def test_the_command_says_when_the_ledger_records_a_move_ahead(gold, today):
    on = today + 7 * DAY
    out = StringIO()
    call_command(
        "move_program", "4711001", "--to", "ai-cloud-2025", "--on", str(on),
        "--offer", "success_core", stdout=out,
    )  # fmt: skip
    assert out.getvalue().splitlines()[-1] == (
        f"The ledger records the move on {on}, by the worker's periodic refresh."
    )


def test_a_used_up_benefit_lapses_with_nothing_left_to_expire(today):
    """Action Pack's 10 incidents all used; Partner Launch grants no benefit."""
    organization = OrganizationFactory(partner_id="4711009")
    membership(organization, "action_pack", starts=today - 90 * DAY, ends=today + 275 * DAY)
    activate(organization)
    contract = Entitlement.objects.get(organization=organization)
    admin = UserFactory(organization=organization, is_global_admin=True)
    for number in range(10):
        open_request(admin, contract, title=f"request {number}")
    entries = LedgerEntry.objects.count()
    out = StringIO()

    call_command(
        "move_program", "4711009", "--to", "ai-cloud-2025", "--on", str(today),
        "--offer", "partner_launch", stdout=out,
    )  # fmt: skip

    assert out.getvalue().splitlines()[-1] == "The ledger had nothing to record."
    assert LedgerEntry.objects.count() == entries
    contract.refresh_from_db()
    assert (contract.state, contract.balance) == (EntitlementState.LAPSED, 0)
    assert current(organization) == {}
    assert_reconciled()


def test_the_command_prints_each_problem_with_its_path_and_fails(gold, today):
    err = StringIO()
    before = database_state()
    with pytest.raises(CommandError) as failed:
        call_command(
            "move_program", "4711001", "--to", "ai-cloud-2025", "--on", str(today),
            "--offer", "solutions_partner", "--offer", "partner_launch=Modern Work",
            stderr=err,
        )  # fmt: skip
    assert str(failed.value) == "2 errors; nothing was written."
    assert err.getvalue().splitlines() == [
        "offers[0].solution_area: solutions_partner is held in a solution area: name it",
        "offers[1].solution_area: partner_launch is not held in a solution area",
    ]
    assert database_state() == before
    with pytest.raises(CommandError, match="is not a date"):
        call_command(
            "move_program", "4711001", "--to", "ai-cloud-2025", "--on", "22.01.2026",
            "--offer", "success_core",
        )  # fmt: skip


def test_the_console_script_moves_and_then_refuses_with_exit_code_1(transactional_db, today):
    organization = OrganizationFactory(partner_id="4711001")
    membership(organization, "gold", OTHER, starts=today - 200 * DAY, ends=today + 165 * DAY)
    arguments = ["move-program", "4711001", "--to", "ai-cloud-2025", "--on", str(today)]
    arguments += ["--offer", "success_core", "--offer", f"solutions_partner={INFRA}"]

    done = console_script(*arguments)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("Closed: Gold — Data Analytics (")
    assert "Ledger: Grant, Partner Cloud Support, +52 incidents" in done.stdout.splitlines()
    assert "Ledger: Expiry, Microsoft Product Support, -20 incidents" in done.stdout.splitlines()
    assert Membership.objects.get(offer="gold").ends == today - DAY

    again = console_script(*arguments)

    assert again.returncode == 1
    assert again.stdout == ""
    assert again.stderr.splitlines()[:3] == [
        f"to: 4711001 has no membership of another program on {today}: "
        "there is nothing to move from",
        "offers[0]: the organization already holds Partner Success Core "
        f"({today} – {months_after(today, 12) - DAY})",
        f"offers[1]: the organization already holds Solutions Partner — {INFRA} "
        f"({today} – {months_after(today, 12) - DAY})",
    ]
    assert "3 errors; nothing was written." in again.stderr
