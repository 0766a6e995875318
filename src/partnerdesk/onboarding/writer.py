"""The import's writing, a chunk of checked organizations at a time: first, reading
only, which are new, which differ from what is stored and which are unchanged (those
are only counted: a re-import of an unchanged file takes no lock); then the new ones in
bulk and the changed ones one by one, in short transactions (``pacing``). Each
transaction holds whole organizations — the organization, its memberships, users,
customers and its entitlements derived — so a crash between two leaves nothing half
written, and running the same file again completes the rest."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, models

from partnerdesk.accounts.models import User
from partnerdesk.accounts.roles import ROLE_FIELDS
from partnerdesk.benefits.services import (
    AllotmentCatalog,
    entitlements_open_many,
    entitlements_sync,
)
from partnerdesk.core import sql
from partnerdesk.core.emails import email_normalized
from partnerdesk.events.services import events_record_many
from partnerdesk.onboarding.events import membership_changed, membership_entry
from partnerdesk.onboarding.pacing import GROUP_MAX, Pacer
from partnerdesk.onboarding.validation import CheckedImport
from partnerdesk.partners.import_schema import MembershipIn, OrganizationIn, UserIn
from partnerdesk.partners.models import Customer, Membership, Organization


@dataclass
class ImportSummary:
    counts: dict[str, Counter] = field(
        default_factory=lambda: {
            kind: Counter() for kind in ("organizations", "memberships", "users", "customers")
        }
    )
    entitlements_synced: int = 0

    transactions: int = 0
    longest_transaction: float = 0.0  # seconds

    def count(self, kind: str, outcome: str, number: int = 1) -> None:
        self.counts[kind][outcome] += number

    @property
    def changed_anything(self) -> bool:
        return any(c["created"] or c["updated"] for c in self.counts.values())

    @property
    def organizations_written(self) -> int:
        return self.counts["organizations"]["created"] + self.counts["organizations"]["updated"]


def _organization_values(item: OrganizationIn) -> dict[str, Any]:
    contact = item.program_contact
    values = {
        "name": item.name,
        "in_mpn": "mpn" in item.programs,
        "in_csp": "csp" in item.programs,
        "contact_name": contact.name if contact else "",
        "contact_email": contact.email if contact else "",
    }
    # Optional and newer than most files: a file without it leaves the stored tenant alone.
    if item.tenant_id is not None:
        values["tenant_id"] = item.tenant_id
    return values


@dataclass
class _Stored:
    """What is stored of a chunk's known organizations, by partner ID and by address."""

    organizations: dict[str, Organization] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)  # by normalized address
    memberships: dict[int, list[Membership]] = field(default_factory=lambda: defaultdict(list))
    customers: dict[int, list[Customer]] = field(default_factory=lambda: defaultdict(list))

    def knows(self, item: OrganizationIn) -> bool:
        return item.partner_id in self.organizations or any(
            u.email in self.users for u in item.users
        )


class ImportWriter:
    """Writes the checked organizations, a chunk at a time (see the module)."""

    # What membership.changed gives as its reason: the CLI import, or the API's sync.
    event_reason = "import"

    def __init__(
        self,
        *,
        competency_ids: dict[str, int],
        solution_area_ids: dict[str, int],
        program_ids: dict[str, int],
        checked: CheckedImport,
        pacer: Pacer | None = None,
    ) -> None:
        self.summary = ImportSummary()
        self._competency_ids = competency_ids
        self._solution_area_ids = solution_area_ids
        self._program_ids = program_ids
        self._pacer = pacer or Pacer()
        # What the check found stored; anything else is new, so the common case of a
        # first import looks nothing up.
        self._checked = checked
        # One unusable hash for every new user: they cannot sign in until they set one.
        self._unusable_password = make_password(None)
        self._writing_new = True
        self._allotments: AllotmentCatalog | None = None

    def chunk_size(self) -> int:
        """How many organizations to read (and parse, outside any transaction) for the
        next ``write``: as many new ones as fit one transaction, or, while they are all
        stored already (a re-import), a thousand."""
        return self._pacer.fits("new") if self._writing_new else GROUP_MAX

    def write(self, items: list[OrganizationIn]) -> None:
        fresh, changed = self._sorted_out(items)
        self._writing_new = bool(fresh)
        for group in self._pacer.groups(fresh, "new"):
            with self._transaction("new", group):
                self._insert_new(group)
        for group in self._pacer.groups(changed, "changed"):
            with self._transaction("changed", group):
                self._update_known(group, stored=self._stored(group))

    @contextmanager
    def _transaction(self, kind: str, group: list[OrganizationIn]) -> Iterator[None]:
        """The pacer's transaction; the counts go back to what they were if it rolls back."""
        before = {name: counts.copy() for name, counts in self.summary.counts.items()}
        synced = self.summary.entitlements_synced
        try:
            with self._pacer.transaction(kind, len(group)):
                yield
        except BaseException:
            self.summary.counts, self.summary.entitlements_synced = before, synced
            raise
        self.summary.transactions = self._pacer.transactions
        self.summary.longest_transaction = self._pacer.longest

    def _sorted_out(
        self, items: list[OrganizationIn]
    ) -> tuple[list[OrganizationIn], list[OrganizationIn]]:
        """The new and the changed organizations; the unchanged ones are counted. Reads
        only, outside any transaction: deciding takes no lock (the changed ones are read
        again inside the transaction that writes them)."""
        stored = self._stored(items)
        fresh, changed = [], []
        for item in items:
            if not stored.knows(item):
                fresh.append(item)
            elif self._differs(item, stored):
                changed.append(item)
            else:
                self.summary.count("organizations", "unchanged")
                self.summary.count("memberships", "unchanged", len(item.memberships))
                self.summary.count("users", "unchanged", len(item.users))
                self.summary.count("customers", "unchanged", len(item.customers))
        return fresh, changed

    def _stored(self, items: list[OrganizationIn]) -> _Stored:
        checked = self._checked
        partner_ids = [o.partner_id for o in items if o.partner_id in checked.stored_partner_ids]
        spellings = [
            spelling
            for o in items
            for u in o.users
            if u.email in checked.stored_emails
            for spelling in checked.spellings(u.email)
        ]
        stored = _Stored()
        if not partner_ids and not spellings:
            return stored
        stored.organizations = Organization.objects.in_bulk(partner_ids, field_name="partner_id")
        stored.users = {
            email_normalized(user.email): user for user in User.objects.filter(email__in=spellings)
        }
        organization_ids = [o.pk for o in stored.organizations.values()]
        for m in Membership.objects.filter(organization_id__in=organization_ids):
            stored.memberships[m.organization_id].append(m)
        for c in Customer.objects.filter(organization_id__in=organization_ids):
            stored.customers[c.organization_id].append(c)
        return stored

    def _differs(self, item: OrganizationIn, stored: _Stored) -> bool:
        organization = stored.organizations.get(item.partner_id)
        if organization is None or organization.entitlements_synced_on is None:
            return True
        if _differing(organization, _organization_values(item)):
            return True
        memberships = {_membership_key(m): m for m in stored.memberships[organization.pk]}
        for m in item.memberships:
            membership = memberships.get(self._key(m))
            if membership is None or membership.ends != m.ends:
                return True
        for u in item.users:
            user = stored.users.get(u.email)
            if user is None or _differing(user, _user_values(u, organization.pk)):
                return True
        customers = {c.tenant_id: c for c in stored.customers[organization.pk]}
        for c in item.customers:
            customer = customers.get(c.tenant_id)
            if customer is None or customer.name != c.name:
                return True
        return False

    def _key(self, m: MembershipIn) -> tuple:
        return (
            self._program_ids[m.program],
            m.offer,
            self._competency_ids.get(m.competency or ""),
            self._solution_area_ids.get(m.solution_area or ""),
            m.starts,
        )

    def _membership_fields(self, m: MembershipIn) -> dict[str, Any]:
        return {
            "program_id": self._program_ids[m.program],
            "offer": m.offer,
            "competency_id": self._competency_ids.get(m.competency or ""),
            "solution_area_id": self._solution_area_ids.get(m.solution_area or ""),
            "starts": m.starts,
            "ends": m.ends,
        }

    def _membership_entry(self, m: MembershipIn) -> dict:
        return membership_entry(
            program=m.program,
            offer=m.offer,
            competency=m.competency,
            solution_area=m.solution_area,
            starts=m.starts,
            ends=m.ends,
        )

    def _insert_new(self, items: list[OrganizationIn]) -> None:
        """The common case of a first import: a handful of statements per thousand
        organizations instead of dozens per organization."""
        if not items:
            return
        # The same columns for every row: a tenant for each new organization, blank if none.
        values = [{"tenant_id": "", **_organization_values(item)} for item in items]
        pks = sql.insert_rows(
            Organization,
            ("partner_id", *values[0]),
            [(item.partner_id, *v.values()) for item, v in zip(items, values, strict=True)],
            returning=True,
        )
        organizations = [
            _as_stored(Organization(pk=pk, partner_id=item.partner_id, **v))
            for pk, item, v in zip(pks, items, values, strict=True)
        ]
        memberships = [
            Membership(organization_id=organization.pk, **self._membership_fields(m))
            for item, organization in zip(items, organizations, strict=True)
            for m in item.memberships
        ]
        columns = ("organization_id", *MEMBERSHIP_COLUMNS)
        pks = sql.insert_rows(
            Membership,
            columns,
            [tuple(getattr(m, name) for name in columns) for m in memberships],
            returning=True,
        )
        for pk, m in zip(pks, memberships, strict=True):
            _as_stored(m).pk = pk
        role_fields = tuple(ROLE_FIELDS.values())
        user_rows = [
            (
                u.email,
                u.name,
                u.account_type,
                organization.pk,
                self._unusable_password,
                *(role.value in u.roles for role in ROLE_FIELDS),
            )
            for item, organization in zip(items, organizations, strict=True)
            for u in item.users
        ]
        sql.insert_rows(
            User,
            ("email", "name", "account_type", "organization_id", "password", *role_fields),
            user_rows,
        )
        customer_rows = [
            (organization.pk, c.name, c.tenant_id)
            for item, organization in zip(items, organizations, strict=True)
            for c in item.customers
        ]
        sql.insert_rows(Customer, ("organization_id", "name", "tenant_id"), customer_rows)
        events_record_many(
            membership_changed(
                organization,
                memberships=[self._membership_entry(m) for m in item.memberships],
                reason=self.event_reason,
            )
            for item, organization in zip(items, organizations, strict=True)
            if item.memberships
        )
        self.summary.count("organizations", "created", len(organizations))
        self.summary.count("memberships", "created", len(memberships))
        self.summary.count("users", "created", len(user_rows))
        self.summary.count("customers", "created", len(customer_rows))
        if self._allotments is None:
            # The rules do not change during an import: read once, not per transaction.
            self._allotments = AllotmentCatalog.load()
        self.summary.entitlements_synced += entitlements_open_many(
            organizations=organizations, memberships=memberships, allotments=self._allotments
        )

    def _update_known(self, items: list[OrganizationIn], *, stored: _Stored) -> None:
        for item in items:
            values = _organization_values(item)
            organization, _outcome = self._upsert(
                kind="organizations",
                instance=stored.organizations.get(item.partner_id),
                values=values,
                create=lambda item=item, values=values: Organization.objects.create(
                    partner_id=item.partner_id, **values
                ),
            )
            memberships_changed = self._upsert_memberships(
                item, organization, stored.memberships[organization.pk]
            )
            self._upsert_users(item, organization, stored.users)
            self._upsert_customers(item, organization, stored.customers[organization.pk])
            if memberships_changed:
                events_record_many([membership_changed(organization, reason=self.event_reason)])
            if memberships_changed or organization.entitlements_synced_on is None:
                entitlements_sync(organization=organization)
                self.summary.entitlements_synced += 1

    def _upsert(
        self,
        *,
        kind: str,
        instance: models.Model | None,
        values: dict[str, Any],
        create: Callable[[], models.Model],
    ) -> tuple[Any, str]:
        """Create, update only what differs, or leave alone; counts the outcome."""
        if instance is None:
            instance, outcome = create(), "created"
        elif _assign(instance, values):
            instance.save()
            outcome = "updated"
        else:
            outcome = "unchanged"
        self.summary.count(kind, outcome)
        return instance, outcome

    def _upsert_memberships(
        self, item: OrganizationIn, organization: Organization, stored: list[Membership]
    ) -> bool:
        by_key = {_membership_key(m): m for m in stored}
        changed = False
        for m in item.memberships:
            fields = self._membership_fields(m)
            _membership, outcome = self._upsert(
                kind="memberships",
                instance=by_key.get(self._key(m)),
                values={"ends": m.ends},
                create=lambda fields=fields: Membership.objects.create(
                    organization=organization, **fields
                ),
            )
            changed |= outcome != "unchanged"
        return changed

    def _upsert_users(
        self, item: OrganizationIn, organization: Organization, users: dict[str, User]
    ) -> None:
        for u in item.users:
            values = _user_values(u, organization.pk)
            users[u.email], _outcome = self._upsert(
                kind="users",
                instance=users.get(u.email),
                values=values,
                create=lambda values=values: _new_user(values),
            )

    def _upsert_customers(
        self, item: OrganizationIn, organization: Organization, stored: list[Customer]
    ) -> None:
        by_tenant = {c.tenant_id: c for c in stored}
        for c in item.customers:
            self._upsert(
                kind="customers",
                instance=by_tenant.get(c.tenant_id),
                values={"name": c.name},
                create=lambda c=c: Customer.objects.create(
                    organization=organization, name=c.name, tenant_id=c.tenant_id
                ),
            )


def _as_stored(instance: models.Model) -> Any:
    """Mark an instance built here for a row just inserted as the database's own."""
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def _differing(instance: models.Model, values: dict[str, Any]) -> list[str]:
    return [name for name, value in values.items() if getattr(instance, name) != value]


def _assign(instance: models.Model, values: dict[str, Any]) -> bool:
    changed = _differing(instance, values)
    for name in changed:
        setattr(instance, name, values[name])
    return bool(changed)


MEMBERSHIP_COLUMNS = ("program_id", "offer", "competency_id", "solution_area_id", "starts", "ends")


def _membership_key(m: Membership) -> tuple:
    return (m.program_id, m.offer, m.competency_id, m.solution_area_id, m.starts)


def _user_values(u: UserIn, organization_id: int) -> dict[str, Any]:
    """Everything the import sets on a user; the address too, so one stored spelled
    otherwise (``Dan@Example.com``) is stored normalized from now on."""
    return {
        "email": u.email,
        "organization_id": organization_id,
        "name": u.name,
        "account_type": u.account_type,
        **{field: role.value in u.roles for role, field in ROLE_FIELDS.items()},
    }


def _new_user(values: dict[str, Any]) -> User:
    user = User(**values)
    user.set_unusable_password()
    user.save()
    return user
