"""`partnerdesk serve` in a process of its own: started, waited for, stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from tests.helpers import free_port


class Served:
    """``partnerdesk serve`` (or any console script given) listening on a free port; its
    stdout (the access log) and stderr (gunicorn's log) each go to a file."""

    def __init__(
        self, script: Path | str, *args: str, env: dict[str, str], cwd: Path | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stdout = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server)
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(script), "serve", f"--bind=127.0.0.1:{self.port}", *args],
            env=env,
            cwd=cwd,
            stdout=self.stdout,
            stderr=self.stderr,
            start_new_session=True,
        )
        # The first start collects the static files: give it time on a busy machine.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/api/v1/health", timeout=1, allow_redirects=False)
                return
            except (requests.ConnectionError, requests.Timeout):
                if self.process.poll() is not None:
                    raise RuntimeError(f"serve exited:\n{self.output()}") from None
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"serve did not start within 90 s:\n{self.output()}")

    def access_log(self) -> str:
        self.stdout.seek(0)
        return self.stdout.read().decode(errors="replace")

    def output(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self) -> int | None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            return None
