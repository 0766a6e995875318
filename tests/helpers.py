"""Real processes against the test database: the console script, a web server, a worker."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

SCRIPT = Path(sys.executable).with_name("partnerdesk")


def subprocess_database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    # Not the test process's own switches: a subprocess is a deployment of its own.
    env = {
        k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(DATABASE_URL=subprocess_database_url(), DJANGO_DEBUG="1", PARTNERDESK_LANGUAGE="en")
    env.update(extra)
    return env


def console_script(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=process_env(**env), timeout=120
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """The production server (`partnerdesk serve`: gunicorn with partnerdesk's gunicorn
    configuration) in its own process, against the test database. ``--insecure-dev``: the
    tests' default environment has DEBUG on; with DEBUG off it collects the static files
    into ./var/static first, as a deployment does."""

    def __init__(
        self, workers: int = 1, threads: int = 16, port: int | None = None, **env: str
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Its log goes to a file, not a pipe nobody reads: a full pipe would stall it.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server)
        self.process = subprocess.Popen(
            [
                str(SCRIPT),
                "serve",
                f"--bind=127.0.0.1:{self.port}",
                f"--workers={workers}",
                f"--threads={threads}",
                "--log-level=warning",
                "--insecure-dev",
            ],
            env=process_env(**env),
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            start_new_session=True,  # its own process group: kill() takes the workers too
        )
        # A first start with DEBUG off collects the static files: seconds on a busy machine.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                # Any HTTP answer (a redirect to https too) means it is serving.
                requests.get(self.url + "/api/v1/health", timeout=1, allow_redirects=False)
                return
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or still busy
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited:\n{self.output()}") from None
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not start within 60 s:\n{self.output()}")

    def output(self) -> str:
        """What the server wrote to its log so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def worker_pids(self) -> list[int]:
        """The master's children (Linux: read from /proc)."""
        return [pid for pid, ppid in process_parents().items() if ppid == self.process.pid]

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL to the master and every worker at once: no handler runs."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def kill_master(self) -> None:
        """SIGKILL to the master alone: its workers are left to notice."""
        self.process.kill()
        self.process.wait(timeout=10)


def process_parents() -> dict[int, int]:
    """pid → parent pid of every live process (zombies count as gone)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (command) state ppid …": the command may hold spaces and parentheses.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(stat.parent.name)] = int(fields[1])
    return parents


def process_alive(pid: int) -> bool:
    return pid in process_parents()


def read_mails(directory: Path) -> list[dict[str, str]]:
    """Messages written by Django's file-based e-mail backend, decoded."""
    import email
    from email.policy import default

    messages = []
    for path in sorted(Path(directory).glob("*.log")):
        for raw in path.read_text().split("-" * 79):
            if raw.strip():
                message = email.message_from_string(raw.strip(), policy=default)
                messages.append(
                    {
                        "to": message["To"],
                        "subject": str(message["Subject"]),
                        # The plain-text part (a portal e-mail also has an HTML one).
                        "body": message.get_body(preferencelist=("plain",)).get_content(),
                    }
                )
    return messages


def wait_until(
    condition: Callable[[], object], *, within: float, failure: str | Callable[[], str]
) -> None:
    """Poll ``condition`` until it holds; fail the test with ``failure`` after ``within`` s."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(failure() if callable(failure) else failure)
        time.sleep(0.05)
