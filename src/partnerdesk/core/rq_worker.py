"""RQ (``REDIS_URL``) the way ``partnerdesk worker`` runs it: jobs that survive their
worker, and transient database errors retried instead of failing the job.

What RQ does by itself with the job of a dead worker: the job stays STARTED in the
queue's StartedJobRegistry until its entry expires (for a ``SimpleWorker``: the job
timeout + 60 s after it started, 6 minutes with our 300 s timeout); the next registry
cleanup (a worker's start, then every 10 minutes) retries it if it carries a ``Retry``
with retries left, or else moves it to the FailedJobRegistry with ``AbandonedJobError``
and calls its failure callback. django-tasks-rq enqueues without a ``Retry``, so out of
the box such a job is failed, visibly, but never run again.

Here every job gets a ``Retry`` (``RetryingQueue``), its registry entry expires after
``PARTNERDESK_TASK_RECLAIM_AFTER`` (``ResilientRQWorker.get_heartbeat_ttl``), and the
worker's periodic housekeeping runs the cleanup (``core.reclaim``): an abandoned job is
run again by the next live worker, up to ``PARTNERDESK_TASK_ATTEMPTS`` runs. A dead
worker's scheduler lock (the process that moves scheduled jobs, e.g. an activation due in
three days, into the queue) expires a minute after it died; the maintenance of a live
worker then takes it over (within another minute here, 7 to 10 by default). A job that
fails on a transient database error is retried after a pause; any other failure is
final (a bug does not go away by running it again).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import close_old_connections
from django_rq.queues import DjangoRQ
from rq.job import Retry
from rq.worker import SimpleWorker

from partnerdesk.core.retry import reset_connections
from partnerdesk.core.transient import is_transient_db_error

logger = logging.getLogger("partnerdesk.worker")

# Seconds before each retry of a job that failed on a transient error or was abandoned.
# The first is immediate: a delayed retry waits for RQ's scheduler, whose lock a dead
# worker holds for another minute.
RETRY_INTERVALS = [0, 5, 30, 60, 300]
# RQ's maintenance (the registries' cleanup, taking over the scheduler lock of a dead
# worker) runs between two waits for a job; both every minute instead of every 7-10.
MAINTENANCE_INTERVAL = 60
WORKER_TTL = MAINTENANCE_INTERVAL + 15


def job_retry() -> Retry:
    retries = max(1, settings.PARTNERDESK_TASK_ATTEMPTS - 1)
    return Retry(max=retries, interval=RETRY_INTERVALS[:retries])


class RetryingQueue(DjangoRQ):
    """The queue django-tasks-rq enqueues to (``RQ_QUEUES[...]["QUEUE_CLASS"]``): every job
    it creates carries a ``Retry``."""

    def create_job(self, *args, retry: Retry | None = None, **kwargs):
        return super().create_job(*args, retry=retry or job_retry(), **kwargs)


class ResilientRQWorker(SimpleWorker):
    def __init__(self, *args, **kwargs) -> None:
        kwargs["maintenance_interval"] = MAINTENANCE_INTERVAL
        kwargs["worker_ttl"] = min(kwargs.get("worker_ttl") or WORKER_TTL, WORKER_TTL)
        super().__init__(*args, **kwargs)

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        # The job's StartedJobRegistry entry (and its execution) expire this long after
        # it started: then the job counts as abandoned by its worker.
        return max(1, int(settings.PARTNERDESK_TASK_RECLAIM_AFTER))

    def perform_job(self, job, queue, execution) -> bool:
        # As Django does around a request: drop connections that broke or grew too old.
        close_old_connections()
        try:
            return super().perform_job(job, queue, execution)
        finally:
            close_old_connections()

    def handle_exception(self, job, *exc_info) -> None:
        error = exc_info[1]
        if error is not None and is_transient_db_error(error):
            reset_connections()
            logger.warning(
                "job %s (%s): transient database error (%s: %s); retried if it has runs left",
                job.id,
                job.func_name,
                type(error).__name__,
                error,
            )
        else:
            job.retries_left = 0
        super().handle_exception(job, *exc_info)
