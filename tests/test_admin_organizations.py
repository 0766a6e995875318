"""Membership sync by API: `PUT`/`GET /api/v1/admin/organizations/{partner_id}` over a real
server, for operators only: the import's check and writing for one organization, in one
transaction, idempotent, and safe under concurrent calls."""

from __future__ import annotations

import copy
import datetime
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import schemathesis
from django.apps import apps
from django.core.management import CommandError, call_command
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from partnerdesk.accounts.models import ApiToken, AuditEvent, TokenScope
from partnerdesk.accounts.services import api_token_create
from partnerdesk.api.api import api
from partnerdesk.benefits.models import CURRENT_STATES, Entitlement, LedgerEntry
from partnerdesk.partners.models import Membership, Organization
from partnerdesk.support.reconcile import reconcile
from tests.factories import OrganizationFactory, UserFactory, membership, token_for

PATH = "/api/v1/admin/organizations/"


def day(offset: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=offset)).isoformat()


def contoso(partner_id: str = "4711001", domain: str = "contoso.example") -> dict:
    """One organization of the import format, its memberships running today."""
    return {
        "partner_id": partner_id,
        "name": "Contoso Ltd",
        "programs": ["mpn", "csp"],
        "program_contact": {"name": "Ann Lee", "email": f"ann@{domain}"},
        "memberships": [
            {
                "offer": "gold",
                "competency": "cloud platform",  # the catalog spells it "Cloud Platform"
                "starts": day(-30),
                "ends": day(300),
            },
            {
                "program": "ai-cloud-2025",
                "offer": "success_core",
                "starts": day(-10),
                "ends": day(355),
            },
        ],
        "users": [
            {"email": f"ann@{domain}", "name": "Ann Lee", "roles": ["global_admin"]},
            {"email": f"Bob@{domain.title()}", "name": "Bob", "account_type": "personal"},
        ],
        "customers": [{"name": "Fabrikam", "tenant_id": f"{partner_id}-fabrikam"}],
    }


def snapshot() -> dict:
    """Every row of every model a sync could touch (the audit trail and the ledger
    included), to prove a call wrote nothing; not the tokens' own bookkeeping (when each
    was last used)."""
    models = [
        m
        for m in apps.get_models()
        if m._meta.app_label in {"accounts", "partners", "benefits"} and m is not ApiToken
    ]
    return {m._meta.label: sorted(map(str, m.objects.values_list())) for m in models}


class Admin:
    def __init__(self, base: str, token: str | None) -> None:
        self.base = base + PATH
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def put(self, partner_id: str, body, **kwargs) -> requests.Response:
        return requests.put(
            self.base + partner_id, json=body, headers=self.headers, timeout=60, **kwargs
        )

    def get(self, partner_id: str) -> requests.Response:
        return requests.get(self.base + partner_id, headers=self.headers, timeout=60)


@pytest.fixture
def operator():
    return UserFactory(organization=None, is_staff=True, email="op@vendor.example")


@pytest.fixture
def admin(live_server, operator):
    return Admin(live_server.url, api_token_create(user=operator, scopes=[TokenScope.OPERATOR]))


def problem(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return body


def current_entitlements(organization: Organization) -> dict[str, tuple]:
    return {
        e.benefit.code: (e.allowance, e.offer, e.state, e.activation_deadline, e.membership_ends)
        for e in Entitlement.objects.filter(organization=organization, state__in=CURRENT_STATES)
    }


def test_created_then_the_same_body_again_changes_nothing(admin, operator):
    body = contoso()

    first = admin.put("4711001", body)

    assert first.status_code == 201, first.text
    answer = first.json()
    assert answer["changed"] is True
    assert answer["counts"]["organizations"] == {"created": 1, "updated": 0, "unchanged": 0}
    assert answer["counts"]["memberships"]["created"] == 2
    stored = answer["organization"]
    assert stored["partner_id"] == "4711001"
    assert stored["memberships"][0]["competency"] == "Cloud Platform"  # the catalog's
    assert [u["email"] for u in stored["users"]] == ["ann@contoso.example", "bob@contoso.example"]
    assert stored["program_contact"] == {"name": "Ann Lee", "email": "ann@contoso.example"}
    benefits = {b["benefit"]: b for b in answer["benefits"]}
    organization = Organization.objects.get(partner_id="4711001")
    assert set(benefits) == set(current_entitlements(organization))
    assert benefits["product_support"]["allowance"] == 20  # Gold's
    assert benefits["partner_cloud_support"]["allowance"] == 2  # Partner Success Core's
    audit = AuditEvent.objects.get(action="organization.synced")
    assert (audit.actor, audit.organization_id, audit.data["created"]) == (
        operator,
        organization.pk,
        True,
    )
    before = snapshot()
    ledger, events = LedgerEntry.objects.count(), AuditEvent.objects.count()

    again = admin.put("4711001", body)

    assert again.status_code == 200, again.text
    assert again.json()["changed"] is False
    assert again.json()["counts"]["organizations"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert again.json()["organization"] == stored
    assert again.json()["benefits"] == answer["benefits"]
    assert (LedgerEntry.objects.count(), AuditEvent.objects.count()) == (ledger, events)
    assert snapshot() == before


def test_get_gives_the_import_format_and_putting_it_back_changes_nothing(admin):
    put = admin.put("4711001", contoso()).json()

    got = admin.get("4711001")

    assert got.status_code == 200, got.text
    assert got.json() == put["organization"]
    before = snapshot()
    back = admin.put("4711001", got.json())
    assert (back.status_code, back.json()["changed"]) == (200, False)
    assert snapshot() == before
    problem(admin.get("4711999"), 404, "not_found")


def test_memberships_absent_from_the_object_stay_as_the_import_leaves_them(admin):
    admin.put("4711001", contoso())
    fewer = contoso()
    del fewer["memberships"][1]
    fewer["users"] = []

    answer = admin.put("4711001", fewer).json()

    assert answer["changed"] is False
    assert len(answer["organization"]["memberships"]) == 2
    assert len(answer["organization"]["users"]) == 2


def test_a_membership_change_derives_the_entitlements_as_the_cli_does(admin, tmp_path: Path):
    """The same two steps, once through the CLI import and once through the API, end in
    the same entitlements and the same ledger."""
    by_api, by_cli = contoso("4711001"), contoso("4711002", "litware.example")
    file = tmp_path / "partners.json"

    def cli(organization: dict) -> None:
        file.write_text(json.dumps({"organizations": [organization]}), encoding="utf-8")
        call_command("import_partners", str(file), "--no-progress")

    assert admin.put("4711001", by_api).status_code == 201
    cli(by_cli)
    for body in (by_api, by_cli):
        body["memberships"][0]["ends"] = day(-1)  # Gold ended yesterday
        body["memberships"].append(
            {
                "program": "ai-cloud-2025",
                "offer": "solutions_partner",
                "solution_area": "Infrastructure (Azure)",
                "starts": day(-10),
                "ends": day(355),
            }
        )

    changed = admin.put("4711001", by_api)
    cli(by_cli)

    assert changed.status_code == 200, changed.text
    assert changed.json()["changed"] is True
    assert changed.json()["counts"]["memberships"] == {"created": 1, "updated": 1, "unchanged": 1}
    api_org = Organization.objects.get(partner_id="4711001")
    cli_org = Organization.objects.get(partner_id="4711002")
    expected = current_entitlements(cli_org)
    assert current_entitlements(api_org) == expected
    assert "product_support" not in expected  # it went with Gold
    assert expected["partner_cloud_support"][0] == 52  # Success Core + Solutions Partner
    benefits = {b["benefit"]: b["allowance"] for b in changed.json()["benefits"]}
    in_unit = {
        e.benefit.code: e.allowance_in_unit
        for e in Entitlement.objects.filter(organization=cli_org, state__in=CURRENT_STATES)
    }
    assert benefits == in_unit
    assert benefits["advisory_hours"] == 55  # 5 + 50 hours

    def ledger(organization):
        return sorted(
            (e.entitlement.benefit.code, e.kind, e.delta)
            for e in LedgerEntry.objects.filter(entitlement__organization=organization)
        )

    assert ledger(api_org) == ledger(cli_org)
    assert reconcile()[1] == []


def test_a_bad_object_is_refused_whole_with_relative_paths(admin):
    admin.put("4711001", contoso())
    admin.put("4711002", contoso("4711002", "litware.example"))
    bad = contoso()
    bad["name"] = "Contoso Limited"  # a good change, refused with the rest
    bad["memberships"][0]["ends"] = day(400)  # another
    bad["memberships"] += [
        {"offer": "platinum", "starts": day(0), "ends": day(9)},
        {"offer": "gold", "starts": day(0), "ends": day(9)},
        {"offer": "action_pack", "starts": day(0), "ends": day(-9)},
        {"offer": "gold", "competency": "Cloud Platform", "starts": day(-30), "ends": day(1)},
    ]
    bad["users"].append({"email": "ann@litware.example"})
    before = snapshot()

    refused = admin.put("4711001", bad)

    body = problem(refused, 422, "validation_error")
    assert [e["path"] for e in body["errors"]] == [
        "memberships[2].offer",
        "memberships[3].competency",
        "memberships[4].ends",
        "memberships[5]",  # the same membership as memberships[0]
        "users[2].email",  # Ann of Litware
    ], body["errors"]
    assert "4711002" in body["errors"][-1]["message"]
    assert snapshot() == before

    # What the schema refuses, as the import's check reports it.
    bad = contoso()
    bad["users"][1]["email"] = "not an address"
    bad["users"].append({"email": "kim@contoso.example", "role": "x"})
    bad["memberships"][0]["starts"] = "soon"
    bad["colour"] = "blue"
    body = problem(admin.put("4711001", bad), 422, "validation_error")
    assert sorted(e["path"] for e in body["errors"]) == [
        "colour",
        "memberships[0].starts",
        "users[1].email",
        "users[2].role",
    ], body["errors"]
    assert snapshot() == before


def test_a_new_organization_with_a_problem_is_not_created(admin):
    bad = contoso()
    bad["memberships"][1]["offer"] = "gold"  # not an offer of ai-cloud-2025
    other = contoso("4711002", "litware.example")
    other["users"] = [{"email": "ann@contoso.example"}]
    assert admin.put("4711002", other).status_code == 201
    before = snapshot()

    body = problem(admin.put("4711001", bad), 422, "validation_error")

    assert [e["path"] for e in body["errors"]] == [
        "memberships[1].offer",
        "users[0].email",  # Ann belongs to 4711002
    ]
    assert "4711002" in body["errors"][1]["message"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("raw", "path"),
    [(b"[1, 2]", "$"), (b'{"name": ', "$"), (b'"Contoso"', "$"), (b"", "$")],
)
def test_a_body_that_is_not_an_object(admin, raw, path):
    response = requests.put(
        admin.base + "4711001",
        data=raw,
        headers={**admin.headers, "Content-Type": "application/json"},
        timeout=60,
    )
    body = problem(response, 422, "validation_error")
    assert path in [e["path"] for e in body["errors"]]
    assert not Organization.objects.exists()


def test_the_partner_id_in_the_body_must_be_the_addresses(admin):
    body = problem(admin.put("4711001", contoso("4711002")), 422, "validation_error")
    assert [e["path"] for e in body["errors"]] == ["partner_id"]
    assert "4711001" in body["errors"][0]["message"]
    assert not Organization.objects.exists()

    without = contoso()
    del without["partner_id"]
    created = admin.put("4711001", without)
    assert created.status_code == 201, created.text
    assert created.json()["organization"]["partner_id"] == "4711001"

    body = problem(admin.put("bad%20id", without), 422, "validation_error")
    assert [e["path"] for e in body["errors"]] == ["partner_id"]
    assert Organization.objects.count() == 1


def test_only_operator_tokens_open_it(live_server, client, operator, capsys):
    partner = OrganizationFactory(partner_id="4711001")
    membership(partner, "action_pack")
    partner_admin = UserFactory(organization=partner, is_global_admin=True)
    callers = {
        "anonymous": Admin(live_server.url, None),
        "partner": Admin(live_server.url, token_for(partner_admin)),
        # A staff user's token without the scope.
        "staff without the scope": Admin(live_server.url, token_for(operator)),
    }
    client.force_login(operator)  # the portal's session, even an operator's
    before = snapshot()
    for name, caller in callers.items():
        status, code = (
            (401, "not_authenticated") if name == "anonymous" else (403, "operator_required")
        )
        problem(caller.get("4711001"), status, code)
        problem(caller.put("4711001", contoso()), status, code)
        problem(caller.put("4711002", contoso("4711002")), status, code)

    # The portal's session: GET, and PUT with its CSRF token.
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    problem(session.get(live_server.url + PATH + "4711001", timeout=60), 403, "operator_required")
    csrf = "a" * 32
    session.cookies.set("csrftoken", csrf)
    put = session.put(
        live_server.url + PATH + "4711001",
        json=contoso(),
        headers={"X-CSRFToken": csrf, "Referer": live_server.url + "/"},
        timeout=60,
    )
    problem(put, 403, "operator_required")
    assert snapshot() == before

    # createtoken --scope operator: the token that opens it.
    call_command("createtoken", operator.email, "--scope", "operator")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert ApiToken.objects.get(user=operator, scopes="operator")
    as_operator = Admin(live_server.url, token)
    assert as_operator.get("4711001").status_code == 200
    assert as_operator.put("4711001", contoso()).status_code == 200


def test_createtoken_refuses_the_operator_scope_to_a_partner_user():
    UserFactory(email="ann@contoso.example")
    with pytest.raises(CommandError, match=r"Only staff users \(operators\) can hold an operator"):
        call_command("createtoken", "ann@contoso.example", "--scope", "operator")
    assert not ApiToken.objects.exists()


def fire(admin: Admin, bodies: list[dict]) -> list[requests.Response]:
    """Every body at once: each thread waits at a barrier, then puts."""
    barrier = threading.Barrier(len(bodies))

    def call(body: dict) -> requests.Response:
        barrier.wait(timeout=60)
        return admin.put("4711001", body)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(call, bodies))


def assert_consistent(organization: Organization) -> None:
    memberships = Counter(
        (m.program_id, m.offer, m.competency_id, m.solution_area_id, m.starts)
        for m in Membership.objects.filter(organization=organization)
    )
    assert set(memberships.values()) == {1}
    current = Counter(
        Entitlement.objects.filter(organization=organization, state__in=CURRENT_STATES).values_list(
            "benefit_id", flat=True
        )
    )
    assert set(current.values()) == {1}
    grants = Counter(
        LedgerEntry.objects.filter(
            entitlement__organization=organization, kind="grant"
        ).values_list("entitlement_id", flat=True)
    )
    assert set(grants.values()) == {1}
    assert reconcile()[1] == []


CALLERS = 8


def test_concurrent_puts_of_one_organization_end_in_one_state(admin):
    responses = fire(admin, [contoso() for _ in range(CALLERS)])

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 200: CALLERS - 1}, [r.text[:200] for r in responses]
    assert [r.json()["changed"] for r in responses].count(True) == 1
    organization = Organization.objects.get(partner_id="4711001")
    assert organization.memberships.count() == 2
    assert organization.users.count() == 2
    assert_consistent(organization)
    assert AuditEvent.objects.filter(action="organization.synced").count() == 1

    # Each caller moves Gold's end elsewhere: the last one written wins, whole.
    bodies = []
    for n in range(CALLERS):
        body = copy.deepcopy(contoso())
        body["memberships"][0]["ends"] = day(200 + n)
        body["name"] = f"Contoso {n}"
        bodies.append(body)

    responses = fire(admin, bodies)

    assert Counter(r.status_code for r in responses) == {200: CALLERS}, [
        r.text[:200] for r in responses
    ]
    organization.refresh_from_db()
    n = int(organization.name.removeprefix("Contoso "))
    gold = organization.memberships.get(offer="gold")
    assert gold.ends.isoformat() == day(200 + n)  # the name and the end from one body
    assert organization.memberships.count() == 2
    assert_consistent(organization)
    product_support = Entitlement.objects.get(
        organization=organization, benefit__code="product_support", state__in=CURRENT_STATES
    )
    assert product_support.membership_ends == gold.ends
    synced = AuditEvent.objects.filter(action="organization.synced").count()
    assert synced == 1 + sum(r.json()["changed"] for r in responses)


# Fuzzed as an operator (test_schemathesis fuzzes every operation as a partner user, who
# gets 403 here): whatever the body, no 5xx, and every answer is as the document says.
# Not positive_data_acceptance: the catalog's rules (which offers a program has) are data,
# not schema, so a body the schema allows may still be 422.
OPERATOR_SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema()).include(
    path_regex="^/api/v1/admin/organizations/"
)
OPERATOR_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@OPERATOR_SCHEMA.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_fuzzed_as_an_operator(case, live_server, operator_token):
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {operator_token}"},
        checks=OPERATOR_CHECKS,
    )


@pytest.fixture
def operator_token(transactional_db):
    OrganizationFactory(partner_id="4711001")  # one that GET finds
    staff = UserFactory(organization=None, is_staff=True, email="fuzz@vendor.example")
    return api_token_create(user=staff, scopes=[TokenScope.OPERATOR])
