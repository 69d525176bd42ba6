"""Integrations health for the operator console: is each service Quayside depends on answering?

Probes are plain functions returning a ProbeResult, listed as dotted paths in
settings.INTEGRATION_PROBES (core ships database, Redis and email; billing and deploy add Stripe
and Caddy, since core imports no app). `integrations_check()` runs them in parallel threads, each
time-boxed (INTEGRATION_PROBE_TIMEOUT_S), and caches the answer for INTEGRATION_CACHE_S so a
reloading page does not hammer anything."""

from __future__ import annotations

import concurrent.futures
import smtplib
import time
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections
from django.utils import timezone
from django.utils.module_loading import import_string

from . import metrics

OK, DEGRADED, DOWN, NOT_CONFIGURED = "ok", "degraded", "down", "not_configured"
CACHE_KEY = "integrations:health"
SLOW_MS = 1000
DEV_MAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "apps.core.mail.ConsoleAndFileEmailBackend",
}
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


@dataclass
class ProbeResult:
    name: str
    status: str
    message: str = ""
    latency_ms: float | None = None
    details: dict = field(default_factory=dict)


class Timer:
    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.ms = round((time.perf_counter() - self.started) * 1000, 1)


def _run(path: str) -> ProbeResult:
    name = path.rsplit(".", 1)[-1].removeprefix("probe_")
    try:
        return import_string(path)()
    except Exception as exc:
        return ProbeResult(name, DOWN, f"{type(exc).__name__}: {exc}"[:300])
    finally:
        connections.close_all()  # this thread's own connections


def integrations_check(*, refresh: bool = False) -> dict:
    """{"checked_at": ..., "results": [ProbeResult as dict, ...]} (cached)."""
    if not refresh:
        cached = cache.get(CACHE_KEY)
        if cached is not None:
            return cached
    paths = list(settings.INTEGRATION_PROBES)
    timeout = settings.INTEGRATION_PROBE_TIMEOUT_S
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(len(paths), 1))
    futures = [pool.submit(_run, path) for path in paths]
    deadline = time.monotonic() + timeout
    results = []
    for path, future in zip(paths, futures, strict=True):
        try:
            result = future.result(timeout=max(deadline - time.monotonic(), 0))
        except concurrent.futures.TimeoutError:
            name = path.rsplit(".", 1)[-1].removeprefix("probe_")
            result = ProbeResult(name, DOWN, f"no answer within {timeout:g} s")
        results.append(asdict(result))
    pool.shutdown(wait=False, cancel_futures=True)
    answer = {"checked_at": timezone.now().isoformat(), "results": results}
    cache.set(CACHE_KEY, answer, settings.INTEGRATION_CACHE_S)
    return answer


def latency_status(latency_ms: float) -> str:
    return DEGRADED if latency_ms > SLOW_MS else OK


# --- core's probes --------------------------------------------------------------------------


def probe_database() -> ProbeResult:
    with Timer() as timer, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    return ProbeResult(
        "database",
        latency_status(timer.ms),
        f"PostgreSQL {version}",
        timer.ms,
        {"version": version, "name": connection.settings_dict["NAME"]},
    )


def probe_redis() -> ProbeResult:
    client = metrics.redis_client()
    with Timer() as timer:
        client.ping()
    info = client.info("memory")
    used, limit = info.get("used_memory", 0), info.get("maxmemory", 0)
    status = latency_status(timer.ms)
    message = f"{info.get('used_memory_human', used)} used"
    if limit:
        message += f" of {info.get('maxmemory_human', limit)}"
        if used > 0.9 * limit:
            status = DEGRADED
    return ProbeResult(
        "redis", status, message, timer.ms, {"used_memory": used, "maxmemory": limit}
    )


def probe_email() -> ProbeResult:
    backend = settings.EMAIL_BACKEND
    if backend in DEV_MAIL_BACKENDS:
        return ProbeResult(
            "email", DEGRADED, f"{backend}: mail is not delivered", details={"backend": backend}
        )
    if backend != SMTP_BACKEND:
        return ProbeResult("email", OK, f"{backend} (not probed)", details={"backend": backend})
    timeout = settings.INTEGRATION_PROBE_TIMEOUT_S
    host, port = settings.EMAIL_HOST, settings.EMAIL_PORT
    smtp_class = smtplib.SMTP_SSL if getattr(settings, "EMAIL_USE_SSL", False) else smtplib.SMTP
    with Timer() as timer:
        server = smtp_class(host, port, timeout=timeout)
        try:
            code, _ = server.noop()
        finally:
            server.close()
    status = latency_status(timer.ms) if code == 250 else DEGRADED
    message = f"SMTP {host}:{port} answered NOOP with {code}"
    return ProbeResult("email", status, message, timer.ms, {"backend": backend})
