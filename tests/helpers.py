"""Real processes against the test database: the console script, a web server, a worker."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

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
    """The production server (gunicorn) in its own process, against the test database."""

    def __init__(self, workers: int = 1, threads: int = 16, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(
            [
                str(gunicorn),
                "partnerdesk.wsgi",
                f"--bind=127.0.0.1:{self.port}",
                f"--workers={workers}",
                f"--threads={threads}",
                "--log-level=warning",
            ],
            env=process_env(**env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: kill() takes the workers too
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                # Any HTTP answer (a redirect to https too) means it is serving.
                requests.get(self.url + "/api/v1/health", timeout=1, allow_redirects=False)
                return
            except (requests.ConnectionError, requests.Timeout):  # not up yet, or still busy
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode()) from None
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the server did not start within 30 s")

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
        self.process.wait()


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
                        "body": message.get_content(),
                    }
                )
    return messages
