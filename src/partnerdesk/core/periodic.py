"""Jobs `partnerdesk worker` runs on a timer, beside the task queue. Each must be safe to
run at any time and any number of times (they sweep for work that is due)."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

logger = logging.getLogger("partnerdesk.worker")


def run_periodic_jobs() -> dict[str, object]:
    results: dict[str, object] = {}
    for path in settings.PARTNERDESK_PERIODIC_JOBS:
        try:
            results[path] = import_string(path)()
        except Exception:
            logger.exception("periodic job %s failed", path)
            results[path] = None
        finally:
            close_old_connections()
    return results


class PeriodicThread(threading.Thread):
    def __init__(self, interval: float) -> None:
        super().__init__(name="partnerdesk-periodic", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            run_periodic_jobs()

    def stop(self) -> None:
        self.stopped.set()
