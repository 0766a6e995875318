"""Writes for partner organizations: the bulk import, and keeping entitlements in step."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pydantic
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.translation import gettext as _

from partnerdesk.accounts.models import User
from partnerdesk.accounts.roles import ROLE_FIELDS
from partnerdesk.benefits.services import entitlements_open_many, entitlements_sync
from partnerdesk.core.exceptions import ValidationFailed
from partnerdesk.partners.import_schema import ImportFile, OrganizationIn, error_path
from partnerdesk.partners.models import Competency, Customer, Membership, Offer, Organization

CHUNK = 1000


@dataclass
class ImportSummary:
    counts: dict[str, Counter] = field(
        default_factory=lambda: {
            kind: Counter() for kind in ("organizations", "memberships", "users", "customers")
        }
    )
    entitlements_synced: int = 0

    def count(self, kind: str, outcome: str) -> None:
        self.counts[kind][outcome] += 1

    @property
    def changed_anything(self) -> bool:
        return any(c["created"] or c["updated"] for c in self.counts.values())


def _validate(data: Any) -> ImportFile:
    try:
        parsed = ImportFile.model_validate(data)
    except pydantic.ValidationError as error:
        raise ValidationFailed(
            [{"path": error_path(e["loc"]), "message": e["msg"]} for e in error.errors()]
        ) from None
    errors: list[dict[str, str]] = []

    def fail(path: str, message: str) -> None:
        errors.append({"path": path, "message": message})

    competencies = {c.name.casefold(): c.name for c in Competency.objects.all()}
    partner_ids: dict[str, int] = {}
    emails: dict[str, str] = {}
    for i, org in enumerate(parsed.organizations):
        base = f"organizations[{i}]"
        if org.partner_id in partner_ids:
            fail(
                f"{base}.partner_id",
                _("duplicate partner ID, also at organizations[%(index)d]")
                % {"index": partner_ids[org.partner_id]},
            )
        partner_ids.setdefault(org.partner_id, i)
        if not org.programs:
            fail(f"{base}.programs", _("at least one program (mpn, csp) is required"))
        if org.customers and "csp" not in org.programs:
            fail(f"{base}.customers", _("only a CSP organization has customers"))
        keys = set()
        for j, m in enumerate(org.memberships):
            path = f"{base}.memberships[{j}]"
            if m.offer == Offer.ACTION_PACK and m.competency:
                fail(f"{path}.competency", _("Action Pack is not held in a competency"))
            if m.offer != Offer.ACTION_PACK and not m.competency:
                fail(f"{path}.competency", _("Silver and Gold are held in a competency"))
            if m.competency:
                if m.competency.casefold() not in competencies:
                    fail(
                        f"{path}.competency",
                        _("unknown competency “%(name)s”") % {"name": m.competency},
                    )
                else:
                    m.competency = competencies[m.competency.casefold()]
            if m.ends < m.starts:
                fail(f"{path}.ends", _("ends before it starts"))
            key = (m.offer, m.competency, m.starts)
            if key in keys:
                fail(path, _("the same membership is listed twice"))
            keys.add(key)
        tenants = set()
        for j, c in enumerate(org.customers):
            if c.tenant_id in tenants:
                fail(f"{base}.customers[{j}].tenant_id", _("duplicate tenant ID"))
            tenants.add(c.tenant_id)
        for j, u in enumerate(org.users):
            path = f"{base}.users[{j}].email"
            if u.email in emails:
                fail(
                    path,
                    _("duplicate e-mail address, also at %(path)s") % {"path": emails[u.email]},
                )
            emails.setdefault(u.email, path)
    _check_emails_against_database(parsed, emails, fail)
    if errors:
        raise ValidationFailed(errors)
    return parsed


def _check_emails_against_database(
    parsed: ImportFile, emails: dict[str, str], fail: Callable[[str, str], None]
) -> None:
    """An address that already belongs to another organization (or to an operator) cannot
    be moved by an import: that would silently hand one partner's account to another."""
    partner_of_path = {}
    for i, org in enumerate(parsed.organizations):
        for j, _user in enumerate(org.users):
            partner_of_path[f"organizations[{i}].users[{j}].email"] = org.partner_id
    addresses = list(emails)
    for start in range(0, len(addresses), CHUNK):
        for email, partner_id, is_staff in User.objects.filter(
            email__in=addresses[start : start + CHUNK]
        ).values_list("email", "organization__partner_id", "is_staff"):
            path = emails[email]
            if partner_id is None and is_staff:
                fail(path, _("this address belongs to an operator account"))
            elif partner_id is not None and partner_id != partner_of_path[path]:
                fail(
                    path,
                    _("this address already belongs to organization %(partner_id)s")
                    % {"partner_id": partner_id},
                )


def partners_import(
    *, data: Any, progress: Callable[[Iterable], Iterable] = lambda items: items
) -> ImportSummary:
    """Validate the whole file, then upsert it in one transaction (by ``partner_id`` and
    by user ``email``). Raises ``ValidationFailed`` with every bad record's path, having
    written nothing. Importing the same file twice changes nothing."""
    parsed = _validate(data)
    summary = ImportSummary()
    competency_ids = dict(Competency.objects.values_list("name", "pk"))
    with transaction.atomic():
        organizations = parsed.organizations
        for start in range(0, len(organizations), CHUNK):
            chunk = organizations[start : start + CHUNK]
            existing = Organization.objects.in_bulk(
                [o.partner_id for o in chunk], field_name="partner_id"
            )
            users = User.objects.in_bulk(
                [u.email for o in chunk for u in o.users], field_name="email"
            )
            # New organizations whose users are all new too go in bulk; the rest one by one.
            fresh = [
                item
                for item in chunk
                if item.partner_id not in existing and not any(u.email in users for u in item.users)
            ]
            _insert_new_organizations(items=fresh, competency_ids=competency_ids, summary=summary)
            for _ in progress(fresh):
                pass
            fresh_ids = {item.partner_id for item in fresh}
            for item in progress([i for i in chunk if i.partner_id not in fresh_ids]):
                _upsert_organization(
                    item=item,
                    organization=existing.get(item.partner_id),
                    users=users,
                    competency_ids=competency_ids,
                    summary=summary,
                )
    return summary


def _insert_new_organizations(
    *, items: list[OrganizationIn], competency_ids: dict[str, int], summary: ImportSummary
) -> None:
    """The common case of a first import, in a handful of statements per thousand
    organizations instead of dozens per organization."""
    if not items:
        return
    organizations = Organization.objects.bulk_create(
        [
            Organization(
                partner_id=item.partner_id,
                name=item.name,
                in_mpn="mpn" in item.programs,
                in_csp="csp" in item.programs,
                contact_name=item.program_contact.name if item.program_contact else "",
                contact_email=item.program_contact.email if item.program_contact else "",
            )
            for item in items
        ]
    )
    pairs = list(zip(items, organizations, strict=True))
    memberships = [
        Membership(
            organization=organization,
            offer=m.offer,
            competency_id=competency_ids.get(m.competency or ""),
            starts=m.starts,
            ends=m.ends,
        )
        for item, organization in pairs
        for m in item.memberships
    ]
    Membership.objects.bulk_create(memberships)
    unusable = make_password(None)  # one unusable hash: these users cannot sign in yet
    users = [
        User(
            email=u.email,
            name=u.name,
            account_type=u.account_type,
            organization=organization,
            password=unusable,
            **{field: role.value in u.roles for role, field in ROLE_FIELDS.items()},
        )
        for item, organization in pairs
        for u in item.users
    ]
    User.objects.bulk_create(users)
    customers = [
        Customer(organization=organization, name=c.name, tenant_id=c.tenant_id)
        for item, organization in pairs
        for c in item.customers
    ]
    Customer.objects.bulk_create(customers)
    summary.counts["organizations"]["created"] += len(organizations)
    summary.counts["memberships"]["created"] += len(memberships)
    summary.counts["users"]["created"] += len(users)
    summary.counts["customers"]["created"] += len(customers)
    summary.entitlements_synced += entitlements_open_many(
        organizations=organizations, memberships=memberships
    )


def _assign(instance, values: dict[str, Any]) -> bool:
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, values[name])
    return bool(changed)


def _upsert(
    *,
    kind: str,
    instance,
    values: dict[str, Any],
    create: Callable[[], Any],
    summary: ImportSummary,
) -> tuple[Any, str]:
    """Create, update only what differs, or leave alone; counts the outcome."""
    if instance is None:
        instance, outcome = create(), "created"
    elif _assign(instance, values):
        instance.save()
        outcome = "updated"
    else:
        outcome = "unchanged"
    summary.count(kind, outcome)
    return instance, outcome


def _new_user(email: str, values: dict[str, Any]) -> User:
    user = User(email=email, **values)
    user.set_unusable_password()
    user.save()
    return user


def _upsert_organization(
    *,
    item: OrganizationIn,
    organization: Organization | None,
    users: dict[str, User],
    competency_ids: dict[str, int],
    summary: ImportSummary,
) -> None:
    values = {
        "name": item.name,
        "in_mpn": "mpn" in item.programs,
        "in_csp": "csp" in item.programs,
        "contact_name": item.program_contact.name if item.program_contact else "",
        "contact_email": item.program_contact.email if item.program_contact else "",
    }
    organization, _outcome = _upsert(
        kind="organizations",
        instance=organization,
        values=values,
        create=lambda: Organization.objects.create(partner_id=item.partner_id, **values),
        summary=summary,
    )
    existing_memberships = {
        (m.offer, m.competency_id, m.starts): m for m in organization.memberships.all()
    }
    memberships_changed = False
    for m in item.memberships:
        competency_id = competency_ids.get(m.competency or "")
        _membership, outcome = _upsert(
            kind="memberships",
            instance=existing_memberships.get((m.offer, competency_id, m.starts)),
            values={"ends": m.ends},
            create=lambda m=m, competency_id=competency_id: Membership.objects.create(
                organization=organization,
                offer=m.offer,
                competency_id=competency_id,
                starts=m.starts,
                ends=m.ends,
            ),
            summary=summary,
        )
        memberships_changed |= outcome != "unchanged"
    for u in item.users:
        values = {
            "organization_id": organization.pk,
            "name": u.name,
            "account_type": u.account_type,
            **{field: role.value in u.roles for role, field in ROLE_FIELDS.items()},
        }
        users[u.email], _outcome = _upsert(
            kind="users",
            instance=users.get(u.email),
            values=values,
            create=lambda u=u, values=values: _new_user(u.email, values),
            summary=summary,
        )
    existing_customers = {c.tenant_id: c for c in organization.customers.all()}
    for c in item.customers:
        _upsert(
            kind="customers",
            instance=existing_customers.get(c.tenant_id),
            values={"name": c.name},
            create=lambda c=c: Customer.objects.create(
                organization=organization, name=c.name, tenant_id=c.tenant_id
            ),
            summary=summary,
        )
    if memberships_changed or organization.entitlements_synced_on is None:
        entitlements_sync(organization=organization)
        summary.entitlements_synced += 1


def memberships_changed(*, organization: Organization, actor: User | None = None) -> None:
    """Call after any membership edit outside the import (the operator console)."""
    entitlements_sync(organization=organization, actor_id=actor.pk if actor else None)
