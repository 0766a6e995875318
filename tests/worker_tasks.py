"""Tasks for tests only, run by the worker processes that tests/test_worker_faults.py
starts (with the repository on PYTHONPATH)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from django_tasks import task

from partnerdesk.benefits import activation


@task()
def complete_activation_slowly(activation_id: int, marker: str) -> bool:
    """``activation_complete``, except that its first run stops inside the transaction
    (the rows locked, the IDs not issued yet) and waits there to be killed. Each run
    appends its process id to ``marker``; ``marker``.inside appears once the first run is
    stuck."""
    runs = Path(marker)
    first = not runs.exists()
    with runs.open("a") as f:
        f.write(f"{os.getpid()}\n")
    if first:
        issue = activation.new_access_id

        def stalled() -> str:
            Path(f"{marker}.inside").touch()
            time.sleep(600)
            return issue()

        activation.new_access_id = stalled  # in this worker process only, which dies here
    return activation.activation_complete(activation_id=activation_id)


@task()
def locked_once(marker: str) -> int:
    """Fails with SQLite's "database is locked" on its first run, succeeds after. Returns
    the number of runs so far."""
    from django.db import OperationalError

    runs = Path(marker)
    with runs.open("a") as f:
        f.write("run\n")
    count = len(runs.read_text().split())
    if count == 1:
        raise OperationalError("database is locked")
    return count


@task()
def always_fails() -> None:
    """A bug: running it again changes nothing."""
    raise RuntimeError("a bug, not the database")
