"""Security settings and defences: deploy checks, headers, cookies, lockout, rate limits,
token expiry and revocation, the audit log, and backup/restore of the SQLite database."""

import datetime
import secrets
import sqlite3
import threading

import requests
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from partnerdesk.accounts.models import ApiToken, AuditEvent
from tests.factories import PASSWORD, OrganizationFactory, UserFactory, activate, membership
from tests.helpers import ServerProcess, console_script

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "partnerdesk.example,127.0.0.1",
    "PARTNERDESK_BASE_URL": "https://partnerdesk.example",
}


def test_check_deploy_is_clean_with_production_settings(db):
    done = console_script("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_pages_and_api_carry_the_security_headers(client):
    for response in (client.get(reverse("web:login")), client.get("/api/v1/health")):
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"


def test_production_cookies_are_secure_httponly_and_samesite(transactional_db):
    UserFactory(email="ann@secure.example")
    server = ServerProcess(**PRODUCTION, PARTNERDESK_BEHIND_PROXY="1")
    try:
        https = {"X-Forwarded-Proto": "https", "Host": "partnerdesk.example"}
        plain = requests.get(
            server.url + "/login/",
            headers={"Host": "partnerdesk.example"},
            allow_redirects=False,
            timeout=10,
        )
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
        session = requests.Session()
        page = session.get(server.url + "/login/", headers=https, timeout=10)
        assert "max-age=31536000" in page.headers["Strict-Transport-Security"]
        csrf = page.headers["Set-Cookie"]
        assert "Secure" in csrf and "HttpOnly" in csrf and "SameSite=Lax" in csrf
        token = page.cookies["csrftoken"]
        # A client sends a Secure cookie only over https: here the proxy spoke https.
        signed_in = session.post(
            server.url + "/login/",
            data={
                "username": "ann@secure.example",
                "password": PASSWORD,
                "csrfmiddlewaretoken": token,
            },
            headers={
                **https,
                "Referer": "https://partnerdesk.example/login/",
                "Cookie": f"csrftoken={token}",
            },
            allow_redirects=False,
            timeout=10,
        )
        assert signed_in.status_code == 302, signed_in.text[:500]
        cookie = signed_in.headers["Set-Cookie"]
        assert "sessionid=" in cookie
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        server.stop()


def test_repeated_wrong_passwords_lock_the_account(client):
    UserFactory(email="eve@lock.example")
    for _ in range(5):
        client.post(reverse("web:login"), {"username": "eve@lock.example", "password": "nope"})

    locked = client.post(
        reverse("web:login"), {"username": "eve@lock.example", "password": PASSWORD}
    )

    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    failures = AuditEvent.objects.filter(action="signin.failed", data__username="eve@lock.example")
    assert failures.count() >= 5
    assert all("nope" not in str(e.data) for e in failures)


def test_the_api_is_rate_limited_with_a_problem_and_retry_after(transactional_db):
    user = UserFactory(organization=OrganizationFactory())
    from tests.factories import token_for

    headers = {"Authorization": f"Bearer {token_for(user)}"}
    server = ServerProcess(workers=1, PARTNERDESK_API_RATE="3/m")
    try:
        answers = [
            requests.get(server.url + "/api/v1/me", headers=headers, timeout=10) for _ in range(4)
        ]
        floor = [requests.get(server.url + "/api/v1/health", timeout=10) for _ in range(5)]
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["code"] == "rate_limited"
    assert answers[3].headers["Content-Type"].startswith("application/problem+json")
    assert int(answers[3].headers["Retry-After"]) > 0
    assert {f.status_code for f in floor} == {200}  # the health check is never limited


def test_tokens_expire_and_can_be_revoked(client, capsys):
    user = UserFactory(email="ann@tokens.example", organization=OrganizationFactory())
    call_command("createtoken", "ann@tokens.example", "--expires-in", "30")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    stored = ApiToken.objects.get(user=user)
    assert stored.expires_at - timezone.now() > datetime.timedelta(days=29)
    auth = {"authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=auth).status_code == 200

    operator = UserFactory(organization=None, is_staff=True, is_superuser=True)
    client.force_login(operator)
    client.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [stored.pk]})
    client.logout()

    assert client.get("/api/v1/me", headers=auth).status_code == 401
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"token.created", "token.revoked"} <= actions


def test_the_audit_log_records_signins_id_views_charges_refunds_and_adjustments(client):
    from partnerdesk.benefits.models import Entitlement
    from partnerdesk.benefits.services import entitlement_adjust
    from partnerdesk.support.services import support_request_withdraw
    from tests.factories import open_request

    organization = OrganizationFactory()
    membership(organization, "action_pack")
    activate(organization)
    user = UserFactory(organization=organization, email="ann@audit.example")
    contract = Entitlement.objects.get(organization=organization)
    client.post(reverse("web:login"), {"username": "ann@audit.example", "password": PASSWORD})
    client.get(reverse("web:benefit_detail", args=[contract.pk]))
    request = open_request(user, contract)
    support_request_withdraw(user=user, request_id=request.pk)
    operator = UserFactory(organization=None, is_staff=True, is_superuser=True)
    entitlement_adjust(operator=operator, entitlement_id=contract.pk, delta=2, note="goodwill")

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "signin.succeeded",
        "ids.viewed",
        "incident.charged",
        "incident.refunded",
        "balance.adjusted",
        "activation.requested",
        "activation.completed",
    } <= actions
    client.force_login(operator)
    assert "balance.adjusted" in client.get("/admin/accounts/auditevent/").content.decode()


def test_backup_while_serving_then_restore(transactional_db, tmp_path):
    """Always on a SQLite file of its own: backup/restore is the SQLite deployment's."""
    database = tmp_path / "live.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    for step in (["migrate", "-v", "0"], ["demo-data"]):
        assert console_script(*step, **env).returncode == 0

    def count(path, table="support_supportrequest") -> int:
        with sqlite3.connect(path) as db:
            return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    server = ServerProcess(**env)
    stop = threading.Event()

    def keep_writing():
        # Sign-ins write sessions and audit events while the backup runs.
        while not stop.is_set():
            session = requests.Session()
            page = session.get(server.url + "/login/", timeout=10)
            session.post(
                server.url + "/login/",
                data={
                    "username": "ann@contoso.example",
                    "password": "partnerdesk-demo",
                    "csrfmiddlewaretoken": page.cookies["csrftoken"],
                },
                headers={"Referer": server.url + "/login/"},
                timeout=10,
            )

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        backup = tmp_path / "backup.sqlite3"
        done = console_script("backup", str(backup), **env)
    finally:
        stop.set()
        writer.join()
        server.stop()
    assert done.returncode == 0, done.stderr
    saved = count(backup)
    assert saved == count(database) and saved > 0

    with sqlite3.connect(database) as db:
        db.execute("DELETE FROM support_requestnote")
        db.execute("UPDATE partners_organization SET name = 'changed'")
    restored = console_script("restore", str(backup), "--yes", **env)
    assert restored.returncode == 0, restored.stderr
    with sqlite3.connect(database) as live, sqlite3.connect(backup) as copy:
        for table in (
            "partners_organization",
            "benefits_entitlement",
            "benefits_ledgerentry",
            "support_supportrequest",
            "accounts_user",
        ):
            query = f"SELECT * FROM {table} ORDER BY id"
            assert live.execute(query).fetchall() == copy.execute(query).fetchall(), table
    assert console_script("reconcile", **env).returncode == 0


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    junk = tmp_path / "junk.sqlite3"
    with sqlite3.connect(junk) as db:
        db.execute("CREATE TABLE other (x)")
    done = console_script(
        "restore", str(junk), "--yes", DATABASE_URL=f"sqlite:///{tmp_path / 'live.sqlite3'}"
    )
    assert done.returncode == 1 and "not a partnerdesk backup" in done.stderr
