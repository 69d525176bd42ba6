"""Readiness checks: each returns (ok, detail). /readyz answers 503 when any fails."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from . import heartbeat

Check = Callable[[], tuple[bool, dict]]
_migrations_ok_until = 0.0
MIGRATIONS_CACHE_S = 30


def check_database() -> tuple[bool, dict]:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return True, {"latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def check_redis() -> tuple[bool, dict]:
    started = time.perf_counter()
    heartbeat.redis_client().ping()
    return True, {"latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def check_migrations() -> tuple[bool, dict]:
    """No unapplied migration in the public schema (cached for a while once true)."""
    global _migrations_ok_until
    if time.monotonic() < _migrations_ok_until:
        return True, {"unapplied": 0}
    connection.set_schema_to_public()
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return False, {"unapplied": len(plan), "hint": "run `manage.py release`"}
    _migrations_ok_until = time.monotonic() + MIGRATIONS_CACHE_S
    return True, {"unapplied": 0}


def check_worker() -> tuple[bool, dict]:
    ages = heartbeat.heartbeats()
    limit = settings.WORKER_HEARTBEAT_MAX_AGE_S
    alive = {name: round(age, 1) for name, age in ages.items() if age <= limit}
    if not alive:
        newest = round(min(ages.values()), 1) if ages else None
        return False, {"workers": 0, "newest_heartbeat_age_s": newest, "max_age_s": limit}
    return True, {"workers": len(alive), "newest_heartbeat_age_s": min(alive.values())}


CHECKS: dict[str, Check] = {
    "database": check_database,
    "redis": check_redis,
    "migrations": check_migrations,
    "worker": check_worker,
}


def readiness() -> tuple[bool, dict[str, dict]]:
    results: dict[str, dict] = {}
    for name, check in CHECKS.items():
        try:
            ok, detail = check()
        except Exception as exc:
            ok, detail = False, {"error": type(exc).__name__}
        results[name] = {"status": "ok" if ok else "fail", **detail}
    return all(r["status"] == "ok" for r in results.values()), results
