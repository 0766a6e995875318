"""The API's rate limits (ninja's throttles, counters in the cache): per user for those who
authenticate, per client address for everyone else — failed authentications included."""

from __future__ import annotations

from ninja.throttling import AnonRateThrottle, AuthRateThrottle


class _AlwaysWaits:
    def wait(self) -> float:
        """Seconds until the oldest counted request leaves the window: a client that is
        refused always learns when to come back (Retry-After)."""
        history = getattr(self, "history", None)
        if not history:
            return float(self.duration)
        return max(1.0, self.duration - (self.now - history[-1]))


class UserRate(_AlwaysWaits, AuthRateThrottle):
    pass


class ClientRate(_AlwaysWaits, AnonRateThrottle):
    pass
