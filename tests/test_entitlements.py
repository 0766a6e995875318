"""Entitlements follow the seed's table, held as data, for every cell and mixture."""

import datetime

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from partnerdesk.benefits.models import (
    Allotment,
    AllotmentRule,
    Entitlement,
    EntitlementState,
    LedgerEntry,
    LedgerKind,
)
from partnerdesk.benefits.selectors import benefit_list
from partnerdesk.benefits.services import entitlements_refresh_due, entitlements_sync
from partnerdesk.partners.models import Organization
from tests.factories import CLOUD, OTHER, OrganizationFactory, UserFactory, membership

UNLIMITED = None
ABSENT = "absent"

# offer, competency -> (product_support, cloud_support), straight from PRODUCT.md's table.
SEED_TABLE = [
    ("action_pack", None, 10, ABSENT),
    ("silver", CLOUD, 15, UNLIMITED),
    ("silver", OTHER, 15, 5),
    ("gold", CLOUD, 20, UNLIMITED),
    ("gold", OTHER, 20, 10),
]


def allowances(organization: Organization) -> dict[str, int | None]:
    return {
        e.benefit.code: e.allowance
        for e in Entitlement.objects.filter(organization=organization).current()
    }


def assert_ledger_balanced(organization: Organization) -> None:
    for entitlement in Entitlement.objects.filter(organization=organization):
        total = entitlement.ledger_entries.aggregate(total=Sum("delta"))["total"] or 0
        assert entitlement.balance == total, entitlement
        if entitlement.allowance is not None:
            assert entitlement.balance >= 0


@pytest.mark.parametrize(("offer", "competency", "product", "cloud"), SEED_TABLE)
def test_every_cell_of_the_seed_table(offer, competency, product, cloud):
    organization = OrganizationFactory()
    membership(organization, offer, competency)

    got = allowances(organization)

    assert got["product_support"] == product
    if cloud is ABSENT:
        assert "cloud_support" not in got
    else:
        assert got["cloud_support"] == cloud
    for entitlement in Entitlement.objects.filter(organization=organization):
        assert entitlement.state == EntitlementState.NOT_ACTIVATED
        assert entitlement.offer == offer
        assert entitlement.used == 0
        assert entitlement.remaining == entitlement.allowance
    assert_ledger_balanced(organization)


def test_every_other_competency_in_the_catalog_is_not_cloud():
    from partnerdesk.partners.catalog import CLOUD_COMPETENCIES, OTHER_COMPETENCIES
    from partnerdesk.partners.models import Competency

    assert set(Competency.objects.filter(is_cloud=True).values_list("name", flat=True)) == set(
        CLOUD_COMPETENCIES
    )
    assert set(OTHER_COMPETENCIES) <= set(
        Competency.objects.filter(is_cloud=False).values_list("name", flat=True)
    )


@pytest.mark.parametrize(
    ("memberships", "product", "cloud"),
    [
        # Best allotment per benefit wins; nothing stacks.
        ([("action_pack", None), ("silver", OTHER)], 15, 5),
        ([("silver", OTHER), ("gold", OTHER)], 20, 10),
        ([("gold", OTHER), ("silver", CLOUD)], 20, UNLIMITED),
        ([("action_pack", None), ("silver", "Security"), ("gold", "Messaging")], 20, UNLIMITED),
        ([("silver", OTHER), ("silver", "DevOps")], 15, 5),
        ([("action_pack", None), ("gold", CLOUD), ("gold", OTHER)], 20, UNLIMITED),
    ],
)
def test_mixtures_take_the_best_allotment_without_stacking(memberships, product, cloud):
    organization = OrganizationFactory()
    for offer, competency in memberships:
        membership(organization, offer, competency, sync=False)
    entitlements_sync(organization=organization)

    assert allowances(organization) == {"product_support": product, "cloud_support": cloud}
    assert Entitlement.objects.filter(organization=organization).count() == 2
    assert_ledger_balanced(organization)


def test_a_lapsed_membership_removes_its_benefits(today):
    organization = OrganizationFactory()
    user = UserFactory(organization=organization)
    gold = membership(organization, "gold", OTHER)
    assert len(benefit_list(user=user)) == 2

    gold.ends = today - datetime.timedelta(days=1)
    gold.save()
    result = entitlements_sync(organization=organization)

    assert len(result.lapsed) == 2
    assert benefit_list(user=user) == []
    for entitlement in Entitlement.objects.filter(organization=organization):
        assert entitlement.state == EntitlementState.LAPSED
        assert entitlement.balance == 0
        assert entitlement.ledger_entries.filter(kind=LedgerKind.EXPIRE).count() == 1
    assert_ledger_balanced(organization)


def test_membership_lapsing_overnight_shows_as_expired_on_a_read_that_writes_nothing(today):
    """Reads derive the lapse from the dates; the periodic job records it (and the lapsed
    benefits leave the page)."""
    organization = OrganizationFactory()
    user = UserFactory(organization=organization)
    membership(organization, "silver", OTHER, ends=today - datetime.timedelta(days=1), sync=False)
    # Synced "yesterday", when the membership was still active.
    entitlements_sync(organization=organization, today=today - datetime.timedelta(days=1))
    assert Entitlement.objects.filter(organization=organization).current().count() == 2
    entries = LedgerEntry.objects.count()

    with CaptureQueriesContext(connection) as queries:
        listed = benefit_list(user=user)
    assert [e.status_on(today) for e in listed] == ["expired", "expired"]
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in queries), queries
    assert Entitlement.objects.filter(organization=organization).current().count() == 2
    assert LedgerEntry.objects.count() == entries

    assert entitlements_refresh_due() == 1
    assert benefit_list(user=user) == []
    assert Entitlement.objects.filter(organization=organization).current().count() == 0
    assert LedgerEntry.objects.filter(kind=LedgerKind.EXPIRE).count() == 2
    assert entitlements_refresh_due() == 0  # done for the day
    assert_ledger_balanced(organization)


def test_when_gold_lapses_silver_takes_over_with_its_own_allotment(today):
    organization = OrganizationFactory()
    gold = membership(organization, "gold", OTHER, ends=today + datetime.timedelta(days=10))
    membership(organization, "silver", OTHER)
    product = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    assert product.allowance == 20

    gold.ends = today - datetime.timedelta(days=1)
    gold.save()
    entitlements_sync(organization=organization)

    product.refresh_from_db()
    assert product.state == EntitlementState.NOT_ACTIVATED
    assert (product.allowance, product.balance, product.offer) == (15, 15, "silver")
    assert product.ledger_entries.filter(kind=LedgerKind.ADJUSTMENT, delta=-5).exists()
    assert allowances(organization) == {"product_support": 15, "cloud_support": 5}
    assert_ledger_balanced(organization)


def test_upgrade_from_limited_to_unlimited_and_back_keeps_the_ledger_whole(today):
    organization = OrganizationFactory()
    membership(organization, "silver", OTHER)
    cloud_membership = membership(organization, "silver", CLOUD)
    assert allowances(organization)["cloud_support"] is UNLIMITED

    cloud_membership.delete()
    entitlements_sync(organization=organization)

    assert allowances(organization)["cloud_support"] == 5
    assert_ledger_balanced(organization)


def test_a_future_membership_grants_nothing_yet(today):
    organization = OrganizationFactory()
    membership(
        organization,
        "gold",
        CLOUD,
        starts=today + datetime.timedelta(days=1),
        ends=today + datetime.timedelta(days=366),
    )
    assert allowances(organization) == {}


def test_the_table_is_data_an_operator_can_change():
    rule = AllotmentRule.objects.get(
        benefit__code="product_support", offer="action_pack", competency_kind="none"
    )
    rule.amount = 12
    rule.save()
    cloud_rule = AllotmentRule.objects.get(
        benefit__code="cloud_support", offer="action_pack", competency_kind="none"
    )
    cloud_rule.allotment, cloud_rule.amount = Allotment.LIMITED, 2
    cloud_rule.save()
    organization = OrganizationFactory()

    membership(organization, "action_pack")

    assert allowances(organization) == {"product_support": 12, "cloud_support": 2}


def test_sync_is_idempotent():
    organization = OrganizationFactory()
    membership(organization, "gold", CLOUD)
    entries = LedgerEntry.objects.count()

    result = entitlements_sync(organization=organization)

    assert (result.created, result.changed, result.lapsed) == ([], [], [])
    assert LedgerEntry.objects.count() == entries


def test_the_database_refuses_a_negative_limited_balance():
    from django.db import IntegrityError, transaction

    organization = OrganizationFactory()
    membership(organization, "action_pack")
    entitlement = Entitlement.objects.get(organization=organization)
    with pytest.raises(IntegrityError), transaction.atomic():
        Entitlement.objects.filter(pk=entitlement.pk).update(balance=-1)


def test_ledger_entries_are_append_only():
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    entry = LedgerEntry.objects.filter(entitlement__organization=organization).first()
    entry.delta = 99
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
