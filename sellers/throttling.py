"""API rate limits, counted per API key in the shared cache."""

import math

from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from sellers.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """`DEFAULT_THROTTLE_RATES["api_key"]` requests per key in each window of the rate's
    period (a calendar minute for "n/min"); beyond, 429 with Retry-After, the seconds to the
    next window. Requests without a key are refused before they count (401).

    One counter per key and window, created by `cache.add` and counted by `cache.incr`,
    both atomic in Redis and in the local-memory cache: however many requests arrive at
    once, exactly the limit get through. (DRF's throttle reads a list of times, appends and
    writes it back, so that requests at once each read the same list.) A burst across the
    turn of a window may see up to twice the limit in a short span (docs/decisions.md).
    """

    scope = "api_key"

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        # Kept a window longer than it counts, so that it cannot expire between the add and
        # the increment of a request late in its window.
        timeout = math.ceil(self.window_ends - self.now) + self.duration
        return self._count(f"{key}:{window}", timeout) <= self.num_requests

    @staticmethod
    def _count(key: str, timeout: int) -> int:
        cache.add(key, 0, timeout)
        try:
            return cache.incr(key)
        except ValueError:  # evicted since the add (the local cache culls when full)
            cache.add(key, 0, timeout)
            return cache.incr(key)

    def wait(self) -> float:
        return self.window_ends - self.now
