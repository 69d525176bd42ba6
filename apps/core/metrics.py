"""Our own Prometheus metrics, correct across processes (web, every Celery worker).

Counters live in Redis, one hash per metric (`<prefix>:metrics:<name>`, field = the label values
as JSON), so any process can `metric_inc(...)` and any web process can expose the totals: the
scrape-time collector below reads them back. Gauges (tenants, nodes, queue depth) are computed
at scrape time by the functions in settings.METRICS_COLLECTORS, so core needs no app's models.

Per-minute rates for the operator dashboard (`rate_add`, `rate_window`) are plain Redis counters
keyed by minute that expire after two hours."""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator

import redis
from django.conf import settings
from django.db.models import Count, Q
from django.utils.module_loading import import_string
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

logger = logging.getLogger(__name__)

# name -> (help, label names). metric_inc refuses names not declared here (a typo would
# otherwise make a series nobody scrapes).
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "quayside_checks_total": ("Monitor checks run by the scheduler, by result.", ("result",)),
    "quayside_deployments_total": (
        "Deployments that finished, by outcome (live, failed, canceled).",
        ("outcome",),
    ),
    "quayside_stripe_events_total": (
        "Stripe webhook events processed, by event type and outcome.",
        ("type", "outcome"),
    ),
    "quayside_webhook_deliveries_total": (
        "Outgoing webhook delivery attempts, by outcome.",
        ("outcome",),
    ),
}
RATE_KEEP_S = 2 * 3600
__all__ = ["CONTENT_TYPE_LATEST", "metric_inc", "rate_add", "rate_window"]


def _prefix() -> str:
    return settings.CACHES["default"].get("KEY_PREFIX", "qs")


@functools.lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # One pool per process and URL (redis-py resets the pool in a forked child).
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def metric_key(name: str) -> str:
    return f"{_prefix()}:metrics:{name}"


def metric_inc(name: str, amount: int = 1, **labels: str) -> None:
    """Add `amount` to the counter `name` with these labels. Never raises: a metric is not worth
    failing the caller's work for."""
    try:
        _help, names = COUNTERS[name]
        unknown = set(labels) - set(names)
        if unknown:
            raise ValueError(f"labels {sorted(unknown)} are not declared for {name}")
        field = json.dumps([str(labels.get(label, "")) for label in names])
        redis_client().hincrby(metric_key(name), field, int(amount))
    except Exception:
        logger.warning("Could not count metric %s", name, exc_info=True)


def counter_values(name: str) -> dict[tuple[str, ...], int]:
    raw = redis_client().hgetall(metric_key(name))
    return {tuple(json.loads(field)): int(value) for field, value in raw.items()}


# --- Per-minute rates (dashboard) -----------------------------------------------------------


def _rate_key(name: str, minute: int) -> str:
    return f"{_prefix()}:rate:{name}:{minute}"


def rate_add(name: str, amount: int = 1, *, now: float | None = None) -> None:
    """Count `amount` events in the current minute. Never raises."""
    try:
        key = _rate_key(name, int((now or time.time()) // 60))
        pipe = redis_client().pipeline(transaction=False)
        pipe.incrby(key, int(amount))
        pipe.expire(key, RATE_KEEP_S)
        pipe.execute()
    except Exception:
        logger.warning("Could not count rate %s", name, exc_info=True)


def rate_window(name: str, *, minutes: int, now: float | None = None) -> int:
    """Events in the last `minutes` whole minutes (the current, partial minute excluded)."""
    current = int((now or time.time()) // 60)
    keys = [_rate_key(name, current - back) for back in range(1, minutes + 1)]
    return sum(int(v) for v in redis_client().mget(keys) if v is not None)


# --- Celery queues --------------------------------------------------------------------------


def queue_names() -> list[str]:
    """METRICS_QUEUES, else the default queue and every queue a task route names."""
    if settings.METRICS_QUEUES:
        return list(settings.METRICS_QUEUES)
    names = [getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")]
    for route in (getattr(settings, "CELERY_TASK_ROUTES", None) or {}).values():
        queue = route.get("queue") if isinstance(route, dict) else None
        if queue and queue not in names:
            names.append(queue)
    return names


def queue_depths() -> dict[str, int]:
    """Messages waiting in each Celery queue (LLEN on a Redis broker; {} for other brokers)."""
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return {}
    names = queue_names()
    pipe = _client(url).pipeline(transaction=False)
    for queue in names:
        pipe.llen(queue)
    return dict(zip(names, (int(n) for n in pipe.execute()), strict=True))


# --- Scrape ---------------------------------------------------------------------------------


def collect_counters() -> Iterator[Metric]:
    for name, (help_text, labels) in COUNTERS.items():
        family = CounterMetricFamily(name, help_text, labels=labels)
        for values, count in sorted(counter_values(name).items()):
            if len(values) == len(labels):
                family.add_metric(list(values), count)
        yield family


def collect_nodes() -> Iterator[Metric]:
    from .models import Node, NodeKind
    from .nodes import stale_cutoff

    rows = Node.objects.values("kind").annotate(
        total=Count("pk"), stale=Count("pk", filter=Q(last_seen_at__lt=stale_cutoff()))
    )
    counts = {row["kind"]: (row["total"] - row["stale"], row["stale"]) for row in rows.order_by()}
    family = GaugeMetricFamily(
        "quayside_nodes", "Nodes that report in, by kind and staleness.", labels=("kind", "stale")
    )
    for kind in NodeKind.values:
        fresh, stale = counts.get(kind, (0, 0))
        family.add_metric([kind, "false"], fresh)
        family.add_metric([kind, "true"], stale)
    yield family


def collect_queues() -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "quayside_queue_depth", "Messages waiting in a Celery queue.", labels=("queue",)
    )
    for queue, depth in queue_depths().items():
        family.add_metric([queue], depth)
    yield family


class QuaysideCollector:
    """Our counters plus the gauges of settings.METRICS_COLLECTORS; one failing source is
    logged and left out, the rest are still exposed."""

    def collect(self) -> Iterable[Metric]:
        sources = [collect_counters, *(import_string(p) for p in settings.METRICS_COLLECTORS)]
        for source in sources:
            try:
                families = list(source())
            except Exception:
                logger.exception("Metrics source %s failed", getattr(source, "__name__", source))
                continue
            yield from families


def exposition() -> bytes:
    """The /metrics page: django-prometheus' metrics (every web process's when
    PROMETHEUS_MULTIPROC_DIR is set) followed by ours."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        base = CollectorRegistry()
        multiprocess.MultiProcessCollector(base)
    else:
        base = REGISTRY
    ours = CollectorRegistry(auto_describe=False)
    ours.register(QuaysideCollector())
    return generate_latest(base) + generate_latest(ours)
