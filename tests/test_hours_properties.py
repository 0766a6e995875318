"""A Hypothesis state machine over requests of every category against incidents and
advisory hours: opening, logging time, closing (now and then with an operator's
override), withdrawing, picking up. A model of the category rules predicts every balance
and every refusal; after each step every balance equals its ledger's sum, `used` counts
the uses, a limited balance is below zero only when marked overdrawn, and reconcile()
finds nothing."""

from collections import Counter, defaultdict

import pytest
from django.db import transaction
from django.db.models import Q, Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from partnerdesk.accounts.models import AuditEvent
from partnerdesk.benefits.exceptions import IncidentsExhausted
from partnerdesk.benefits.models import USE_KINDS, Entitlement, LedgerEntry
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.support.assignment import support_request_pick_up
from partnerdesk.support.exceptions import (
    HoursInsufficient,
    NotWithdrawable,
    ProductNotEntitled,
    RequestFinished,
)
from partnerdesk.support.models import RequestStatus, SupportRequest, TimeEntry
from partnerdesk.support.reconcile import reconcile
from partnerdesk.support.services import (
    SupportRequestDraft,
    contract_link,
    support_request_close,
    support_request_create,
    support_request_withdraw,
    time_entry_add,
)
from tests.factories import OrganizationFactory, UserFactory, activate, membership, product

REFUSALS = (
    HoursInsufficient,
    IncidentsExhausted,
    NotWithdrawable,
    ProductNotEntitled,
    RequestFinished,
    ValidationFailed,
)
CLOUD, ON_PREMISES, HOURS = "partner_cloud_support", "partner_onprem_support", "advisory_hours"
COVERING = {"cloud": CLOUD, "on_premises": ON_PREMISES}


# What the steps did, over the whole run (printed at the end: which paths were taken).
SEEN: Counter[str] = Counter()


class Refused:
    def __init__(self, error: Exception):
        self.error = error


class HoursMachine(RuleBasedStateMachine):
    @initialize(solutions_partner=st.booleans())
    def join(self, solutions_partner):
        """Success Core alone (2 cloud incidents, 5 hours: soon exhausted), or with
        Solutions Partner (52 cloud and 20 on-premises incidents, 55 hours). Each
        example runs in a savepoint rolled back at its teardown, so the next one (and its
        reconcile after every step) starts from the catalog alone."""
        self.savepoint = transaction.atomic()
        self.savepoint.__enter__()
        self.organization = OrganizationFactory()
        membership(self.organization, "success_core", program="ai-cloud-2025")
        if solutions_partner:
            membership(
                self.organization,
                "solutions_partner",
                program="ai-cloud-2025",
                solution_area="Infrastructure (Azure)",
            )
        activate(self.organization)
        self.user = UserFactory(organization=self.organization)
        self.engineer = UserFactory(organization=None, is_staff=True)
        self.contracts = {}
        for e in Entitlement.objects.filter(organization=self.organization, state="active"):
            contract_link(user=self.user, access_id=e.access_id, contract_id=e.contract_id)
            self.contracts[e.benefit.code] = e.pk
        assert set(self.contracts) == (
            {CLOUD, ON_PREMISES, HOURS} if solutions_partner else {CLOUD, HOURS}
        )
        # The model: each contract's balance, and each request's category and time logged.
        self.expected = dict(
            Entitlement.objects.filter(pk__in=self.contracts.values()).values_list("pk", "balance")
        )
        self.category: dict[int, str] = {}
        self.logged: dict[int, int] = {}
        self.overdrawn_settlements = 0
        self.products = {
            "cloud": product("Azure").pk,
            "on_premises": product("SQL Server", "2022").pk,
        }

    # Helpers.

    def snapshot(self) -> tuple:
        return (
            SupportRequest.objects.count(),
            LedgerEntry.objects.count(),
            TimeEntry.objects.count(),
            AuditEvent.objects.filter(action__startswith="hours.").count(),
            tuple(
                Entitlement.objects.filter(organization=self.organization)
                .order_by("pk")
                .values_list("balance", "used", "overdrawn")
            ),
            tuple(
                SupportRequest.objects.filter(organization=self.organization)
                .order_by("pk")
                .values_list("status", "assigned_to", "settled_at")
            ),
        )

    def attempt(self, action):
        """The action's result, or Refused: a refusal leaves everything as it was."""
        before = self.snapshot()
        try:
            outcome = action()
        except REFUSALS as error:
            assert self.snapshot() == before, f"{type(error).__name__} wrote something"
            SEEN[f"refused: {type(error).__name__}"] += 1
            return Refused(error)
        SEEN[f"done: {type(outcome).__name__}"] += 1
        return outcome

    def pick(self, index: int, finished: bool, advisory: bool = False) -> SupportRequest:
        """One of the requests; an unfinished one (advisory, if ``advisory``) unless
        ``finished`` (or there is none)."""
        requests = SupportRequest.objects.filter(organization=self.organization).order_by("pk")
        if advisory and not finished and requests.filter(estimate_minutes__isnull=False).exists():
            requests = requests.filter(estimate_minutes__isnull=False)
        unfinished = requests.exclude(status__in=RequestStatus.finished())
        pool = list(requests if finished or not unfinished.exists() else unfinished)
        return pool[index % len(pool)]

    def settlement(self, support_request: SupportRequest) -> tuple[int, bool]:
        """An advisory request's settlement and whether it takes the hours below zero."""
        delta = support_request.estimate_minutes - self.logged[support_request.pk]
        return delta, delta < 0 and self.expected[self.contracts[HOURS]] + delta < 0

    # Rules.

    @rule(
        category=st.sampled_from(["technical", "billing", "frontline", "advisory", "advisory"]),
        deployment=st.sampled_from(["cloud", "on_premises"]),
        estimate=st.one_of(st.integers(1, 240), st.integers(1, 40 * 60)),
    )
    def open_request(self, category, deployment, estimate):
        advisory = category == "advisory"
        draft = SupportRequestDraft(
            product_id=self.products[deployment],
            severity="B",
            title=category,
            description="d",
            category=category,
            estimate_minutes=estimate if advisory else None,
        )
        if category == "frontline":
            target, cost = None, 0
        elif not advisory and COVERING[deployment] not in self.contracts:
            outcome = self.attempt(lambda: support_request_create(user=self.user, draft=draft))
            assert isinstance(outcome.error, ProductNotEntitled)
            return
        elif advisory:
            target, cost = self.contracts[HOURS], estimate
        else:
            target, cost = self.contracts[COVERING[deployment]], 1
        outcome = self.attempt(lambda: support_request_create(user=self.user, draft=draft))
        if target is not None and self.expected[target] < cost:
            assert isinstance(outcome, Refused)
            assert isinstance(outcome.error, HoursInsufficient if advisory else IncidentsExhausted)
            return
        assert isinstance(outcome, SupportRequest), outcome.error
        assert (outcome.entitlement_id, outcome.charged) == (target, target is not None)
        if target is not None:
            self.expected[target] -= cost
        self.category[outcome.pk] = category
        self.logged[outcome.pk] = 0

    @precondition(lambda self: self.category)
    @rule(
        pick=st.integers(min_value=0),
        finished=st.booleans(),
        minutes=st.one_of(st.integers(1, 120), st.integers(1, 24 * 60)),
    )
    def log_time(self, pick, finished, minutes):
        target = self.pick(pick, finished, advisory=True)
        outcome = self.attempt(
            lambda: time_entry_add(engineer=self.engineer, request_id=target.pk, minutes=minutes)
        )
        if not target.is_advisory:
            assert isinstance(outcome.error, ValidationFailed)
        elif target.is_finished:
            assert isinstance(outcome.error, RequestFinished)
        else:
            assert isinstance(outcome, TimeEntry)
            self.logged[target.pk] += minutes

    @precondition(lambda self: self.category)
    @rule(
        pick=st.integers(min_value=0),
        finished=st.booleans(),
        advisory=st.booleans(),
        resolution=st.sampled_from(["solved", "duplicate", "product_bug"]),
        overdraw=st.booleans(),
    )
    def close(self, pick, finished, advisory, resolution, overdraw):
        self.close_request(self.pick(pick, finished, advisory), resolution, overdraw)

    def close_request(self, target: SupportRequest, resolution: str, overdraw: bool) -> None:
        outcome = self.attempt(
            lambda: support_request_close(
                engineer=self.engineer,
                request_id=target.pk,
                resolution=resolution,
                overdraw=overdraw,
            )
        )
        if target.is_finished:
            assert isinstance(outcome.error, RequestFinished)
            return
        category = self.category[target.pk]
        if category == "advisory":
            delta, short = self.settlement(target)
            if short and not overdraw:
                assert isinstance(outcome.error, HoursInsufficient)
                return
            assert isinstance(outcome, SupportRequest), outcome.error
            self.expected[self.contracts[HOURS]] += delta
            entry = target.ledger_entries.get(kind="settle")
            assert (entry.delta, entry.overdraw) == (delta, short)
            self.overdrawn_settlements += short
            SEEN[f"settled: {'overdrawn' if short else 'minus' if delta < 0 else 'plus'}"] += 1
            return
        assert isinstance(outcome, SupportRequest), outcome.error
        refunded = category == "billing" or (
            category == "technical" and resolution in ("duplicate", "product_bug")
        )
        if refunded:
            self.expected[target.entitlement_id] += 1

    @precondition(lambda self: "advisory" in self.category.values())
    @rule(pick=st.integers(min_value=0), over=st.integers(min_value=1, max_value=600))
    def overrun(self, pick, over):
        """An operator's override, on purpose: enough time on an advisory request to take
        the hours ``over`` minutes below zero, then closed with the override (refused
        without it when the request is still open)."""
        target = self.pick(pick, finished=False, advisory=True)
        if target.is_finished or not target.is_advisory:
            return
        delta, _short = self.settlement(target)
        # Log until the settlement charges max(1, left + over) minutes: below zero by `over`
        # (or further below, when the hours are already overdrawn).
        need = delta + max(1, self.expected[self.contracts[HOURS]] + over)
        while need > 0:
            minutes = min(need, 24 * 60)
            time_entry_add(engineer=self.engineer, request_id=target.pk, minutes=minutes)
            self.logged[target.pk] += minutes
            need -= minutes
        assert self.settlement(target)[1]
        self.close_request(target, "solved", overdraw=False)
        self.close_request(target, "solved", overdraw=True)

    @precondition(lambda self: self.category)
    @rule(pick=st.integers(min_value=0), finished=st.booleans())
    def withdraw(self, pick, finished):
        target = self.pick(pick, finished)
        outcome = self.attempt(
            lambda: support_request_withdraw(user=self.user, request_id=target.pk)
        )
        if not target.can_be_withdrawn:
            assert isinstance(outcome.error, NotWithdrawable)
            return
        if target.is_advisory:
            delta, short = self.settlement(target)
            if short:  # a partner has no override
                assert isinstance(outcome.error, HoursInsufficient)
                return
            assert isinstance(outcome, SupportRequest), outcome.error
            self.expected[self.contracts[HOURS]] += delta
        else:
            assert isinstance(outcome, SupportRequest), outcome.error
            if target.charged:
                self.expected[target.entitlement_id] += 1

    @precondition(lambda self: self.category)
    @rule(pick=st.integers(min_value=0))
    def pick_up(self, pick):
        target = self.pick(pick, finished=False)
        self.attempt(lambda: support_request_pick_up(engineer=self.engineer, request_id=target.pk))

    # Invariants.

    @invariant()
    def balances_are_what_the_rules_say(self):
        actual = dict(
            Entitlement.objects.filter(pk__in=self.contracts.values()).values_list("pk", "balance")
        )
        assert actual == self.expected

    @invariant()
    def balances_equal_their_ledgers(self):
        entitlements = Entitlement.objects.filter(organization=self.organization).annotate(
            total=Sum("ledger_entries__delta"),
            uses=Sum("ledger_entries__delta", filter=Q(ledger_entries__kind__in=USE_KINDS)),
        )
        for entitlement in entitlements:
            assert entitlement.balance == (entitlement.total or 0)
            assert entitlement.used == -(entitlement.uses or 0)
            assert entitlement.used >= 0
            below_zero = entitlement.allowance is not None and entitlement.balance < 0
            assert entitlement.overdrawn == below_zero

    @invariant()
    def every_override_is_audited(self):
        overrides = LedgerEntry.objects.filter(
            entitlement__organization=self.organization, overdraw=True
        )
        assert overrides.count() == self.overdrawn_settlements
        audited = AuditEvent.objects.filter(
            action="hours.overdrawn", organization=self.organization
        )
        assert sorted(audited.values_list("target_id", flat=True)) == sorted(
            str(pk) for pk in overrides.values_list("support_request_id", flat=True)
        )

    @invariant()
    def requests_carry_their_charges(self):
        entries = defaultdict(list)
        for request_id, kind in LedgerEntry.objects.filter(
            support_request__organization=self.organization
        ).values_list("support_request_id", "kind"):
            entries[request_id].append(kind)
        for support_request in SupportRequest.objects.filter(organization=self.organization):
            kinds = sorted(entries[support_request.pk])
            category = self.category[support_request.pk]
            if category == "frontline":
                assert kinds == []
                assert support_request.entitlement_id is None
            elif category == "advisory":
                settled = support_request.settled_at is not None
                assert kinds == (["reserve", "settle"] if settled else ["reserve"])
                assert settled == support_request.is_finished
            else:
                assert kinds in (["consume"], ["consume", "refund"])

    @invariant()
    def reconciled(self):
        assert reconcile()[1] == []

    def teardown(self):
        if hasattr(self, "savepoint"):
            transaction.set_rollback(True)
            self.savepoint.__exit__(None, None, None)


@pytest.mark.slow
@pytest.mark.django_db
def test_hours_state_machine():
    run_state_machine_as_test(
        HoursMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(sorted(SEEN.items()))
