"""Jobs `partnerdesk worker` runs on a timer, beside the task queue. Each must be safe to
run at any time and any number of times (they sweep for work that is due).

Before the configured jobs (``PARTNERDESK_PERIODIC_JOBS``) comes the worker's own
housekeeping: tasks left running by a dead worker are queued again (``core.reclaim``).
A job that meets a transient database error is retried a few times with backoff; if the
database is still unavailable it is logged and left to the next round, and the thread
goes on: nothing that happens in a job stops it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

from partnerdesk.core.retry import Backoff, retry_transient
from partnerdesk.core.transient import is_transient_db_error

logger = logging.getLogger("partnerdesk.worker")

HOUSEKEEPING = ["partnerdesk.core.reclaim.tasks_reclaim_abandoned"]
# Tries of one job per round when the database is busy or gone, and the longest pause
# between two: a round never waits long on one job, the next round tries again.
JOB_ATTEMPTS = 4
JOB_BACKOFF_CAP = 5.0


def run_periodic_jobs(
    *, sleep: Callable[[float], object] | None = None, jobs: Sequence[str] | None = None
) -> dict[str, object]:
    """The housekeeping and ``PARTNERDESK_PERIODIC_JOBS``; or, given ``jobs``, those
    alone (the delivery thread's ``PARTNERDESK_DELIVERY_JOBS``)."""
    results: dict[str, object] = {}
    paths = [*HOUSEKEEPING, *settings.PARTNERDESK_PERIODIC_JOBS] if jobs is None else list(jobs)
    for path in paths:
        try:
            results[path] = retry_transient(
                import_string(path),
                what=f"periodic job {path}",
                attempts=JOB_ATTEMPTS,
                backoff=Backoff(cap=JOB_BACKOFF_CAP),
                sleep=sleep,
            )
        except Exception as exc:
            if is_transient_db_error(exc):
                logger.warning("periodic job %s: database unavailable; next round", path)
            else:
                logger.exception("periodic job %s failed", path)
            results[path] = None
        finally:
            close_old_connections()
    return results


class PeriodicThread(threading.Thread):
    """Runs the periodic jobs (or ``jobs``) at once, then every ``interval`` seconds
    until stopped."""

    def __init__(
        self, interval: float, *, jobs: Sequence[str] | None = None, name: str = "periodic"
    ) -> None:
        super().__init__(name=f"partnerdesk-{name}", daemon=True)
        self.interval = interval
        self.jobs = jobs
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                run_periodic_jobs(sleep=self.stopped.wait, jobs=self.jobs)
            except Exception:  # never let the thread die: the next round may succeed
                logger.exception("periodic jobs failed")
            if self.stopped.wait(self.interval):
                return

    def stop(self) -> None:
        self.stopped.set()
