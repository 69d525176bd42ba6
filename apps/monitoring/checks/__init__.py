"""Check implementations: async functions from a CheckSpec to an Outcome, one per kind, found in
the CHECKS registry. They touch no database (the scheduler reads before and writes after) and
share no connection (each check opens its own)."""

from __future__ import annotations

import asyncio
import time

from apps.core.net import BlockedTarget

from .base import CheckSpec, Outcome
from .http import check_http
from .tcp import check_tcp, check_tls

CHECKS = {"http": check_http, "tcp": check_tcp, "tls": check_tls}

__all__ = ["CHECKS", "CheckSpec", "Outcome", "run_check"]


async def run_check(spec: CheckSpec) -> Outcome:
    """Run one check within its timeout; never raises."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(spec.timeout_s + 1):  # no extra task, unlike wait_for
            return await CHECKS[spec.kind](spec)
    except BlockedTarget as exc:
        return Outcome(ok=False, error=f"Refused: {exc}")
    except TimeoutError:
        return Outcome(ok=False, error=f"Timed out after {spec.timeout_s} s.")
    except Exception as exc:
        elapsed = int((time.perf_counter() - started) * 1000)
        return Outcome(ok=False, response_ms=elapsed, error=f"{type(exc).__name__}: {exc}"[:500])
