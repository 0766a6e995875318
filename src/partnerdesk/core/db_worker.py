"""django-tasks-db's worker, kept alive through transient database errors.

Its loop (``django_tasks_db``'s ``Worker.run``) claims a task inside an exclusive
transaction and ignores only a "database is locked" raised by the claiming query itself.
Everything else goes up and ends the process: SQLite's ``BEGIN EXCLUSIVE`` timing out
while a long import holds the write lock, PostgreSQL dropping the connection, or the
task's result failing to be saved. Here a transient error (``core.transient``) restarts the
loop after a capped exponential backoff, on fresh connections, and is logged; any other
error still goes up, and ``partnerdesk worker`` exits non-zero on it.

A task that itself fails on a transient error is put back in the queue to run again
after a pause (up to ``PARTNERDESK_TASK_ATTEMPTS`` runs) instead of being marked failed.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django_tasks_db.management.commands.db_worker import Worker

from partnerdesk.core.reclaim import db_task_retry_later
from partnerdesk.core.retry import Backoff, reset_connections, retry_transient
from partnerdesk.core.transient import is_transient_db_error

logger = logging.getLogger("partnerdesk.worker")


class WorkerGaveUp(Exception):
    """``--once`` found the database unavailable for too long."""


class ResilientWorker(Worker):
    def __init__(self, *, max_failures: int | None = None, **options) -> None:
        """``max_failures``: give up after this many transient failures in a row (for
        ``--once``); None (the service) never gives up on a transient error."""
        super().__init__(**options)
        self.max_failures = max_failures
        self.backoff = Backoff()

    def run(self) -> None:
        failures = 0
        while True:
            started = time.monotonic()
            try:
                super().run()
                return
            except Exception as exc:
                if not is_transient_db_error(exc):
                    raise
                if time.monotonic() - started > 2 * self.backoff.cap:
                    # It had been working for a while: a new spell, not the same one.
                    self.backoff.reset()
                    failures = 0
                failures += 1
                if self.max_failures is not None and failures >= self.max_failures:
                    raise WorkerGaveUp(
                        f"the database stayed unavailable through {failures} tries: {exc}"
                    ) from exc
                delay = self.backoff.next_delay()
                logger.warning(
                    "worker %s: transient database error (%s: %s); retry %d in %.1f s",
                    self.worker_id,
                    type(exc).__name__,
                    exc,
                    failures,
                    delay,
                )
                reset_connections()
                time.sleep(delay)  # a SIGTERM here exits at once (Worker.shutdown)
                if not self.running:
                    return

    def run_task(self, db_task_result) -> None:
        record_failure = db_task_result.set_failed
        runs = len(db_task_result.worker_ids)

        def set_failed(exc: BaseException) -> None:
            if not is_transient_db_error(exc) or runs >= settings.PARTNERDESK_TASK_ATTEMPTS:
                record_failure(exc)
                return
            delay = Backoff().next_delay() * 2**runs
            reset_connections()
            if retry_transient(
                lambda: db_task_retry_later(db_task_result, exc, delay=delay),
                what=f"task {db_task_result.pk}: queue again",
            ):
                logger.warning(
                    "task %s (%s): transient database error (%s: %s); runs again in %.1f s "
                    "(run %d of %d)",
                    db_task_result.pk,
                    db_task_result.task_path,
                    type(exc).__name__,
                    exc,
                    delay,
                    runs + 1,
                    settings.PARTNERDESK_TASK_ATTEMPTS,
                )

        # django-tasks-db records a task's failure through this method of the row it
        # claimed; a transient failure is queued again instead.
        db_task_result.set_failed = set_failed
        super().run_task(db_task_result)
