"""Fixed-window rate limits kept in Redis through Django's cache (atomic INCR per window).

Reads and writes have separate budgets per principal: the API key, else the user, else the IP.
Other budgets (the tenant's `api_requests_per_min`, apps/tenants/api/throttling.py) count with
`window_hit()` and report with `ratelimit_record()`, so that the RateLimit-* headers
(ApiHeadersMiddleware) describe the one budget closest to running out."""

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
    exceeded: bool = False  # this request was over the limit (it is refused)


def parse_rate(rate: str) -> tuple[int, int]:
    """'100/min' -> (100, 60)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0].lower()]


def _window(name: str, period: int) -> tuple[str, int]:
    """The cache key of the budget `name`'s current window, and seconds until it ends."""
    now = time.time()
    window = int(now // period)
    return f"{name}:{window}", max(1, int((window + 1) * period - now + 0.999))


def window_hit(name: str, *, limit: int, period: int) -> RateState:
    """Count one request against the budget `name` (`limit` per `period` seconds, in fixed
    windows aligned on the clock) and say where it stands. Refused requests count too."""
    key, reset_s = _window(name, period)
    cache.add(key, 0, timeout=period + 1)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=period + 1)
        used = 1
    return RateState(limit, max(0, limit - used), reset_s, exceeded=used > limit)


def window_state(name: str, *, limit: int, period: int) -> RateState:
    """Where the budget `name` stands, counting nothing (`exceeded`: it is used up)."""
    key, reset_s = _window(name, period)
    used = cache.get(key) or 0
    return RateState(limit, max(0, limit - used), reset_s, exceeded=used >= limit)


def _urgency(state: RateState) -> tuple[bool, int, int]:
    return (not state.exceeded, state.remaining, -state.reset_s)


def ratelimit_record(request, state: RateState) -> None:
    """Leave `state` on the request for the RateLimit-* headers unless a budget already there
    is closer to running out. Closest: one this request exceeded, then the fewest requests
    remaining, then the later reset (so that on a 429 RateLimit-Reset agrees with Retry-After,
    which DRF takes as the longest wait of the throttles that refused)."""
    raw = getattr(request, "_request", request)
    current = getattr(raw, "ratelimit", None)
    if current is None or _urgency(state) < _urgency(current):
        raw.ratelimit = state


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
        state = window_hit(
            f"throttle:{self.scope}:{principal_of(request)}", limit=limit, period=period
        )
        ratelimit_record(request, state)
        if state.exceeded:
            self._wait = state.reset_s
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
