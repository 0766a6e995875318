#!/usr/bin/env python3.11
"""Peer for the "open a support request" benchmark: django-helpdesk 2.6, tickets
created through its REST API (POST /api/tickets/, DRF TokenAuthentication).

    peer.py prepare --home DIR --db-url URL
        venv in DIR/venv, minimal project in DIR/project, migrate, a staff superuser,
        its DRF token and one queue; prints one JSON line:
        {"queue_id": .., "authorization": "Token ..", "create_path": "/api/tickets/"}
    peer.py serve --home DIR --db-url URL --port P --workers N --threads T
        execs gunicorn (foreground) on 127.0.0.1:P.

Standard library only; idempotent (prepare may run again on the same home/database).
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = [
    "django-helpdesk>=2.6,<2.7",  # pulls Django 5.2 and djangorestframework
    "gunicorn>=25.1",  # --no-control-socket
    "psycopg[binary]",
    "dj-database-url",
]

SETTINGS = """\
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "helpdesk-bench-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "peerproj.urls"
WSGI_APPLICATION = "peerproj.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]


def database_from_env():
    config = dj_database_url.parse(
        os.environ["DATABASE_URL"], conn_max_age=None, conn_health_checks=True
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {  # same as partnerdesk
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
SITE_ID = 1
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "/static/"
MEDIA_ROOT = BASE_DIR.parent / "media"
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"  # never SMTP
DEFAULT_FROM_EMAIL = "helpdesk@example.com"

# The REST API: 2.6 reads HELPDESK_API_ENABLED (default True); the docs still name
# HELPDESK_ACTIVATE_API_ENDPOINT. Both set, to be explicit.
HELPDESK_API_ENABLED = True
HELPDESK_ACTIVATE_API_ENDPOINT = True
HELPDESK_TEAMS_MODE_ENABLED = False  # otherwise pinax-teams is required
# Token, not Basic: Basic would run PBKDF2 on every request (partnerdesk uses a
# fast-hashed bearer token).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
}
"""

URLS = """\
from django.urls import include, path

urlpatterns = [path("", include("helpdesk.urls"))]
"""

WSGI = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproj.settings")
application = get_wsgi_application()
"""

MANAGE = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproj.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

# Run by the venv's python: create the database if needed, migrate, seed, print JSON.
SEED = """\
import json
import os
import sys

import dj_database_url

config = dj_database_url.parse(os.environ["DATABASE_URL"])
if config["ENGINE"] == "django.db.backends.postgresql":
    import psycopg
    from psycopg import sql

    params = {k: config[v] for k, v in
              [("host", "HOST"), ("port", "PORT"), ("user", "USER"), ("password", "PASSWORD")]
              if config.get(v)}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            [config["NAME"]]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
elif config["ENGINE"] == "django.db.backends.sqlite3":
    os.makedirs(os.path.dirname(os.path.abspath(config["NAME"])), exist_ok=True)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproj.settings")
import django

django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from helpdesk.models import Queue
from rest_framework.authtoken.models import Token

call_command("migrate", interactive=False, verbosity=0, stdout=sys.stderr)
user, created = get_user_model().objects.get_or_create(
    username="bench", defaults={"email": "bench@example.com"}
)
if created or not (user.is_staff and user.is_superuser):
    user.is_staff = user.is_superuser = True
    user.set_password("bench-password")
    user.save()
token, _ = Token.objects.get_or_create(user=user)
queue, _ = Queue.objects.get_or_create(slug="bench", defaults={"title": "Bench"})
print(json.dumps({
    "queue_id": queue.id,
    "authorization": f"Token {token.key}",
    "create_path": "/api/tickets/",
}))
"""


def paths(home):
    home = Path(home).resolve()
    return home / "venv", home / "project"


def run(cmd, **kw):
    # Children write to stderr: stdout carries only prepare's JSON line.
    subprocess.run(cmd, check=True, stdout=sys.stderr, **kw)


def prepare(args):
    venv, project = paths(args.home)
    python = venv / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", str(venv)])
    run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS])

    files = {
        "manage.py": MANAGE,
        "seed.py": SEED,
        "peerproj/__init__.py": "",
        "peerproj/settings.py": SETTINGS,
        "peerproj/urls.py": URLS,
        "peerproj/wsgi.py": WSGI,
    }
    for name, text in files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    env = {**os.environ, "DATABASE_URL": args.db_url}
    out = subprocess.run(
        [str(python), "seed.py"],
        cwd=project,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    print(out.strip().splitlines()[-1], flush=True)


def serve(args):
    venv, project = paths(args.home)
    gunicorn = str(venv / "bin" / "gunicorn")
    os.environ["DATABASE_URL"] = args.db_url
    os.execv(
        gunicorn,
        [
            gunicorn,
            "--chdir",
            str(project),
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            # gunicorn >= 25.1 opens ~/.gunicorn/gunicorn.ctl; a second server would clash.
            "--no-control-socket",
            "peerproj.wsgi:application",
        ],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("prepare", "serve"):
        p = sub.add_parser(name)
        p.add_argument("--home", required=True)
        p.add_argument("--db-url", required=True)
        if name == "serve":
            p.add_argument("--port", type=int, required=True)
            p.add_argument("--workers", type=int, default=2)
            p.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    {"prepare": prepare, "serve": serve}[args.command](args)


if __name__ == "__main__":
    main()
