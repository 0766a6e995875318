"""Per-process copies of data that changes rarely and is read on every request (the
product and benefit catalogs): loaded once, dropped when an operator changes one of its
models. The process that saves the change drops its copy at once and bumps a version in
the cache, which every process compares on use: shared by all processes with
``REDIS_URL``; without it (one machine, per-process cache) other processes reload within
``PARTNERDESK_CATALOG_TTL`` seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")


class Snapshot(Generic[T]):
    def __init__(self, name: str, load: Callable[[], T], *, models: list) -> None:
        self.name = name
        self._load = load
        self._key = f"partnerdesk:snapshot:{name}"
        self._value: T | None = None
        self._version = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()
        for model in models:
            for signal in (post_save, post_delete):
                signal.connect(self._changed, sender=model, weak=False)

    def _changed(self, **kwargs) -> None:
        # Now, and again once the change is committed: a process that reloaded in
        # between read the old rows.
        self._bump()
        transaction.on_commit(self._bump, using=kwargs.get("using"))

    def _bump(self) -> None:
        self._value = None
        cache.set(self._key, time.time_ns(), timeout=None)

    def get(self) -> T:
        value = self._value
        version = cache.get(self._key)
        fresh = time.monotonic() - self._loaded_at < settings.PARTNERDESK_CATALOG_TTL
        if value is not None and fresh and version == self._version:
            return value
        with self._lock:
            value = self._load()
            self._value, self._version, self._loaded_at = value, version, time.monotonic()
        return value

    def clear(self) -> None:
        """Forget this process's copy (tests that rewrite the catalog behind the ORM)."""
        self._value = None
