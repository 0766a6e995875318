"""``partnerdesk serve``: the production server.

gunicorn runs in this very process (its ``BaseApplication``), configured by
``partnerdesk.core.gunicorn_conf``: the process a service manager starts is gunicorn's
master, so its SIGTERM is gunicorn's graceful stop and its exit code is gunicorn's, with
no wrapper in between to forward signals. Before the master starts, the checks run here,
in the operator's language: a development setup is refused, and the static files are
collected (once per set of files, see core/staticfiles.py).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils.translation import gettext as _
from gunicorn.app.base import BaseApplication
from gunicorn.util import import_app

from partnerdesk.core import gunicorn_conf
from partnerdesk.core.staticfiles import collect_static_files

DEFAULT_BIND = "127.0.0.1:8000"
# settings.py's fallback when DJANGO_SECRET_KEY is unset: public, in the source.
DEVELOPMENT_KEY_PREFIX = "dev-only-insecure"


def default_workers() -> int:
    """One sync worker per core this process may run on: what docs/benchmarks.md measured
    (2 workers on 2 cores; more only queue on SQLite's write lock)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class PartnerdeskServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__(prog="partnerdesk serve")

    def load_config(self) -> None:
        for name, value in vars(gunicorn_conf).items():
            if name in self.cfg.settings:
                self.cfg.set(name, value)
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self):
        return import_app(self.cfg.wsgi_app)


class Command(BaseCommand):
    help = (
        "Serve partnerdesk in production: gunicorn with partnerdesk's configuration, static "
        "files with hashed names served by WhiteNoise, an access log on stdout, a graceful "
        "stop on SIGTERM. Refuses DEBUG and the development secret key unless --insecure-dev."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind",
            default=DEFAULT_BIND,
            metavar="HOST:PORT",
            help=f"Address to listen on (default {DEFAULT_BIND}; unix:PATH for a socket).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            metavar="N",
            help=f"Worker processes (default: one per core, here {default_workers()}).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=1,
            metavar="N",
            help="Threads per worker (default 1: sync workers; more: gunicorn's gthread).",
        )
        parser.add_argument(
            "--access-log",
            default="-",
            metavar="FILE",
            help='Where the access log goes (default "-": stdout).',
        )
        parser.add_argument(
            "--log-level",
            default="info",
            choices=["debug", "info", "warning", "error", "critical"],
            help="gunicorn's own log, on stderr (default info).",
        )
        parser.add_argument(
            "--insecure-dev",
            action="store_true",
            help="Serve even with DEBUG on or the development secret key (never in production).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = insecure_settings()
        if problems and not options["insecure_dev"]:
            raise CommandError("\n".join(problems))
        if problems:
            self.stderr.write(
                _("Serving an insecure development setup (--insecure-dev): not for production.")
            )
        workers = default_workers() if options["workers"] is None else options["workers"]
        if workers < 1 or options["threads"] < 1:
            raise CommandError(_("--workers and --threads take a number, 1 or more."))
        if not settings.DEBUG:
            # Hashed names need their manifest: collect before any worker renders a page.
            collect_static_files()
        # Nothing opened here may be shared with the workers forked next.
        connections.close_all()
        sys.stdout.flush()
        PartnerdeskServer(
            {
                "bind": [options["bind"]],
                "workers": workers,
                "threads": options["threads"],
                "accesslog": options["access_log"],
                "loglevel": options["log_level"],
            }
        ).run()


def insecure_settings() -> list[str]:
    """What makes these settings a development setup, one sentence each."""
    problems = []
    if settings.DEBUG:
        problems.append(
            _(
                "DEBUG is on (DJANGO_DEBUG): a production server must not show debug pages. "
                "Set DJANGO_DEBUG=0, or add --insecure-dev to serve a development setup."
            )
        )
    if settings.SECRET_KEY.startswith(DEVELOPMENT_KEY_PREFIX):
        problems.append(
            _(
                "DJANGO_SECRET_KEY is not set, and the development key is public: anyone could "
                "forge sessions and password-reset links. Set DJANGO_SECRET_KEY to a long "
                "random value, or add --insecure-dev to serve a development setup."
            )
        )
    return problems
