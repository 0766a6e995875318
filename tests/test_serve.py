"""`partnerdesk serve`, the production server, as an operator runs it: it refuses a
development setup, serves with DEBUG off (static files under hashed names, cached for a
year), writes an access log, and on SIGTERM finishes the request in flight and exits 0."""

from __future__ import annotations

import re
import secrets
import signal
import threading
import time

import pytest
import requests

from partnerdesk.benefits.models import Entitlement
from tests.factories import OrganizationFactory, UserFactory, membership, token_for
from tests.helpers import SCRIPT, free_port, process_env
from tests.serving import Served
from tests.test_server_faults import writes_held

PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "PARTNERDESK_HTTPS": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "127.0.0.1",
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The servers' PARTNERDESK_HOME: their static files are collected there, once."""
    return tmp_path_factory.mktemp("serve-home")


def serve_env(home, **extra: str) -> dict[str, str]:
    return process_env(**{**PRODUCTION, "PARTNERDESK_HOME": str(home), **extra})


@pytest.fixture(scope="module")
def server(home, django_db_setup, django_db_blocker):
    served = Served(SCRIPT, "--workers=1", env=serve_env(home, PARTNERDESK_CATALOG_TTL="0"))
    yield served
    served.stop()


def refused(env: dict[str, str]) -> tuple[int, str]:
    import subprocess

    done = subprocess.run(
        [str(SCRIPT), "serve", f"--bind=127.0.0.1:{free_port()}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def test_refuses_debug_without_insecure_dev(home):
    code, output = refused(serve_env(home, DJANGO_DEBUG="1"))
    assert code == 1, output
    assert "DEBUG is on (DJANGO_DEBUG)" in output and "--insecure-dev" in output
    assert "Listening at" not in output


def test_refuses_the_development_secret_key_without_insecure_dev(home):
    env = serve_env(home)
    del env["DJANGO_SECRET_KEY"]
    code, output = refused(env)
    assert code == 1, output
    assert "DJANGO_SECRET_KEY is not set" in output and "--insecure-dev" in output
    assert "DEBUG is on" not in output


def test_insecure_dev_serves_a_development_setup_and_says_so(home, django_db_setup):
    env = serve_env(home, DJANGO_DEBUG="1")
    del env["DJANGO_SECRET_KEY"]
    served = Served(SCRIPT, "--workers=1", "--insecure-dev", env=env)
    try:
        assert requests.get(served.url + "/api/v1/health", timeout=10).status_code == 200
        # DEBUG: the static files as they are, found in the apps' folders.
        page = requests.get(served.url + "/login/", timeout=10).text
        assert 'href="/static/vendor/pico/pico.min.css"' in page
    finally:
        assert served.stop() == 0
    assert "insecure development setup (--insecure-dev)" in served.output()


def test_serves_with_debug_off_hashed_static_files_and_an_access_log(server):
    page = requests.get(server.url + "/login/", headers={"User-Agent": "serve-test/1"}, timeout=10)
    assert page.status_code == 200
    css = re.search(r'href="(/static/vendor/pico/pico\.min\.[0-9a-f]{12}\.css)"', page.text)
    assert css, page.text
    style = requests.get(server.url + css[1], headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert style.status_code == 200 and "--pico" in style.text
    assert style.headers["Content-Type"].startswith("text/css")
    assert style.headers["Cache-Control"] == "max-age=315360000, public, immutable"
    assert style.headers["Content-Encoding"] == "gzip"
    # An unknown page is the site's 404, not a debug page listing the URL patterns.
    missing = requests.get(server.url + "/no-such-page/", timeout=10)
    assert missing.status_code == 404 and "URLconf" not in missing.text
    deadline = time.monotonic() + 5
    while "serve-test/1" not in server.access_log() and time.monotonic() < deadline:
        time.sleep(0.1)
    line = next(x for x in server.access_log().splitlines() if "serve-test/1" in x)
    assert re.match(
        r'127\.0\.0\.1 - - \[[^]]+\] "GET /login/ HTTP/1\.1" 200 \d+ "-" "serve-test/1" \d+ms "-"$',
        line,
    ), line


def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(home, transactional_db):
    organization = OrganizationFactory()
    membership(organization, "action_pack")
    admin = UserFactory(organization=organization, is_global_admin=True)
    entitlement = Entitlement.objects.get(organization=organization)
    headers = {"Authorization": f"Bearer {token_for(admin)}"}
    served = Served(SCRIPT, "--workers=1", env=serve_env(home, PARTNERDESK_DB_BUSY_TIMEOUT="30"))
    answers: list[object] = []

    def activate_now() -> None:
        try:
            answers.append(
                requests.post(
                    f"{served.url}/api/v1/benefits/{entitlement.pk}/activate",
                    headers=headers,
                    timeout=60,
                ).status_code
            )
        except requests.RequestException as error:
            answers.append(error)

    in_flight = threading.Thread(target=activate_now, daemon=True)
    try:
        with writes_held():
            in_flight.start()
            time.sleep(1)  # the request is in the worker, waiting on the lock
            assert not answers, answers
            served.process.send_signal(signal.SIGTERM)  # the master: a service's stop
            time.sleep(1)
            assert served.process.poll() is None, "exited with a request in flight"
        in_flight.join(timeout=30)
        assert answers == [202], answers
        # Done as soon as its last request is, long before graceful_timeout (30 s).
        assert served.process.wait(timeout=10) == 0, served.output()
    finally:
        served.stop()
    assert "Handling signal: term" in served.output()
    assert f'"POST /api/v1/benefits/{entitlement.pk}/activate HTTP/1.1" 202' in served.access_log()


def test_static_files_are_collected_once_per_set_of_files(settings, tmp_path):
    from partnerdesk.core.staticfiles import collect_static_files

    settings.STATIC_ROOT = tmp_path / "var" / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "partnerdesk.core.staticfiles.HashedStaticFilesStorage"},
    }
    assert collect_static_files() is True
    manifest = (settings.STATIC_ROOT / "staticfiles.json").read_text()
    assert "vendor/pico/pico.min.css" in manifest and "ninja/swagger-ui-bundle.js" in manifest
    # Not the 4 MB ReDoc bundle django-ninja also ships.
    assert "redoc" not in manifest
    assert collect_static_files() is False  # the same files: nothing to do
    (settings.STATIC_ROOT / "staticfiles.json").unlink()
    assert collect_static_files() is True  # the manifest lost: collected again
