"""What a hostile user or a clumsy client meets, through the production server (gunicorn,
DEBUG off) as they would hit it: every answer under /api/ is problem+json with a stable
code and nothing internal, limits are enforced with the field's path, nothing refused is
written, failed authentication is rate limited, and secrets are never cached."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading

import pytest
import requests
from django.db import connection

from partnerdesk.benefits.models import Entitlement
from partnerdesk.core import limits
from partnerdesk.support.models import SupportRequest
from tests.factories import (
    OTHER,
    PASSWORD,
    OrganizationFactory,
    UserFactory,
    activate,
    membership,
    product,
    token_for,
)
from tests.helpers import ServerProcess, console_script

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "PARTNERDESK_HTTPS": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "127.0.0.1",
}
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    # Every test has a database of its own making: the server must not keep the catalog.
    process = ServerProcess(workers=1, **PRODUCTION, PARTNERDESK_CATALOG_TTL="0")
    yield process
    process.stop()


@pytest.fixture
def partner(transactional_db):
    organization = OrganizationFactory(in_mpn=True)
    membership(organization, "gold", OTHER)
    activate(organization)
    user = UserFactory(organization=organization, is_global_admin=True)
    contract = Entitlement.objects.get(organization=organization, benefit__code="product_support")
    return {
        "user": user,
        "contract": contract,
        "auth": {"Authorization": f"Bearer {token_for(user)}"},
    }


def request_body(partner, **change) -> dict:
    contract = partner["contract"]
    return {
        "product_id": product("SQL Server", "2022").pk,
        "severity": "B",
        "title": "Setup fails",
        "description": "Error 0x80070005 at step 3.",
        "contract_id": contract.contract_id,
        "access_id": contract.access_id,
    } | change


def assert_problem(answer: requests.Response, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["Content-Type"].startswith(PROBLEM), answer.headers["Content-Type"]
    body = answer.json()
    assert body["code"] == code and body["status"] == status
    assert "Traceback" not in answer.text and "/site-packages/" not in answer.text
    return body


# --- problem+json for every answer ---------------------------------------------------


def test_a_body_over_the_limit_is_413_problem_and_nothing_is_written(server, partner):
    huge = request_body(partner, description="x" * (10 * 1024 * 1024))
    answer = requests.post(
        server.url + "/api/v1/support-requests", json=huge, headers=partner["auth"], timeout=30
    )
    body = assert_problem(answer, 413, "payload_too_large")
    assert "512" in body["detail"]  # the limit, as a person reads it ("512.0 KB")
    assert SupportRequest.objects.count() == 0


def test_unknown_addresses_wrong_methods_and_media_types_are_problems(server, partner):
    auth = partner["auth"]
    assert_problem(requests.get(server.url + "/api/v1/nothing-here", timeout=10), 404, "not_found")
    wrong_method = requests.delete(server.url + "/api/v1/benefits", headers=auth, timeout=10)
    assert_problem(wrong_method, 405, "method_not_allowed")
    as_text = requests.post(
        server.url + "/api/v1/support-requests",
        data=json.dumps(request_body(partner)),
        headers={**auth, "Content-Type": "text/plain"},
        timeout=10,
    )
    assert "text/plain" in assert_problem(as_text, 415, "unsupported_media_type")["detail"]
    broken = requests.post(
        server.url + "/api/v1/support-requests",
        data="{not json",
        headers={**auth, "Content-Type": "application/json"},
        timeout=10,
    )
    assert_problem(broken, 422, "validation_error")
    assert SupportRequest.objects.count() == 0


def test_deep_json_is_refused_not_a_crash(server, partner):
    deep = "[" * 100_000 + "]" * 100_000
    answer = requests.post(
        server.url + "/api/v1/support-requests",
        data=deep,
        headers={**partner["auth"], "Content-Type": "application/json"},
        timeout=30,
    )
    body = assert_problem(answer, 422, "validation_error")
    assert str(limits.JSON_DEPTH_MAX) in body["errors"][0]["message"]


def test_an_unexpected_failure_is_500_internal_error_without_internals(tmp_path):
    # A database with no tables: every authenticated call fails inside Django.
    broken = ServerProcess(workers=1, **PRODUCTION, DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3")
    try:
        answer = requests.get(
            broken.url + "/api/v1/me", headers={"Authorization": "Bearer x"}, timeout=10
        )
    finally:
        broken.stop()
    body = assert_problem(answer, 500, "internal_error")
    assert "no such table" not in answer.text and "sqlite" not in answer.text.lower()
    assert body["detail"]


# --- text: lengths and characters ------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"title": "Setup\x00fails"}, "title"),
        ({"description": "x" * (limits.DESCRIPTION_MAX + 1)}, "description"),
        ({"error_message": "e" * (limits.ERROR_MESSAGE_MAX + 1)}, "error_message"),
        ({"error_message": "escape \x1b[31m red"}, "error_message"),
        ({"contact_name": "Dan\u0085Smith"}, "contact_name"),
        ({"contact_email": "a" * 250 + "@x.example"}, "contact_email"),
    ],
)
def test_text_over_its_limit_or_with_control_characters_is_refused_with_its_path(
    server, partner, change, path
):
    answer = requests.post(
        server.url + "/api/v1/support-requests",
        json=request_body(partner, **change),
        headers=partner["auth"],
        timeout=10,
    )
    body = assert_problem(answer, 422, "validation_error")
    assert path in [error["path"] for error in body["errors"]]
    assert SupportRequest.objects.count() == 0


def test_a_nul_in_a_query_is_a_validation_error_on_every_database(server, partner):
    answer = requests.get(
        server.url + "/api/v1/support-requests",
        params={"status": "open\x00"},
        headers=partner["auth"],
        timeout=10,
    )
    assert_problem(answer, 422, "validation_error")


def test_a_note_with_a_nul_is_refused(server, partner):
    created = requests.post(
        server.url + "/api/v1/support-requests",
        json=request_body(partner),
        headers=partner["auth"],
        timeout=10,
    )
    assert created.status_code == 201, created.text
    note = requests.post(
        server.url + f"/api/v1/support-requests/{created.json()['id']}/notes",
        json={"body": "see\x00this"},
        headers=partner["auth"],
        timeout=10,
    )
    assert assert_problem(note, 422, "validation_error")["errors"][0]["path"] == "body"


@pytest.mark.parametrize("key", ["", "k" * 256, "tab\tinside", "naïve"])
def test_an_idempotency_key_outside_its_documented_form_is_refused(server, partner, key):
    answer = requests.post(
        server.url + "/api/v1/support-requests",
        json=request_body(partner),
        headers={**partner["auth"], "Idempotency-Key": key.encode("utf-8").decode("latin-1")},
        timeout=10,
    )
    body = assert_problem(answer, 422, "validation_error")
    assert body["errors"][0]["path"] == "Idempotency-Key"
    assert SupportRequest.objects.count() == 0


def test_the_openapi_document_states_the_limits(server):
    document = requests.get(server.url + "/api/v1/openapi.json", timeout=10).json()
    body = document["components"]["schemas"]["SupportRequestIn"]["properties"]
    assert body["title"]["maxLength"] == limits.TITLE_MAX
    assert body["description"]["maxLength"] == limits.DESCRIPTION_MAX
    assert "\\u0000" in body["title"]["pattern"]
    create = document["paths"]["/api/v1/support-requests"]["post"]
    key = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert key["schema"]["maxLength"] == limits.IDEMPOTENCY_KEY_MAX
    assert key["schema"]["pattern"]


# --- authentication ----------------------------------------------------------------------


def test_guessed_tokens_hit_the_anonymous_limit_and_401_names_the_scheme(transactional_db):
    limited = ServerProcess(workers=1, **PRODUCTION, PARTNERDESK_API_ANON_RATE="5/m")
    try:
        answers = [
            requests.get(
                limited.url + "/api/v1/me",
                headers={"Authorization": f"Bearer guess-{n}"},
                timeout=10,
            )
            for n in range(8)
        ]
    finally:
        limited.stop()
    statuses = [a.status_code for a in answers]
    assert statuses == [401] * 5 + [429] * 3
    assert answers[0].headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(answers[0], 401, "not_authenticated")
    refused = assert_problem(answers[-1], 429, "rate_limited")
    assert refused and int(answers[-1].headers["Retry-After"]) > 0


def test_a_forged_forwarded_for_does_not_escape_the_limit(transactional_db):
    limited = ServerProcess(workers=1, **PRODUCTION, PARTNERDESK_API_ANON_RATE="3/m")
    try:
        statuses = [
            requests.get(
                limited.url + "/api/v1/me",
                headers={"Authorization": "Bearer guess", "X-Forwarded-For": f"10.0.0.{n}"},
                timeout=10,
            ).status_code
            for n in range(5)
        ]
    finally:
        limited.stop()
    assert statuses == [401, 401, 401, 429, 429]


def test_sign_in_and_token_creation_ignore_the_case_of_the_address(server, transactional_db):
    UserFactory(email="dan@contoso.example", organization=OrganizationFactory())
    session = requests.Session()
    page = session.get(server.url + "/login/", timeout=10)
    token = page.cookies["csrftoken"]
    signed_in = session.post(
        server.url + "/login/",
        data={
            "username": "DAN@Contoso.Example",
            "password": PASSWORD,
            "csrfmiddlewaretoken": token,
        },
        headers={"Referer": server.url + "/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302, signed_in.text[:300]
    assert "sessionid" in session.cookies

    created = console_script("createtoken", "  Dan@CONTOSO.example ")
    assert created.returncode == 0, created.stderr
    raw = created.stdout.strip().splitlines()[-1]
    me = requests.get(
        server.url + "/api/v1/me", headers={"Authorization": f"Bearer {raw}"}, timeout=10
    )
    assert me.json()["email"] == "dan@contoso.example"


def test_one_address_in_two_cases_is_one_user_in_the_database(transactional_db):
    from django.db import IntegrityError, transaction

    from partnerdesk.accounts.models import User

    User.objects.create_user("Eve@Contoso.example", PASSWORD)
    assert User.objects.get(email="eve@contoso.example")
    with pytest.raises(IntegrityError), transaction.atomic():
        # Past every form: the database itself refuses a second spelling.
        User.objects.bulk_create([User(email="EVE@contoso.example")])


# --- secrets are not cached ----------------------------------------------------------------


def test_access_and_contract_ids_are_never_cached(server, partner):
    contract = partner["contract"]
    answer = requests.get(
        server.url + f"/api/v1/benefits/{contract.pk}", headers=partner["auth"], timeout=10
    )
    assert answer.json()["contract_id"] == contract.contract_id
    assert "no-store" in answer.headers["Cache-Control"]
    listed = requests.get(server.url + "/api/v1/benefits", headers=partner["auth"], timeout=10)
    assert "no-store" in listed.headers["Cache-Control"]

    session = requests.Session()
    token = session.get(server.url + "/login/", timeout=10).cookies["csrftoken"]
    session.post(
        server.url + "/login/",
        data={
            "username": partner["user"].email,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token,
        },
        headers={"Referer": server.url + "/login/"},
        timeout=10,
    )
    page = session.get(server.url + f"/benefits/technical/{contract.pk}/", timeout=10)
    assert page.status_code == 200 and contract.access_id in page.text
    assert "no-store" in page.headers["Cache-Control"]
    assert "private" in page.headers["Cache-Control"]


# --- busy is an answer ----------------------------------------------------------------------


def _hold_the_write_lock(release: threading.Event, held: threading.Event) -> None:
    """Another process's long write, as SQLite sees it: BEGIN IMMEDIATE, then nothing."""
    holder = sqlite3.connect(connection.settings_dict["NAME"], timeout=5, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(timeout=30)
        holder.execute("ROLLBACK")
    finally:
        holder.close()


def _hold_table_locks(release: threading.Event, held: threading.Event) -> None:
    """On PostgreSQL: the tables a request and a sign-in write, locked against writers
    (readers go on)."""
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=False,
    ) as holder:
        holder.execute("LOCK TABLE support_supportrequest, accounts_user IN EXCLUSIVE MODE")
        held.set()
        release.wait(timeout=30)
        holder.rollback()


def test_a_write_that_cannot_get_the_database_in_time_is_busy_not_an_error(partner):
    busy = ServerProcess(workers=1, **PRODUCTION, PARTNERDESK_DB_BUSY_TIMEOUT="0.5")
    session = requests.Session()
    release, held = threading.Event(), threading.Event()
    hold = _hold_the_write_lock if connection.vendor == "sqlite" else _hold_table_locks
    holder = threading.Thread(target=hold, args=(release, held), daemon=True)
    try:
        csrf = session.get(busy.url + "/login/", timeout=10).cookies["csrftoken"]
        holder.start()
        assert held.wait(timeout=10), "the lock was not taken"
        answer = requests.post(
            busy.url + "/api/v1/support-requests",
            json=request_body(partner),
            headers=partner["auth"],
            timeout=10,
        )
        read = requests.get(busy.url + "/api/v1/benefits", headers=partner["auth"], timeout=10)
        sign_in = session.post(
            busy.url + "/login/",
            data={
                "username": partner["user"].email,
                "password": PASSWORD,
                "csrfmiddlewaretoken": csrf,
            },
            headers={"Referer": busy.url + "/login/"},
            allow_redirects=False,
            timeout=10,
        )
        release.set()
        holder.join(timeout=10)
        again = requests.post(
            busy.url + "/api/v1/support-requests",
            json=request_body(partner),
            headers=partner["auth"],
            timeout=10,
        )
    finally:
        release.set()
        busy.stop()
    assert_problem(answer, 503, "busy")
    assert int(answer.headers["Retry-After"]) > 0
    assert read.status_code == 200  # reads do not wait for writers
    assert sign_in.status_code == 503 and int(sign_in.headers["Retry-After"]) > 0
    assert "Busy for a moment" in sign_in.text and "Nothing was saved" in sign_in.text
    assert again.status_code == 201, again.text
    assert SupportRequest.objects.count() == 1
    partner["contract"].refresh_from_db()
    assert partner["contract"].used == 1
