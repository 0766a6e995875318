"""A Hypothesis state machine over every way a balance moves: the balance always equals
the ledger's sum, a limited balance never goes below zero, and `used` counts charges."""

import contextlib
import datetime

import pytest
from django.db.models import Count, Q, Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from partnerdesk.benefits.exceptions import EntitlementExpired, IncidentsExhausted
from partnerdesk.benefits.models import Entitlement
from partnerdesk.benefits.services import entitlement_adjust, entitlements_sync
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.support.assignment import support_request_pick_up
from partnerdesk.support.exceptions import NotActivated, NotWithdrawable, RequestFinished
from partnerdesk.support.models import SupportRequest
from partnerdesk.support.reconcile import reconcile
from partnerdesk.support.services import (
    SupportRequestDraft,
    contract_link,
    support_request_close,
    support_request_create,
    support_request_withdraw,
)
from tests.factories import OTHER, OrganizationFactory, UserFactory, activate, membership, product

EXPECTED_REFUSALS = (
    IncidentsExhausted,
    NotActivated,
    EntitlementExpired,
    NotWithdrawable,
    RequestFinished,
    ValidationFailed,
)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.organization = OrganizationFactory()
        membership(self.organization, "silver", OTHER)  # product support 15, cloud support 5
        activate(self.organization)
        self.user = UserFactory(organization=self.organization)
        self.engineer = UserFactory(organization=None, is_staff=True)
        self.link_all()
        self.products = {
            "on_premises": product("SQL Server", "2022").pk,
            "cloud": product("Azure").pk,
        }

    def link_all(self):
        for e in Entitlement.objects.filter(organization=self.organization, state="active"):
            contract_link(user=self.user, access_id=e.access_id, contract_id=e.contract_id)

    def requests(self):
        return list(SupportRequest.objects.filter(organization=self.organization).order_by("pk"))

    def attempt(self, action):
        with contextlib.suppress(*EXPECTED_REFUSALS):
            action()

    @rule(deployment=st.sampled_from(["on_premises", "cloud"]))
    def consume(self, deployment):
        draft = SupportRequestDraft(
            product_id=self.products[deployment], severity="B", title="t", description="d"
        )
        self.attempt(lambda: support_request_create(user=self.user, draft=draft))

    @rule(
        pick=st.integers(min_value=0),
        resolution=st.sampled_from(["duplicate", "product_bug", "solved"]),
    )
    def close(self, pick, resolution):
        requests = self.requests()
        if requests:
            target = requests[pick % len(requests)]
            self.attempt(
                lambda: support_request_close(
                    engineer=self.engineer, request_id=target.pk, resolution=resolution
                )
            )

    @rule(pick=st.integers(min_value=0))
    def withdraw(self, pick):
        requests = self.requests()
        if requests:
            target = requests[pick % len(requests)]
            self.attempt(lambda: support_request_withdraw(user=self.user, request_id=target.pk))

    @rule(pick=st.integers(min_value=0))
    def pick_up(self, pick):
        requests = self.requests()
        if requests:
            target = requests[pick % len(requests)]
            self.attempt(
                lambda: support_request_pick_up(engineer=self.engineer, request_id=target.pk)
            )

    @rule(delta=st.integers(min_value=-4, max_value=4), which=st.sampled_from([0, 1]))
    def adjust(self, delta, which):
        entitlements = list(
            Entitlement.objects.filter(organization=self.organization).order_by("pk")
        )
        target = entitlements[which % len(entitlements)]
        self.attempt(
            lambda: entitlement_adjust(
                operator=self.engineer, entitlement_id=target.pk, delta=delta, note="property"
            )
        )

    @rule()
    def expire(self):
        """The term ends; the still active membership grants a new one, activated again."""
        Entitlement.objects.filter(organization=self.organization, state="active").update(
            expires_on=timezone.localdate() - datetime.timedelta(days=1)
        )
        entitlements_sync(organization=self.organization)
        activate(self.organization)
        self.link_all()

    @invariant()
    def balances_equal_their_ledgers(self):
        for entitlement in Entitlement.objects.filter(organization=self.organization):
            sums = entitlement.ledger_entries.aggregate(
                total=Sum("delta"),
                charges=Count("id", filter=Q(kind="consume")),
                refunds=Count("id", filter=Q(kind="refund")),
            )
            assert entitlement.balance == (sums["total"] or 0)
            assert entitlement.used == sums["charges"] - sums["refunds"]
            assert entitlement.used >= 0
            if entitlement.allowance is not None:
                assert entitlement.balance >= 0

    @invariant()
    def charged_requests_have_exactly_one_charge(self):
        for support_request in self.requests():
            charges = support_request.ledger_entries.filter(kind="consume").count()
            refunds = support_request.ledger_entries.filter(kind="refund").count()
            assert charges == (1 if support_request.charged else 0)
            assert refunds <= charges
            if refunds:
                assert support_request.resolution in {"duplicate", "product_bug", "withdrawn"}

    def teardown(self):
        assert reconcile()[1] == []


@pytest.mark.django_db
def test_ledger_state_machine():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
