"""Sign in with Microsoft, end to end: Chromium against partnerdesk's live server and a
real OpenID provider (the npm package oidc-provider, tests/oidc/provider.js) standing in
for Microsoft Entra ID; and the rules of linking, checked without a browser."""

from __future__ import annotations

import functools
import json
import os
import re
import selectors
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from django.db import connections
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from partnerdesk.accounts.microsoft import (
    AccountLinkedElsewhere,
    EmailNotVerified,
    MicrosoftIdentity,
    NoPartnerAccount,
    OperatorAccount,
    WrongTenant,
    user_for_microsoft_sign_in,
)
from partnerdesk.accounts.models import AuditEvent, User
from partnerdesk.accounts.oidc import issuer_expected
from partnerdesk.core.tenants import CONSUMER_TENANT_ID
from tests.browser import CHROMIUM_ARGS, axe_violations, chromium_path, t
from tests.factories import PASSWORD, OrganizationFactory, UserFactory
from tests.helpers import free_port

PROVIDER_DIR = Path(__file__).with_name("oidc")
CLIENT_ID = "partnerdesk-test"
CLIENT_SECRET = "test-only-client-secret"
CONTOSO_TENANT = "3f2b8c1e-6a7d-4e55-9f0a-1b2c3d4e5f60"
FABRIKAM_TENANT = "0c9a7e52-1d3b-4f8e-a6b4-77c2d9e1f003"
ACCOUNTS = {
    "ann": {
        "email": "Ann@Contoso.Example",
        "email_verified": True,
        "tid": CONTOSO_TENANT,
        "oid": "a1a1a1a1-0000-4000-8000-000000000001",
        "name": "Ann Lee",
    },
    "mallory": {
        "email": "ben@contoso.example",
        "email_verified": True,
        "tid": FABRIKAM_TENANT,
        "oid": "b2b2b2b2-0000-4000-8000-000000000002",
    },
    "nobody": {
        "email": "nobody@fabrikam.example",
        "email_verified": True,
        "tid": FABRIKAM_TENANT,
        "oid": "c3c3c3c3-0000-4000-8000-000000000003",
    },
    "pat": {
        "email": "pat@outlook.example",
        "email_verified": True,
        "tid": CONSUMER_TENANT_ID,
        "oid": "00000000-0000-0000-d4d4-d4d4d4d4d4d4",
    },
}


def _node_modules() -> None:
    """`make dev` installs them; a bare `pytest` after a fresh clone does it here."""
    if (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund"],
        cwd=PROVIDER_DIR,
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def provider(live_server):
    """The provider process, for the live server's callback; its issuer URL."""
    _node_modules()
    port = free_port()
    process = subprocess.Popen(
        ["node", "provider.js"],
        cwd=PROVIDER_DIR,
        env={
            **os.environ,
            "PORT": str(port),
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "REDIRECT_URI": live_server.url + "/login/microsoft/callback/",
            "ACCOUNTS": json.dumps(ACCOUNTS),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    deadline = time.monotonic() + 90  # node starts slowly on a loaded machine
    with selectors.DefaultSelector() as waiting:
        waiting.register(process.stdout, selectors.EVENT_READ)
        while not any(line.startswith("listening ") for line in output):
            left = deadline - time.monotonic()
            if left <= 0 or process.poll() is not None:
                process.kill()
                process.wait(timeout=10)
                raise RuntimeError("the OpenID provider did not start:\n" + "".join(output))
            if waiting.select(timeout=left):
                output.append(process.stdout.readline())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def microsoft(provider, settings):
    settings.OIDC_DISCOVERY_URL = provider + "/.well-known/openid-configuration"
    settings.OIDC_CLIENT_ID = CLIENT_ID
    settings.OIDC_CLIENT_SECRET = CLIENT_SECRET
    return provider


# Playwright's sync API drives one instance per thread, and the other browser modules keep
# theirs open in the main thread for the whole session: this module's Chromium lives in a
# thread of its own, and each journey runs there (Django gives it its own connection).
_browser_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oidc-chromium")
JOURNEY_DEADLINE = 240  # seconds; below pytest-timeout's 300, so the journey's error shows


def _in_browser_thread(function, *args, timeout: float = JOURNEY_DEADLINE):
    return _browser_thread.submit(function, *args).result(timeout=timeout)


def journey(test):
    """A browser test: its body runs in the browser's thread."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        def body():
            try:
                return test(*args, **kwargs)
            finally:
                connections.close_all()

        return _in_browser_thread(body)

    return pytest.mark.browser(run)


@pytest.fixture(scope="module")
def browser():
    def start():
        playwright = sync_playwright().start()
        return playwright, playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS
        )

    playwright, browser = _in_browser_thread(start, timeout=60)
    yield browser

    def stop():
        browser.close()
        playwright.stop()

    _in_browser_thread(stop, timeout=60)


@pytest.fixture
def page(browser):
    def open_page():
        context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        return context, context.new_page()

    context, page = _in_browser_thread(open_page, timeout=60)
    yield page
    _in_browser_thread(context.close, timeout=60)


@pytest.fixture
def contoso():
    return OrganizationFactory(name="Contoso", tenant_id=CONTOSO_TENANT)


def _sign_in_with_microsoft(page, base_url: str, account: str) -> None:
    page.goto(base_url + "/")
    page.get_by_role("button", name=t("en", "Sign in with Microsoft")).click()
    _at_the_provider(page, account)


def _at_the_provider(page, account: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Test provider: sign in")
    page.locator("#login").fill(account)
    page.locator("#password").fill("anything")
    page.get_by_role("button", name="Sign in").click()


def _signed_out(page, base_url: str) -> None:
    page.goto(base_url + "/dashboard/")
    expect(page).to_have_url(f"{base_url}/login/?next=/dashboard/")
    expect(page.locator("#user-menu")).to_have_count(0)


@journey
def test_sign_in_lands_on_the_dashboard_and_later_sign_ins_match_by_subject(
    page, live_server, microsoft, contoso
):
    UserFactory(organization=contoso, email="ann@contoso.example", name="Ann Lee")

    _sign_in_with_microsoft(page, live_server.url, "ann")

    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Dashboard"))
    page.locator("#user-menu summary").click()
    expect(page.locator("#user-menu")).to_contain_text("ann@contoso.example · Contoso")
    user = User.objects.get(email="ann@contoso.example")
    assert user.oidc_subject == ACCOUNTS["ann"]["oid"]
    assert user.account_type == "work"
    assert AuditEvent.objects.filter(
        action="user.microsoft_linked", target_id=str(user.pk)
    ).exists()

    # Sign-out ends partnerdesk's session (not the provider's).
    page.locator("#user-menu button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    _signed_out(page, live_server.url)

    # The address changed since: the subject still finds the user.
    User.objects.filter(pk=user.pk).update(email="ann.lee@contoso.example")
    page.get_by_role("button", name=t("en", "Sign in with Microsoft")).click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    page.locator("#user-menu summary").click()
    expect(page.locator("#user-menu")).to_contain_text("ann.lee@contoso.example")


@journey
def test_a_work_account_of_another_tenant_is_refused(page, live_server, microsoft, contoso):
    ben = UserFactory(organization=contoso, email="ben@contoso.example")

    _sign_in_with_microsoft(page, live_server.url, "mallory")

    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Wrong organization"))
    expect(page.locator(".problem-detail")).to_contain_text(
        "The Microsoft work account ben@contoso.example is not in your partner organization's"
    )
    _signed_out(page, live_server.url)
    ben.refresh_from_db()
    assert ben.oidc_subject is None


@journey
def test_a_tampered_state_is_refused(page, live_server, microsoft, contoso):
    UserFactory(organization=contoso, email="ann@contoso.example")
    tampering = False

    def relayed(route):
        # partnerdesk's redirect to the provider, passed on as it is, or its state changed.
        response = route.fetch(max_redirects=0)
        headers = dict(response.headers)
        if tampering:
            location = urlsplit(headers["location"])
            query = parse_qs(location.query)
            query["state"] = [query["state"][0] + "x"]
            query = urlencode(query, doseq=True)
            headers["location"] = urlunsplit(location._replace(query=query))
        route.fulfill(response=response, headers=headers)

    page.route(re.compile(r".*/login/microsoft/(\?.*)?$"), relayed)
    # Untouched, the relayed redirect signs in (the session cookie passes through it).
    _sign_in_with_microsoft(page, live_server.url, "ann")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Dashboard"))
    page.locator("#user-menu summary").click()
    page.locator("#user-menu button[type=submit]").click()

    tampering = True
    # Still signed in at the provider, which answers at once, with the state it was given.
    page.get_by_role("button", name=t("en", "Sign in with Microsoft")).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Sign-in failed"))
    _signed_out(page, live_server.url)


@journey
def test_a_forged_callback_is_refused(page, live_server, microsoft):
    page.goto(live_server.url + "/login/microsoft/callback/?code=forged&state=forged")

    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Sign-in failed"))
    _signed_out(page, live_server.url)


@journey
def test_an_unknown_user_gets_the_no_account_page_and_signs_in_with_another_account(
    page, live_server, microsoft, contoso
):
    UserFactory(organization=contoso, email="ann@contoso.example")

    _sign_in_with_microsoft(page, live_server.url, "nobody")

    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "No partner account"))
    expect(page.locator(".problem-detail")).to_have_text(
        t("en", "There is no partner account for %(email)s.") % {"email": "nobody@fabrikam.example"}
    )
    another = page.get_by_role("button", name=t("en", "Sign in with a different account"))
    expect(another).to_be_visible()
    another.click()
    # The provider asks again (prompt=select_account) instead of going on as "nobody".
    _at_the_provider(page, "ann")
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Dashboard"))


@journey
def test_switch_account_asks_the_provider_for_its_account_picker_once(
    page, live_server, microsoft, contoso
):
    UserFactory(organization=contoso, email="ann@contoso.example")  # Contoso has no benefits
    UserFactory(email="pat@outlook.example")
    prompts = []

    def at_the_provider(request):
        if request.url.startswith(microsoft + "/auth?"):
            prompts.append(parse_qs(urlsplit(request.url).query).get("prompt", [""])[0])

    page.on("request", at_the_provider)
    _sign_in_with_microsoft(page, live_server.url, "ann")
    page.goto(live_server.url + "/benefits/technical/")
    page.get_by_role("button", name=t("en", "Sign in with a different account")).click()

    expect(page).to_have_url(f"{live_server.url}/login/?prompt=select_account")
    page.get_by_role("button", name=t("en", "Sign in with Microsoft")).click()
    # Still signed in at the provider as Ann, yet it asks which account to use.
    _at_the_provider(page, "pat")
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    page.locator("#user-menu summary").click()
    expect(page.locator("#user-menu")).to_contain_text("pat@outlook.example")

    # The next ordinary sign-in goes straight through with the provider's session.
    page.locator("#user-menu button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/login/")
    page.get_by_role("button", name=t("en", "Sign in with Microsoft")).click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    assert prompts == ["", "select_account", ""]


@journey
def test_a_personal_account_is_recorded_as_personal(page, live_server, microsoft):
    pat = UserFactory(email="pat@outlook.example", account_type="work")

    _sign_in_with_microsoft(page, live_server.url, "pat")

    expect(page.get_by_role("heading", level=1)).to_have_text(t("en", "Dashboard"))
    pat.refresh_from_db()
    assert pat.account_type == "personal"
    assert pat.oidc_subject == ACCOUNTS["pat"]["oid"]


@journey
def test_password_sign_in_refused_for_partner_users_under_operators(
    page, live_server, microsoft, settings, contoso
):
    settings.PARTNERDESK_PASSWORD_SIGNIN = "operators"
    UserFactory(organization=contoso, email="ann@contoso.example")
    UserFactory(organization=None, email="op@vendor.example", is_staff=True)

    page.goto(live_server.url + "/login/")
    expect(page.get_by_role("button", name=t("en", "Sign in with Microsoft"))).to_be_visible()
    expect(page.get_by_text(t("en", "Operators: sign in with your password."))).to_be_visible()
    page.locator("#id_username").fill("ann@contoso.example")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("alert")).to_contain_text(
        t("en", "Partner users sign in with Microsoft: use the “Sign in with Microsoft” button.")
    )
    _signed_out(page, live_server.url)

    page.goto(live_server.url + "/login/")
    page.locator("#id_username").fill("op@vendor.example")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/staff/")


@journey
def test_the_sign_in_pages_have_no_serious_accessibility_violations(
    browser, live_server, microsoft
):
    context = browser.new_context(locale="en-US", bypass_csp=True)  # axe is injected inline
    try:
        page = context.new_page()
        page.goto(live_server.url + "/login/")
        expect(page.get_by_role("button", name=t("en", "Sign in with Microsoft"))).to_be_visible()
        assert axe_violations(page) == []
        page.goto(live_server.url + "/login/microsoft/callback/?code=forged&state=forged")
        expect(
            page.get_by_role("button", name=t("en", "Sign in with a different account"))
        ).to_be_visible()
        assert axe_violations(page) == []
    finally:
        context.close()


# --- Without a browser --------------------------------------------------------------------


def test_the_authorization_request_carries_state_nonce_and_pkce(client, microsoft):
    response = client.get(reverse("web:microsoft_start"), {"next": "/benefits/technical/"})

    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["scope"] == ["openid email profile"]
    kept = client.session[f"_state_microsoft_{query['state'][0]}"]["data"]
    assert kept["nonce"] == query["nonce"][0] and kept["code_verifier"]
    assert "prompt" not in query
    again = client.get(reverse("web:microsoft_start"), {"prompt": "select_account"})
    assert parse_qs(urlsplit(again["Location"]).query)["prompt"] == ["select_account"]


def test_the_login_page_passes_select_account_on_to_the_microsoft_sign_in_only(client, microsoft):
    def microsoft_link(query: dict) -> dict:
        page = client.get(reverse("web:login"), query).content.decode()
        href = re.search(r'id="microsoft-signin" role="button" href="([^"]+)"', page)[1]
        assert urlsplit(href.replace("&amp;", "&")).path == reverse("web:microsoft_start")
        return parse_qs(urlsplit(href.replace("&amp;", "&")).query)

    assert microsoft_link({}) == {}
    assert microsoft_link({"next": "/support/requests/"}) == {"next": ["/support/requests/"]}
    assert microsoft_link({"prompt": "select_account", "next": "/benefits/technical/"}) == {
        "next": ["/benefits/technical/"],
        "prompt": ["select_account"],
    }
    assert microsoft_link({"prompt": "consent"}) == {}
    assert microsoft_link({"next": "https://evil.example/"}) == {}


def test_without_configuration_there_is_no_microsoft_button(client, settings):
    settings.OIDC_DISCOVERY_URL = ""
    page = client.get(reverse("web:login")).content.decode()

    assert "microsoft-signin" not in page
    assert client.get(reverse("web:microsoft_start")).status_code == 404
    assert client.get(reverse("web:microsoft_callback")).status_code == 404


def test_operators_keep_the_lockout_under_operators(client, settings):
    settings.PARTNERDESK_PASSWORD_SIGNIN = "operators"
    UserFactory(organization=None, email="op@lock.example", is_staff=True)
    for _ in range(5):
        client.post(reverse("web:login"), {"username": "op@lock.example", "password": "nope"})

    locked = client.post(
        reverse("web:login"), {"username": "op@lock.example", "password": PASSWORD}
    )

    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_entra_multi_tenant_issuer_is_filled_in_with_the_token_tenant():
    published = "https://login.microsoftonline.com/{tenantid}/v2.0"

    assert issuer_expected(published, CONTOSO_TENANT) == (
        f"https://login.microsoftonline.com/{CONTOSO_TENANT}/v2.0"
    )
    assert issuer_expected(published, None) is None
    assert issuer_expected("https://id.example", CONTOSO_TENANT) == "https://id.example"


def _identity(**claims) -> MicrosoftIdentity:
    return MicrosoftIdentity.from_claims(
        {"sub": "pairwise-sub", "tid": CONTOSO_TENANT, "email": "ann@contoso.example"} | claims
    )


def test_the_subject_is_entra_oid_else_sub():
    assert _identity(oid="the-oid").subject == "the-oid"
    assert _identity().subject == "pairwise-sub"
    assert _identity(email="ANN@Contoso.example").email == "ann@contoso.example"


@pytest.mark.parametrize(
    ("case", "refused"),
    [
        ("operator", OperatorAccount),
        ("no tenant recorded", WrongTenant),
        ("unverified address", EmailNotVerified),
        ("linked to another account", AccountLinkedElsewhere),
        ("inactive", NoPartnerAccount),
    ],
)
def test_sign_in_refusals(db, case, refused):
    organization = OrganizationFactory(tenant_id=CONTOSO_TENANT)
    user = UserFactory(organization=organization, email="ann@contoso.example")
    identity = _identity()
    if case == "operator":
        User.objects.filter(pk=user.pk).update(organization=None, is_staff=True)
    elif case == "no tenant recorded":
        organization.tenant_id = ""
        organization.save()
    elif case == "unverified address":
        identity = _identity(email_verified=False)
    elif case == "linked to another account":
        User.objects.filter(pk=user.pk).update(oidc_subject="someone-else")
    elif case == "inactive":
        User.objects.filter(pk=user.pk).update(is_active=False)

    with pytest.raises(refused):
        user_for_microsoft_sign_in(identity=identity)
    user.refresh_from_db()
    assert user.oidc_subject in (None, "someone-else")


def test_a_linked_user_is_refused_once_its_organization_tenant_changes(db):
    organization = OrganizationFactory(tenant_id=CONTOSO_TENANT)
    UserFactory(organization=organization, email="ann@contoso.example")
    assert user_for_microsoft_sign_in(identity=_identity(oid="ann")).email == "ann@contoso.example"

    organization.tenant_id = FABRIKAM_TENANT
    organization.save()

    with pytest.raises(WrongTenant):
        user_for_microsoft_sign_in(identity=_identity(oid="ann"))


def test_the_admin_checks_and_normalizes_an_organization_tenant_id(admin_client):
    organization = OrganizationFactory(name="Contoso")
    url = reverse("admin:partners_organization_change", args=[organization.pk])
    form = {
        "partner_id": organization.partner_id,
        "name": "Contoso",
        "in_mpn": "on",
        **{
            f"{prefix}-{field}": value
            for prefix in ("memberships", "customers")
            for field, value in (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0))
        },
    }

    refused = admin_client.post(url, {**form, "tenant_id": CONSUMER_TENANT_ID})
    assert "this is the tenant of personal Microsoft accounts" in refused.content.decode()
    refused = admin_client.post(url, {**form, "tenant_id": "contoso.onmicrosoft.com"})
    assert "not a tenant ID" in refused.content.decode()

    saved = admin_client.post(url, {**form, "tenant_id": CONTOSO_TENANT.upper()})
    assert saved.status_code == 302
    organization.refresh_from_db()
    assert organization.tenant_id == CONTOSO_TENANT
