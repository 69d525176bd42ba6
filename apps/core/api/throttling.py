"""Fixed-window rate limits kept in Redis through Django's cache (atomic INCR per window).

Reads and writes have separate budgets per principal: the API key, else the user, else the IP."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from .principals import principal_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    reset_s: int


def parse_rate(rate: str) -> tuple[int, int]:
    """'100/min' -> (100, 60)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0].lower()]


class ScopedRateThrottle(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def get_rate(self, view) -> str | None:
        from rest_framework.settings import api_settings

        rates = getattr(view, "throttle_rates", None) or {}
        return rates.get(self.scope) or api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def applies(self, request) -> bool:
        return True

    def allow_request(self, request, view) -> bool:
        if not self.applies(request):
            return True
        rate = self.get_rate(view)
        if not rate:
            return True
        limit, period = parse_rate(rate)
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{principal_of(request)}:{window}"
        cache.add(key, 0, timeout=period + 1)
        try:
            used = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=period + 1)
            used = 1
        reset_s = max(1, int((window + 1) * period - now + 0.999))
        request._request.ratelimit = RateState(limit, max(0, limit - used), reset_s)
        if used > limit:
            self._wait = reset_s
            return False
        return True

    def wait(self) -> float | None:
        return self._wait


class ReadRateThrottle(ScopedRateThrottle):
    scope = "read"

    def applies(self, request) -> bool:
        return request.method in SAFE_METHODS


class WriteRateThrottle(ScopedRateThrottle):
    scope = "write"

    def applies(self, request) -> bool:
        return request.method not in SAFE_METHODS
