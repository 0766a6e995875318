"""The ledger is append-only in the database itself, and tamper-evident: every entry is
chained to the one before it by a SHA-256, and reconcile names the first entry that was
changed or removed behind the application's back."""

import itertools

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from partnerdesk.benefits import triggers
from partnerdesk.benefits.exceptions import IncidentsExhausted
from partnerdesk.benefits.ledger import Posting, ledger_post, ledger_post_many
from partnerdesk.benefits.models import Entitlement, LedgerEntry
from partnerdesk.support.reconcile import reconcile
from tests.conftest import catalog_loaded
from tests.factories import OrganizationFactory, UserFactory, activate, membership, open_request

TABLE = LedgerEntry._meta.db_table


@pytest.fixture
def contract(db):
    """An active Action Pack contract (10 incidents) with three uses on its ledger."""
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    activate(organization)
    entitlement = Entitlement.objects.get(organization=organization)
    user = UserFactory(organization=organization)
    for n in range(3):
        open_request(user, entitlement, title=f"use {n}")
    entitlement.refresh_from_db()
    assert entitlement.balance == 7
    assert reconcile()[1] == []
    return entitlement


def entries(entitlement) -> list[LedgerEntry]:
    return list(entitlement.ledger_entries.order_by("id"))


def raw(statement: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_the_database_refuses_to_change_or_delete_an_entry(contract):
    entry = entries(contract)[1]
    for statement in (
        f"UPDATE {TABLE} SET delta = 5 WHERE id = %s",
        f"UPDATE {TABLE} SET note = 'edited' WHERE id = %s",
        f"DELETE FROM {TABLE} WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            raw(statement, entry.pk)
    entry.refresh_from_db()
    assert entry.delta == -1 and entry.note == ""
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
    assert reconcile()[1] == []


def test_every_entry_is_chained_to_the_one_before(contract):
    chain = entries(contract)
    assert chain[0].previous_hash == ""
    for before, after in itertools.pairwise(chain):
        assert after.previous_hash == before.entry_hash
    assert len({e.entry_hash for e in chain}) == len(chain)
    contract.refresh_from_db()
    assert contract.ledger_hash == chain[-1].entry_hash


def test_an_entry_edited_behind_the_applications_back_is_named_by_reconcile(contract):
    """Only the note changes: every sum still agrees, only the hash tells."""
    edited = entries(contract)[2]
    triggers.drop(connection)
    raw(f"UPDATE {TABLE} SET note = 'nothing to see here' WHERE id = %s", edited.pk)
    triggers.install(connection)

    _checked, problems = reconcile()

    assert problems == [
        f"ledger entry {edited.pk} (entitlement {contract.pk}): content does not match its hash "
        "(changed)"
    ]


def test_a_changed_amount_is_named_even_when_the_balance_is_forged_to_match(contract):
    chain = entries(contract)
    edited = chain[1]
    triggers.drop(connection)
    # A refund forged from a use, with the running balances and the entitlement made to agree.
    raw(f"UPDATE {TABLE} SET balance_after = balance_after + 2 WHERE id >= %s", edited.pk)
    raw(f"UPDATE {TABLE} SET delta = 1, kind = 'refund' WHERE id = %s", edited.pk)
    triggers.install(connection)
    Entitlement.objects.filter(pk=contract.pk).update(balance=9, used=1)

    problems = reconcile()[1]

    assert problems[0] == (
        f"ledger entry {edited.pk} (entitlement {contract.pk}): content does not match its hash "
        "(changed)"
    )


def test_a_deleted_entry_breaks_the_chain_at_the_next_one(contract):
    chain = entries(contract)
    triggers.drop(connection)
    raw(f"DELETE FROM {TABLE} WHERE id = %s", chain[1].pk)
    triggers.install(connection)

    problems = reconcile()[1]

    assert problems[0] == (
        f"ledger entry {chain[2].pk} (entitlement {contract.pk}): previous_hash does not match "
        "the entry before"
    )


def test_a_forged_head_is_noticed(contract):
    Entitlement.objects.filter(pk=contract.pk).update(ledger_hash="0" * 64)
    assert reconcile()[1] == [
        f"entitlement {contract.pk}: ledger_hash is not the hash of its newest entry"
    ]


def test_a_bulk_posting_that_would_overdraw_writes_nothing(contract):
    before = LedgerEntry.objects.count()
    postings = [
        Posting(entitlement_id=contract.pk, kind="adjustment", delta=-5, note="first"),
        Posting(entitlement_id=contract.pk, kind="adjustment", delta=-5, note="too far"),
    ]
    with pytest.raises(IncidentsExhausted), transaction.atomic():
        ledger_post_many(postings)
    assert LedgerEntry.objects.count() == before
    contract.refresh_from_db()
    assert contract.balance == 7
    assert ledger_post_many(postings[:1]) == 1
    assert reconcile()[1] == []


def test_single_and_bulk_postings_chain_alike(contract):
    ledger_post(entitlement_id=contract.pk, kind="adjustment", delta=2, note="single")
    ledger_post_many([Posting(entitlement_id=contract.pk, kind="adjustment", delta=3, note="bulk")])
    ledger_post(entitlement_id=contract.pk, kind="adjustment", delta=-1, note="single again")
    contract.refresh_from_db()
    assert contract.balance == 11
    assert reconcile()[1] == []


def test_flush_empties_the_ledger_and_puts_the_guard_back(transactional_db):
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    call_command("flush", interactive=False, verbosity=0)
    assert not LedgerEntry.objects.exists()

    catalog_loaded()
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    entry = LedgerEntry.objects.get()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(f"DELETE FROM {TABLE} WHERE id = %s", entry.pk)
