"""The import's writing, a chunk of checked organizations at a time: the new ones in
bulk, the rest compared with what is stored and changed only where they differ."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, models

from partnerdesk.accounts.models import User
from partnerdesk.accounts.roles import ROLE_FIELDS
from partnerdesk.benefits.services import entitlements_open_many, entitlements_sync
from partnerdesk.core import sql
from partnerdesk.onboarding.validation import CheckedImport
from partnerdesk.partners.import_schema import OrganizationIn
from partnerdesk.partners.models import Customer, Membership, Organization


@dataclass
class ImportSummary:
    counts: dict[str, Counter] = field(
        default_factory=lambda: {
            kind: Counter() for kind in ("organizations", "memberships", "users", "customers")
        }
    )
    entitlements_synced: int = 0

    def count(self, kind: str, outcome: str, number: int = 1) -> None:
        self.counts[kind][outcome] += number

    @property
    def changed_anything(self) -> bool:
        return any(c["created"] or c["updated"] for c in self.counts.values())


def _organization_values(item: OrganizationIn) -> dict[str, Any]:
    contact = item.program_contact
    return {
        "name": item.name,
        "in_mpn": "mpn" in item.programs,
        "in_csp": "csp" in item.programs,
        "contact_name": contact.name if contact else "",
        "contact_email": contact.email if contact else "",
    }


class ImportWriter:
    """Writes the checked organizations, a chunk at a time: the new ones in bulk, the
    rest compared with what is stored and changed only where they differ."""

    def __init__(self, *, competency_ids: dict[str, int], checked: CheckedImport) -> None:
        self.summary = ImportSummary()
        self._competency_ids = competency_ids
        # What the check found stored; anything else is new, so the common case of a
        # first import looks nothing up (a lookup by a list of a thousand values into a
        # table grown in this same transaction is a sequential scan on PostgreSQL,
        # which has no statistics on it yet).
        self._stored_partner_ids = checked.stored_partner_ids
        self._stored_emails = checked.stored_emails
        # One unusable hash for every new user: they cannot sign in until they set one.
        self._unusable_password = make_password(None)

    def write(self, items: list[OrganizationIn]) -> None:
        partner_ids = [o.partner_id for o in items if o.partner_id in self._stored_partner_ids]
        emails = [u.email for o in items for u in o.users if u.email in self._stored_emails]
        existing = Organization.objects.in_bulk(partner_ids, field_name="partner_id")
        users = User.objects.in_bulk(emails, field_name="email")
        fresh, known = [], []
        for item in items:
            taken = item.partner_id in existing or any(u.email in users for u in item.users)
            (known if taken else fresh).append(item)
        self._insert_new(fresh)
        if known:
            self._update_known(known, existing=existing, users=users)

    def _insert_new(self, items: list[OrganizationIn]) -> None:
        """The common case of a first import: a handful of statements per thousand
        organizations instead of dozens per organization."""
        if not items:
            return
        values = [_organization_values(item) for item in items]
        pks = sql.insert_rows(
            Organization,
            ("partner_id", *values[0]),
            [(item.partner_id, *v.values()) for item, v in zip(items, values, strict=True)],
            returning=True,
        )
        organizations = [
            _stored(Organization(pk=pk, partner_id=item.partner_id, **v))
            for pk, item, v in zip(pks, items, values, strict=True)
        ]
        memberships = [
            Membership(
                organization_id=organization.pk,
                offer=m.offer,
                competency_id=self._competency_ids.get(m.competency or ""),
                starts=m.starts,
                ends=m.ends,
            )
            for item, organization in zip(items, organizations, strict=True)
            for m in item.memberships
        ]
        pks = sql.insert_rows(
            Membership,
            ("organization_id", "offer", "competency_id", "starts", "ends"),
            [(m.organization_id, m.offer, m.competency_id, m.starts, m.ends) for m in memberships],
            returning=True,
        )
        for pk, m in zip(pks, memberships, strict=True):
            _stored(m).pk = pk
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
        self.summary.count("organizations", "created", len(organizations))
        self.summary.count("memberships", "created", len(memberships))
        self.summary.count("users", "created", len(user_rows))
        self.summary.count("customers", "created", len(customer_rows))
        self.summary.entitlements_synced += entitlements_open_many(
            organizations=organizations, memberships=memberships
        )

    def _update_known(
        self,
        items: list[OrganizationIn],
        *,
        existing: dict[str, Organization],
        users: dict[str, User],
    ) -> None:
        organization_ids = [o.pk for o in existing.values()]
        memberships: dict[int, list[Membership]] = defaultdict(list)
        for m in Membership.objects.filter(organization_id__in=organization_ids):
            memberships[m.organization_id].append(m)
        customers: dict[int, list[Customer]] = defaultdict(list)
        for c in Customer.objects.filter(organization_id__in=organization_ids):
            customers[c.organization_id].append(c)
        for item in items:
            values = _organization_values(item)
            organization, _outcome = self._upsert(
                kind="organizations",
                instance=existing.get(item.partner_id),
                values=values,
                create=lambda item=item, values=values: Organization.objects.create(
                    partner_id=item.partner_id, **values
                ),
            )
            memberships_changed = self._upsert_memberships(
                item, organization, memberships[organization.pk]
            )
            self._upsert_users(item, organization, users)
            self._upsert_customers(item, organization, customers[organization.pk])
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
        by_key = {(m.offer, m.competency_id, m.starts): m for m in stored}
        changed = False
        for m in item.memberships:
            competency_id = self._competency_ids.get(m.competency or "")
            _membership, outcome = self._upsert(
                kind="memberships",
                instance=by_key.get((m.offer, competency_id, m.starts)),
                values={"ends": m.ends},
                create=lambda m=m, competency_id=competency_id: Membership.objects.create(
                    organization=organization,
                    offer=m.offer,
                    competency_id=competency_id,
                    starts=m.starts,
                    ends=m.ends,
                ),
            )
            changed |= outcome != "unchanged"
        return changed

    def _upsert_users(
        self, item: OrganizationIn, organization: Organization, users: dict[str, User]
    ) -> None:
        for u in item.users:
            values = {
                "organization_id": organization.pk,
                "name": u.name,
                "account_type": u.account_type,
                **{field: role.value in u.roles for role, field in ROLE_FIELDS.items()},
            }
            users[u.email], _outcome = self._upsert(
                kind="users",
                instance=users.get(u.email),
                values=values,
                create=lambda u=u, values=values: _new_user(u.email, values),
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


def _stored(instance: models.Model) -> Any:
    """Mark an instance built here for a row just inserted as the database's own."""
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def _assign(instance: models.Model, values: dict[str, Any]) -> bool:
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, values[name])
    return bool(changed)


def _new_user(email: str, values: dict[str, Any]) -> User:
    user = User(email=email, **values)
    user.set_unusable_password()
    user.save()
    return user
