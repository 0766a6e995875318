"""The API's rate limits (ninja's throttles): per user for those who authenticate, per
client address for everyone else — failed authentications included.

Each limit is a sliding window: at most N calls in any ``duration`` seconds. ninja keeps
the window as a list in the cache, read and written back: two calls at once, in two
processes or two threads, both read N-1 and both pass. Here the check and the count are
one step: with ``REDIS_URL``, one Lua script in Redis (a sorted set of call times, on
Redis's clock), so the limit holds across every web process; without it, the list in the
process's own cache under a lock (one process's threads; each process counts apart)."""

from __future__ import annotations

import threading
import time
import uuid
from functools import cache

import redis
from django.conf import settings
from django.core.cache import cache as django_cache
from ninja.throttling import AnonRateThrottle, AuthRateThrottle

# KEYS[1]: the window; ARGV: duration (s), limit. Returns {allowed, seconds to wait}.
_WINDOW_SCRIPT = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local duration_us = tonumber(ARGV[1]) * 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_us - duration_us)
local allowed = 0
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now_us, now_us .. ':' .. ARGV[3])
  allowed = 1
end
redis.call('PEXPIRE', KEYS[1], math.ceil(duration_us / 1000))
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait_us = duration_us
if oldest[2] then wait_us = duration_us - (now_us - tonumber(oldest[2])) end
return {allowed, tostring(wait_us / 1000000)}
"""
_local_windows = threading.Lock()


@cache
def _redis_window(url: str):
    return redis.Redis.from_url(url, **settings.REDIS_TIMEOUTS).register_script(_WINDOW_SCRIPT)


class _OneStepWindow:
    """Replaces ninja's read-then-write of the window; what a refused caller is told to
    wait is kept per thread (one throttle object serves every thread of a process)."""

    def __init__(self, rate: str | None = None) -> None:
        super().__init__(rate)
        self._waits = threading.local()

    def allow_request(self, request) -> bool:
        key = self.get_cache_key(request)
        if key is None:
            return True
        if settings.REDIS_URL:
            allowed, wait = _redis_window(settings.REDIS_URL)(
                keys=[f"partnerdesk:{key}"], args=[self.duration, self.num_requests, _unique()]
            )
            allowed, wait = bool(allowed), float(wait)
        else:
            allowed, wait = self._local_window(key)
        self._waits.seconds = wait
        return allowed

    def _local_window(self, key: str) -> tuple[bool, float]:
        with _local_windows:
            now = time.time()
            history = [t for t in django_cache.get(key, []) if t > now - self.duration]
            allowed = len(history) < self.num_requests
            if allowed:
                history.insert(0, now)
            django_cache.set(key, history, self.duration)
        return allowed, self.duration - (now - history[-1]) if history else self.duration

    def wait(self) -> float:
        """Seconds until the oldest counted call leaves the window: a client that is
        refused always learns when to come back (Retry-After), at least one second."""
        return max(1.0, getattr(self._waits, "seconds", self.duration))


def _unique() -> str:
    return uuid.uuid4().hex


class UserRate(_OneStepWindow, AuthRateThrottle):
    pass


class ClientRate(_OneStepWindow, AnonRateThrottle):
    pass
