"""Platform-wide counts of apps and of today's deployments, for the operator dashboard.

Apps live in tenant schemas, so counting them means visiting every schema: one UNION ALL per
200 schemas (selectors._union). That is fine every minute in a beat task (`deploy.stats_refresh`)
and not on every dashboard view, which reads the last result from the cache (one Redis GET)."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict

from django.core.cache import cache
from django.utils import timezone

from .selectors import _union, tenant_schemas

CACHE_KEY = "deploy:platform-stats"
CACHE_TTL_S = 3600

_COUNTS = (
    "SELECT %s, kind, key, n FROM ("
    " SELECT 'app' AS kind, status AS key, count(*) AS n FROM {schema}.deploy_app GROUP BY status"
    " UNION ALL"
    " SELECT 'deployment', state, count(*) FROM {schema}.deploy_deployment"
    " WHERE created_at >= %s GROUP BY state"
    ") AS counts"
)


def platform_counts(*, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    day_start = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    started = time.perf_counter()
    schemas = tenant_schemas()
    totals: dict[str, dict[str, int]] = {"app": defaultdict(int), "deployment": defaultdict(int)}
    for _schema, kind, key, n in _union(_COUNTS, [day_start], schemas):
        totals[kind][key] += n
    return {
        "apps": dict(totals["app"]),
        "apps_total": sum(totals["app"].values()),
        "deployments_today": dict(totals["deployment"]),
        "deployments_today_total": sum(totals["deployment"].values()),
        "schemas": len(schemas),
        "computed_at": now.isoformat(),
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def platform_stats_refresh() -> dict:
    stats = platform_counts()
    cache.set(CACHE_KEY, stats, CACHE_TTL_S)
    return stats


def platform_stats_cached() -> dict | None:
    return cache.get(CACHE_KEY)
