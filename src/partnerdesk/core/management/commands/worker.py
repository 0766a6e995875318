import logging

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.crypto import get_random_string

from partnerdesk.core.db_worker import ResilientWorker
from partnerdesk.core.periodic import PeriodicThread, run_periodic_jobs

logger = logging.getLogger("partnerdesk.worker")

# --once gives up (exit 1) after this many transient database failures in a row; the
# service never gives up on a transient error.
ONCE_MAX_FAILURES = 8


class Command(BaseCommand):
    help = (
        "Run background tasks (the database queue, or RQ when REDIS_URL is set) and the "
        "periodic jobs, and (a thread of its own) publishes events and delivers webhooks. "
        "With --once: run everything that is due now, then exit. Transient "
        "database errors (locked, connection lost, serialization) are retried with "
        "backoff; the worker exits (non-zero) only on an error that is not."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run what is due, then exit.")
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds between polls of an empty database queue (default 1).",
        )

    def handle(self, *args, once: bool, interval: float, verbosity: int, **options):
        if verbosity:
            logging.getLogger("partnerdesk.worker").setLevel(logging.INFO)
            logging.getLogger("django_tasks").setLevel(logging.INFO)
        threads = []
        if once:
            # First the sweep: it completes anything a killed worker left half done.
            run_periodic_jobs()
            run_periodic_jobs(jobs=settings.PARTNERDESK_DELIVERY_JOBS)
        else:
            # The threads start with a round of their jobs, beside the queue: the periodic
            # jobs, and the outbox's (publishing, webhooks) on a shorter interval.
            threads = [
                PeriodicThread(settings.PARTNERDESK_PERIODIC_INTERVAL),
                PeriodicThread(
                    settings.PARTNERDESK_DELIVERY_INTERVAL,
                    jobs=settings.PARTNERDESK_DELIVERY_JOBS,
                    name="delivery",
                ),
            ]
            for thread in threads:
                thread.start()
        try:
            if settings.REDIS_URL:
                self.run_rq(once=once, verbosity=verbosity)
            else:
                self.run_database_queue(once=once, interval=interval)
        except Exception as exc:
            logger.critical(
                "worker stopped by a fatal error: %s: %s", type(exc).__name__, exc, exc_info=True
            )
            raise CommandError(f"the worker stopped: {type(exc).__name__}: {exc}") from exc
        finally:
            for thread in threads:
                thread.stop()

    def run_rq(self, *, once: bool, verbosity: int) -> None:
        call_command(
            "rqworker",
            "default",
            burst=once,
            with_scheduler=True,
            worker_class="partnerdesk.core.rq_worker.ResilientRQWorker",
            job_class="django_tasks_rq.Job",
            verbosity=verbosity,
        )

    def run_database_queue(self, *, once: bool, interval: float) -> None:
        worker = ResilientWorker(
            queue_names=["default"],
            interval=interval,
            batch=once,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=get_random_string(32),
            excluded_queue_names=[],
            max_failures=ONCE_MAX_FAILURES if once else None,
        )
        worker.configure_signals()
        worker.run()
