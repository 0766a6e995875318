"""The wheel is complete: built with `python -m build` from a copy of the source tree
(sdist, then the wheel from the sdist, as a release is built), installed into a fresh
virtual environment, and run from outside the source tree, it migrates, serves, speaks
Russian from its own compiled catalog and serves its static files under hashed names.

The fresh environment gets the wheel alone (``pip install --no-deps --no-index``); its
dependencies are the ones this test runs with, made visible by a ``.pth`` file naming
this environment's site-packages (a plain path: the ``.pth`` files in there, among them
the editable install of the source tree, are not run), so the test needs no network and
no second download of Django. The build itself fetches its build requirements
(setuptools, polib) as `python -m build` always does, into an isolated environment.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import polib
import pytest
import requests

from partnerdesk.core.exceptions import NotAuthenticated
from tests.serving import Served

ROOT = Path(__file__).resolve().parent.parent
# What a clean checkout does not have (compiled catalogs included: the build makes them).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".*cache", "*.mo",
    ".hypothesis", "test-results", "node_modules",
)  # fmt: skip

pytestmark = pytest.mark.slow


def shipped_translation(language: str, text: str) -> str:
    po = ROOT / "src" / "partnerdesk" / "locale" / language / "LC_MESSAGES" / "django.po"
    entry = polib.pofile(str(po)).find(str(text))
    assert entry and entry.msgstr, f"{text!r} is not translated in {language}"
    return entry.msgstr


def run(*argv: str | Path, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=600, **kwargs
    )
    assert done.returncode == 0, f"{argv}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("build")
    shutil.copytree(ROOT, work / "source", ignore=NOT_SOURCE)
    run(sys.executable, "-m", "build", "--outdir", work / "dist", work / "source")
    (built,) = (work / "dist").glob("partnerdesk-*.whl")
    return built


def test_the_wheel_carries_the_compiled_catalogs_and_the_static_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for language in ("ru", "pl"):
        assert f"partnerdesk/locale/{language}/LC_MESSAGES/django.mo" in names
    assert "partnerdesk/web/static/vendor/pico/pico.min.css" in names
    assert "partnerdesk/api/static/api/docs.js" in names
    assert "partnerdesk/api/templates/api/docs.html" in names
    for language in ("en", "ru", "pl"):  # a missing one falls back to Django's, silently
        assert f"partnerdesk/formats/{language}/formats.py" in names


def test_the_installed_wheel_serves_russian_errors_and_hashed_static_files(wheel, tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
        "--no-index", wheel)  # fmt: skip
    site_packages = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip()
    )
    (site_packages / "partnerdesk-test-dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )
    site = tmp_path / "site"  # the operator's directory: no source tree anywhere near
    site.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PARTNERDESK_HOME": str(site),
        "DATABASE_URL": f"sqlite:///{site / 'partnerdesk.sqlite3'}",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "PARTNERDESK_HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    where = run(python, "-c", "import partnerdesk; print(partnerdesk.__file__)", env=env, cwd=site)
    assert where.stdout.strip().startswith(str(site_packages)), where.stdout
    dates = run(
        python,
        "-c",
        "import datetime, django; django.setup();"
        "from django.utils import formats, translation;"
        "translation.activate('pl'); day = datetime.date(2026, 12, 1);"
        "print(formats.date_format(day, 'SHORT_DATE_FORMAT'), formats.date_format(day))",
        env={**env, "DJANGO_SETTINGS_MODULE": "partnerdesk.settings"},
        cwd=site,
    )
    assert dates.stdout.strip() == "01.12.2026 1 grudnia 2026", dates.stdout
    script = venv / "bin" / "partnerdesk"
    run(script, "migrate", "--noinput", env=env, cwd=site)

    served = Served(script, "--workers=1", env=env, cwd=site)
    try:
        me = requests.get(served.url + "/api/v1/me", headers={"Accept-Language": "ru"}, timeout=10)
        assert me.status_code == 401
        assert me.json()["code"] == "not_authenticated"
        assert me.json()["detail"] == shipped_translation("ru", NotAuthenticated.default_detail)
        page = requests.get(served.url + "/login/", timeout=10)
        css = re.search(r'href="(/static/vendor/pico/pico\.min\.[0-9a-f]{12}\.css)"', page.text)
        assert css, page.text
        style = requests.get(served.url + css[1], timeout=10)
        assert style.status_code == 200 and "--pico" in style.text
        assert "immutable" in style.headers["Cache-Control"]
    finally:
        assert served.stop() == 0, served.output()
    assert (site / "var" / "static" / "staticfiles.json").exists()
