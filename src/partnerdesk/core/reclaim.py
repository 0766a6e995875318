"""Tasks a dead worker left behind, run again.

A worker killed mid-task (SIGKILL, out of memory, a lost machine) leaves its task marked
running, and nobody else would ever pick it up. After ``PARTNERDESK_TASK_RECLAIM_AFTER``
seconds a running task is presumed abandoned and queued again, up to
``PARTNERDESK_TASK_ATTEMPTS`` runs in all; then it is marked failed (``TaskAbandoned``),
visibly, instead of looping for ever. The grace period must be longer than any task's
normal run: a task still running on a live but slow worker would be run a second time.
That is harmless because every task is idempotent (a test in ``tests/test_worker_faults``
kills a worker mid-task and checks the work was done once in effect), but wasteful.

- Database queue (django-tasks-db): the rows left RUNNING are put back to READY by a
  compare-and-set update, so two workers sweeping at once reclaim a row once.
- RQ (``REDIS_URL``): a job's entry in the StartedJobRegistry expires
  ``PARTNERDESK_TASK_RECLAIM_AFTER`` seconds after it started (``core.rq_worker`` sets
  that as its heartbeat); RQ's own cleanup, run here, then retries the job through the
  ``Retry`` every job carries (``core.rq_worker.RetryingQueue``), or, out of retries,
  moves it to the FailedJobRegistry with ``AbandonedJobError``.
"""

from __future__ import annotations

import datetime
import logging
from traceback import format_exception

from django.conf import settings
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus

logger = logging.getLogger("partnerdesk.worker")


class TaskAbandoned(Exception):
    """The failure recorded for a task whose worker stopped mid-run too many times."""


TASK_ABANDONED = f"{TaskAbandoned.__module__}.{TaskAbandoned.__qualname__}"


def tasks_reclaim_abandoned(*, now: datetime.datetime | None = None) -> int:
    """The worker's periodic housekeeping: queue again every task left running by a dead
    worker for longer than the grace period. Returns how many were queued again."""
    if settings.REDIS_URL:
        return rq_tasks_reclaim()
    return db_tasks_reclaim(now=now)


def db_tasks_reclaim(*, now: datetime.datetime | None = None) -> int:
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.PARTNERDESK_TASK_RECLAIM_AFTER)
    attempts = settings.PARTNERDESK_TASK_ATTEMPTS
    stale = (
        DBTaskResult.objects.running()
        .filter(started_at__lt=cutoff)
        .order_by("started_at")
        .values_list("pk", "started_at", "worker_ids", "task_path")
    )
    reclaimed = 0
    for pk, started_at, worker_ids, task_path in stale[:1000]:
        # Compare and set: unchanged since we read it (not finished meanwhile by a slow
        # worker, not reclaimed by another sweep).
        unchanged = DBTaskResult.objects.filter(
            pk=pk, status=TaskResultStatus.RUNNING, started_at=started_at
        )
        runs = len(worker_ids)
        if runs >= attempts:
            message = (
                f"{task_path} was left running by a stopped worker {runs} times "
                f"(last by {worker_ids[-1] if worker_ids else '?'}, started {started_at}); "
                "not run again."
            )
            if unchanged.update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                exception_class_path=TASK_ABANDONED,
                traceback=message,
            ):
                logger.error("task %s failed: %s", pk, message)
        elif unchanged.update(status=TaskResultStatus.READY):
            reclaimed += 1
            logger.warning(
                "task %s (%s) left running since %s by worker %s: queued again (run %d of %d)",
                pk,
                task_path,
                started_at,
                worker_ids[-1] if worker_ids else "?",
                runs + 1,
                attempts,
            )
    return reclaimed


def db_task_retry_later(result, exc: BaseException, *, delay: float) -> bool:
    """Put a database-queue task that failed on a transient database error back in the
    queue, to run after ``delay`` seconds. False if it was no longer ours to put back."""
    from django_tasks_db.models import DBTaskResult

    updated = DBTaskResult.objects.filter(pk=result.pk, status=TaskResultStatus.RUNNING).update(
        status=TaskResultStatus.READY,
        run_after=timezone.now() + datetime.timedelta(seconds=delay),
        exception_class_path=f"{type(exc).__module__}.{type(exc).__qualname__}",
        traceback="".join(format_exception(exc)),
    )
    if updated:
        result.status = TaskResultStatus.READY
    return bool(updated)


def rq_tasks_reclaim() -> int:
    import django_rq
    from django_tasks_rq import Job

    reclaimed = 0
    for name in settings.TASKS["default"].get("QUEUES", ["default"]):
        registry = django_rq.get_queue(name, job_class=Job).started_job_registry
        expired = registry.get_expired_job_ids()
        if expired:
            logger.warning(
                "queue %s: %d job(s) left running by a stopped worker (%s): retried, or "
                "failed with AbandonedJobError when out of retries",
                name,
                len(expired),
                ", ".join(expired),
            )
            registry.cleanup()
            reclaimed += len(expired)
    return reclaimed
