"""Activation: role-gated, asynchronous, completed once, with Access ID and Contract ID."""

import datetime
import re

import pytest
import requests
from django.db import IntegrityError, transaction
from django.utils import timezone

from partnerdesk.accounts.models import AuditEvent
from partnerdesk.benefits.activation import (
    activation_complete,
    activation_request,
    activations_complete_due,
    one_year_after,
)
from partnerdesk.benefits.exceptions import EntitlementExpired
from partnerdesk.benefits.models import Activation, Entitlement, EntitlementState
from partnerdesk.core.exceptions import NotFound, RoleRequired
from tests.factories import OTHER, OrganizationFactory, UserFactory, membership, token_for
from tests.helpers import console_script, read_mails

ROLE_MATRIX = [
    ({"is_global_admin": True}, 202, None),
    ({"is_mpn_partner_admin": True}, 202, None),
    ({"is_admin_agent": True}, 403, "role_required"),
    ({"is_helpdesk_agent": True}, 403, "role_required"),
    ({}, 403, "role_required"),
    ({"is_admin_agent": True, "is_mpn_partner_admin": True}, 202, None),
]


@pytest.fixture
def partner(db):
    organization = OrganizationFactory(contact_email="contact@contoso.example")
    membership(organization, "silver", OTHER)
    return organization


@pytest.fixture
def admin(partner):
    return UserFactory(organization=partner, is_mpn_partner_admin=True, email="ben@contoso.example")


def product(organization) -> Entitlement:
    return Entitlement.objects.get(organization=organization, benefit__code="product_support")


@pytest.mark.parametrize(("roles", "status", "code"), ROLE_MATRIX)
def test_role_matrix_over_http(live_server, partner, roles, status, code):
    user = UserFactory(organization=partner, **roles)
    entitlement = product(partner)

    response = requests.post(
        f"{live_server.url}/api/v1/benefits/{entitlement.pk}/activate",
        headers={"Authorization": f"Bearer {token_for(user)}"},
        timeout=10,
    )

    assert response.status_code == status, response.text
    if code:
        assert response.json()["code"] == code
        assert "Global admin" in response.json()["detail"]
        assert not Activation.objects.exists()
        assert product(partner).state == EntitlementState.NOT_ACTIVATED
    else:
        assert response.json()["status"] == "activation_pending"
        assert response.json()["activation"]["requested_by"] == user.email
        assert Activation.objects.filter(entitlement=entitlement).count() == 1


def test_csp_only_admin_is_not_authorized(db):
    organization = OrganizationFactory(in_mpn=False, in_csp=True)
    user = UserFactory(organization=organization, is_global_admin=True)
    with pytest.raises(Exception) as raised:
        activation_request(user=user, entitlement_id=1)
    assert raised.value.code == "not_authorized"


def test_another_organizations_benefit_is_not_found_even_for_an_ordinary_user(partner):
    stranger = UserFactory(organization=OrganizationFactory())
    membership(stranger.organization, "action_pack")
    with pytest.raises(NotFound):
        activation_request(user=stranger, entitlement_id=product(partner).pk)
    ordinary = UserFactory(organization=partner)
    with pytest.raises(RoleRequired):
        activation_request(user=ordinary, entitlement_id=product(partner).pk)


def test_activating_again_creates_nothing_new(partner, admin, django_capture_on_commit_callbacks):
    entitlement = product(partner)
    with django_capture_on_commit_callbacks() as callbacks:
        first = activation_request(user=admin, entitlement_id=entitlement.pk)
        second = activation_request(user=admin, entitlement_id=entitlement.pk)
        other_admin = UserFactory(organization=partner, is_global_admin=True)
        third = activation_request(user=other_admin, entitlement_id=entitlement.pk)

    assert first.created and not second.created and not third.created
    assert first.activation == second.activation == third.activation
    assert len(callbacks) == 1  # one task enqueued
    assert Activation.objects.count() == 1
    assert AuditEvent.objects.filter(action="activation.requested").count() == 1

    activation_complete(activation_id=first.activation.pk, operator=admin)
    again = activation_request(user=admin, entitlement_id=entitlement.pk)
    assert not again.created and again.entitlement.state == EntitlementState.ACTIVE
    assert Activation.objects.count() == 1


def test_the_delay_decides_when_the_worker_completes_it(transactional_db, settings):
    settings.PARTNERDESK_ACTIVATION_DELAY = 3600
    partner = OrganizationFactory()
    membership(partner, "silver", OTHER)
    admin = UserFactory(organization=partner, is_global_admin=True)

    outcome = activation_request(user=admin, entitlement_id=product(partner).pk)

    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.get()
    assert task.run_after == outcome.activation.due_at
    assert outcome.activation.due_at - timezone.now() > datetime.timedelta(minutes=59)
    done = console_script("worker", "--once")
    assert done.returncode == 0, done.stderr
    assert product(partner).state == EntitlementState.ACTIVATION_PENDING
    # The sweep is the safety net: it leaves the activation to its task until overdue.
    later = outcome.activation.due_at + datetime.timedelta(seconds=1)
    assert activations_complete_due(now=later) == 0
    assert activations_complete_due(now=later + datetime.timedelta(minutes=5)) == 1
    assert product(partner).state == EntitlementState.ACTIVE


def test_with_no_delay_the_worker_completes_it_and_mails_both(transactional_db, settings, tmp_path):
    settings.PARTNERDESK_ACTIVATION_DELAY = 0
    partner = OrganizationFactory(contact_email="contact@contoso.example")
    membership(partner, "silver", OTHER)
    admin = UserFactory(
        organization=partner, is_mpn_partner_admin=True, email="ben@contoso.example", language="pl"
    )
    activation_request(user=admin, entitlement_id=product(partner).pk)

    done = console_script(
        "worker",
        "--once",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(tmp_path),
    )

    assert done.returncode == 0, done.stderr
    entitlement = product(partner)
    assert entitlement.state == EntitlementState.ACTIVE
    assert entitlement.expires_on == one_year_after(timezone.localdate())
    assert entitlement.activation_deadline == partner.memberships.get().ends
    assert entitlement.access_id and entitlement.contract_id
    by_recipient = {m["to"]: m for m in read_mails(tmp_path)}
    assert set(by_recipient) == {"contact@contoso.example", "ben@contoso.example"}
    contact, ben = by_recipient["contact@contoso.example"], by_recipient["ben@contoso.example"]
    assert contact["subject"].startswith("Microsoft Product Support is active")
    assert entitlement.contract_id in contact["body"] and entitlement.access_id in contact["body"]
    assert "Identyfikator umowy" in ben["body"] and entitlement.contract_id in ben["body"]
    events = AuditEvent.objects.filter(target_id=str(entitlement.pk)).order_by("id")
    assert [e.action for e in events] == ["activation.requested", "activation.completed"]


def test_every_user_of_the_organization_sees_the_ids(live_server, partner, admin):
    outcome = activation_request(user=admin, entitlement_id=product(partner).pk)
    activation_complete(activation_id=outcome.activation.pk, operator=admin)
    ordinary = UserFactory(organization=partner)

    items = requests.get(
        f"{live_server.url}/api/v1/benefits",
        headers={"Authorization": f"Bearer {token_for(ordinary)}"},
        timeout=10,
    ).json()["items"]

    item = next(i for i in items if i["benefit"] == "product_support")
    assert item["status"] == "active"
    assert item["access_id"] == product(partner).access_id
    assert item["contract_id"] == product(partner).contract_id


def test_operator_approves_in_the_admin(client, partner, admin):
    outcome = activation_request(user=admin, entitlement_id=product(partner).pk)
    operator = UserFactory(organization=None, is_staff=True, is_superuser=True)
    client.force_login(operator)

    response = client.post(
        f"/admin/benefits/activation/{outcome.activation.pk}/change/",
        {"decision": "approve", "reason": ""},
    )

    assert response.status_code == 302
    outcome.activation.refresh_from_db()
    assert outcome.activation.state == "completed"
    assert outcome.activation.decided_by == operator
    assert product(partner).state == EntitlementState.ACTIVE


def test_operator_rejects_with_a_reason_the_partner_sees(client, live_server, partner, admin):
    outcome = activation_request(user=admin, entitlement_id=product(partner).pk)
    operator = UserFactory(organization=None, is_staff=True, is_superuser=True)
    client.force_login(operator)
    url = f"/admin/benefits/activation/{outcome.activation.pk}/change/"

    refused = client.post(url, {"decision": "reject", "reason": "  "})
    assert refused.status_code == 200 and "Give the partner a reason." in refused.content.decode()
    assert Activation.objects.get().state == "pending"

    client.post(url, {"decision": "reject", "reason": "Membership payment is overdue."})

    entitlement = product(partner)
    assert entitlement.state == EntitlementState.NOT_ACTIVATED
    item = requests.get(
        f"{live_server.url}/api/v1/benefits/{entitlement.pk}",
        headers={"Authorization": f"Bearer {token_for(admin)}"},
        timeout=10,
    ).json()
    assert item["status"] == "not_activated"
    assert item["activation"]["state"] == "rejected"
    assert item["activation"]["rejection_reason"] == "Membership payment is overdue."
    # The partner may ask again once the reason is resolved.
    assert activation_request(user=admin, entitlement_id=entitlement.pk).created


def test_a_benefit_past_its_activation_deadline_cannot_be_activated(partner, admin, today):
    entitlement = product(partner)
    Entitlement.objects.filter(pk=entitlement.pk).update(
        activation_deadline=today - datetime.timedelta(days=1)
    )
    with pytest.raises(EntitlementExpired) as raised:
        activation_request(user=admin, entitlement_id=entitlement.pk)
    assert "last date to activate" in str(raised.value.detail)
    assert raised.value.code == "entitlement_expired"
    assert not Activation.objects.exists()


def test_a_lapsing_membership_cancels_a_pending_activation(partner, admin, today):
    from partnerdesk.benefits.services import entitlements_sync

    outcome = activation_request(user=admin, entitlement_id=product(partner).pk)
    partner.memberships.update(ends=today - datetime.timedelta(days=1))
    entitlements_sync(organization=partner)

    assert Activation.objects.get().state == "cancelled"
    assert activation_complete(activation_id=outcome.activation.pk, operator=admin) is False


def test_ids_are_unique_and_unguessable(db):
    organizations = [OrganizationFactory() for _ in range(60)]
    for organization in organizations:
        membership(organization, "gold", OTHER)
    admin_user = UserFactory(organization=None, is_staff=True)
    for entitlement in Entitlement.objects.all():
        user = UserFactory(organization=entitlement.organization, is_global_admin=True)
        outcome = activation_request(user=user, entitlement_id=entitlement.pk)
        activation_complete(activation_id=outcome.activation.pk, operator=admin_user)

    access = list(Entitlement.objects.values_list("access_id", flat=True))
    contracts = list(Entitlement.objects.values_list("contract_id", flat=True))
    assert len(access) == 120 and len(set(access)) == 120 and len(set(contracts)) == 120
    assert all(re.fullmatch(r"[0-9a-f-]{36}", a) for a in access)
    assert all(re.fullmatch(r"PD(-[0-9A-HJKMNP-TV-Z]{4}){4}", c) for c in contracts)
    first, second = Entitlement.objects.all()[:2]
    with pytest.raises(IntegrityError), transaction.atomic():
        Entitlement.objects.filter(pk=second.pk).update(contract_id=first.contract_id)


def test_one_year_after_handles_leap_days():
    assert one_year_after(datetime.date(2026, 11, 21)) == datetime.date(2027, 11, 20)
    assert one_year_after(datetime.date(2028, 2, 29)) == datetime.date(2029, 2, 27)
