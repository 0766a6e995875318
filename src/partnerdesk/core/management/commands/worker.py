import logging

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from partnerdesk.core.periodic import PeriodicThread, run_periodic_jobs

logger = logging.getLogger("partnerdesk.worker")


class Command(BaseCommand):
    help = (
        "Run background tasks (the database queue, or RQ when REDIS_URL is set) and the "
        "periodic jobs. With --once: run everything that is due now, then exit."
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
        # First the sweep: it completes anything a killed worker left half done.
        run_periodic_jobs()
        periodic = None
        if not once:
            periodic = PeriodicThread(settings.PARTNERDESK_PERIODIC_INTERVAL)
            periodic.start()
        try:
            if settings.REDIS_URL:
                call_command(
                    "rqworker",
                    "default",
                    burst=once,
                    with_scheduler=True,
                    worker_class="rq.worker.SimpleWorker",
                    job_class="django_tasks_rq.Job",
                    verbosity=verbosity,
                )
            else:
                worker = Worker(
                    queue_names=["default"],
                    interval=interval,
                    batch=once,
                    backend_name="default",
                    startup_delay=False,
                    max_tasks=None,
                    worker_id=get_random_string(32),
                    excluded_queue_names=[],
                )
                worker.configure_signals()
                worker.run()
        finally:
            if periodic is not None:
                periodic.stop()
