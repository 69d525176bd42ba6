"""Daily aggregates for the operator dashboard's charts: one number per series and UTC day.

Core imports no app (ARCHITECTURE.md §3a), yet the numbers live in the domain apps: sign-ups in
accounts, MRR in billing, deployments in deploy, checks in monitoring, failed deliveries in
webhooks. So each of those apps registers a collector here from its AppConfig.ready()
(`register_daily_metric(name, fn)`, `fn(day) -> number`, or `{dimension: number}` for a split
series such as MRR per currency), and the `core.collect_daily_metrics` beat task asks every
collector for yesterday and today and upserts the answers into `DailyMetric` (public schema):
a re-run overwrites, so the task is idempotent and today's point stays fresh. Rows older than
DAILY_METRICS_RETENTION_DAYS (400) are deleted by the same task. `daily_metrics_backfill`
(service and management command) fills past days from what the domain tables still hold.

Reading them back (`daily_series`) is one query whatever the number of days or series."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import DailyMetric

logger = logging.getLogger(__name__)

Value = float | int | dict[str, float | int]
DEFAULT_RETENTION_DAYS = 400
SCHEMAS_PER_QUERY = 200


@dataclass(frozen=True)
class DailyCollector:
    """`collect(day)` is the series' figure for that UTC day. `title`, `unit` and `kind`
    ("bar" for counts per day, "line" for levels such as MRR) say how the dashboard draws it."""

    name: str
    collect: Callable[[dt.date], Value]
    title: str = ""
    unit: str = ""
    kind: str = "bar"
    order: int = 100


_COLLECTORS: dict[str, DailyCollector] = {}


def register_daily_metric(
    name: str,
    fn: Callable[[dt.date], Value],
    *,
    title: str = "",
    unit: str = "",
    kind: str = "bar",
    order: int = 100,
) -> None:
    """Register (or replace: an app's ready() may run twice in tests) the collector `name`."""
    _COLLECTORS[name] = DailyCollector(name, fn, title or name, unit, kind, order)


def daily_collectors() -> list[DailyCollector]:
    return sorted(_COLLECTORS.values(), key=lambda c: (c.order, c.name))


def retention_days() -> int:
    return int(getattr(settings, "DAILY_METRICS_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


# --- Helpers for the collectors ---------------------------------------------------------------


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the UTC day."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def minutes_of(day: dt.date, *, now: dt.datetime | None = None) -> float:
    """Minutes of `day` that have passed (1440 for a past day; today's so far, at least 1)."""
    start, end = day_bounds(day)
    now = now or timezone.now()
    return max(1.0, (min(now, end) - start).total_seconds() / 60)


def existing_schemas(names: Iterable[str]) -> list[str]:
    """The schemas among `names` that exist (a purged tenant's row may outlive its schema)."""
    wanted = sorted(set(names))
    if not wanted:
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [wanted])
        found = {row[0] for row in cursor.fetchall()}
    return [name for name in wanted if name in found]


def tenant_schema_names() -> list[str]:
    """Every tenant's schema (the tenant model through django-tenants: core imports no app)."""
    from django_tenants.utils import get_tenant_model

    return list(
        get_tenant_model()
        .objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
        .values_list("schema_name", flat=True)
    )


def sum_over_schemas(select: str, params: Sequence, schemas: Sequence[str] | None = None) -> float:
    """The sum of `select` (one row, one number; `{schema}` stands for the quoted schema name)
    over every schema in `schemas` (default: every tenant's): one UNION ALL statement per
    SCHEMAS_PER_QUERY schemas, so a collector visiting every tenant costs a handful of
    queries, not one per tenant."""
    total = 0.0
    names = existing_schemas(tenant_schema_names() if schemas is None else schemas)
    for start in range(0, len(names), SCHEMAS_PER_QUERY):
        batch = names[start : start + SCHEMAS_PER_QUERY]
        parts = [
            "(" + select.replace("{schema}", connection.ops.quote_name(name)) + ")"
            for name in batch
        ]
        with connection.cursor() as cursor:
            union = " UNION ALL ".join(parts)
            cursor.execute(
                f"SELECT COALESCE(SUM(n), 0) FROM ({union}) AS per_schema(n)",
                list(params) * len(batch),
            )
            total += float(cursor.fetchone()[0] or 0)
    return total


# --- Collecting ---------------------------------------------------------------------------------


def _rows(day: dt.date, name: str, value: Value) -> list[tuple[str, float]]:
    if isinstance(value, dict):
        return [(str(dimension), float(v)) for dimension, v in sorted(value.items())]
    return [("", float(value or 0))]


def daily_metrics_collect(
    *, days: Iterable[dt.date], names: Iterable[str] | None = None
) -> dict[str, int]:
    """Ask every collector (or those in `names`) for each day and upsert the answers; a
    series' dimensions the collector no longer reports for that day are deleted. Returns
    {series: rows written}. A collector that fails is logged and skipped (the others still
    write), so one broken app does not blank the dashboard."""
    wanted = set(names) if names is not None else None
    written: dict[str, int] = {}
    now = timezone.now()
    for collector in daily_collectors():
        if wanted is not None and collector.name not in wanted:
            continue
        for day in days:
            started = time.perf_counter()
            try:
                rows = _rows(day, collector.name, collector.collect(day))
            except Exception:
                logger.exception("Daily metric %s failed for %s", collector.name, day)
                continue
            with transaction.atomic():
                for dimension, value in rows:
                    DailyMetric.objects.update_or_create(
                        day=day,
                        name=collector.name,
                        dimension=dimension,
                        defaults={"value": value, "computed_at": now},
                    )
                DailyMetric.objects.filter(day=day, name=collector.name).exclude(
                    dimension__in=[d for d, _ in rows]
                ).delete()
            written[collector.name] = written.get(collector.name, 0) + len(rows)
            logger.debug(
                "Daily metric %s for %s in %.1f ms",
                collector.name,
                day,
                (time.perf_counter() - started) * 1000,
            )
    return written


def daily_metrics_purge(*, today: dt.date | None = None) -> int:
    """Delete the rows older than the retention (400 days by default). Returns how many."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    cutoff = today - dt.timedelta(days=retention_days())
    deleted, _ = DailyMetric.objects.filter(day__lt=cutoff).delete()
    return deleted


def daily_metrics_refresh(*, now: dt.datetime | None = None) -> dict:
    """What the beat task does: yesterday and today, then the purge."""
    today = (now or timezone.now()).astimezone(dt.UTC).date()
    written = daily_metrics_collect(days=[today - dt.timedelta(days=1), today])
    return {"written": written, "purged": daily_metrics_purge(today=today)}


def daily_metrics_backfill(
    *, days: int, names: Iterable[str] | None = None, today: dt.date | None = None
) -> dict[str, int]:
    """Collect the last `days` days up to today (at most the retention), oldest first. Past
    days are computed from what the domain tables still hold: monitor rollups and webhook
    messages have their own, shorter retentions, so older days of those series read 0."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    days = max(1, min(days, retention_days()))
    span = [today - dt.timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    return daily_metrics_collect(days=span, names=names)


# --- Reading ----------------------------------------------------------------------------------


@dataclass
class Series:
    name: str
    title: str
    unit: str
    kind: str
    dimension: str
    days: list[dt.date]
    values: list[float | None]  # None: no row for that day (not collected)

    @property
    def total(self) -> float:
        return sum(v for v in self.values if v is not None)

    @property
    def latest(self) -> float | None:
        return next((v for v in reversed(self.values) if v is not None), None)


def daily_series(*, days: int, today: dt.date | None = None) -> list[Series]:
    """Every registered series over the last `days` days (today included), one query. A split
    series gives one Series per dimension; a series with no row at all gives one empty Series,
    so the dashboard can say it has not been collected yet."""
    today = today or timezone.now().astimezone(dt.UTC).date()
    first = today - dt.timedelta(days=days - 1)
    span = [first + dt.timedelta(days=i) for i in range(days)]
    index = {day: i for i, day in enumerate(span)}
    found: dict[tuple[str, str], list[float | None]] = {}
    for day, name, dimension, value in DailyMetric.objects.filter(
        day__gte=first, day__lte=today
    ).values_list("day", "name", "dimension", "value"):
        found.setdefault((name, dimension), [None] * days)[index[day]] = value
    out: list[Series] = []
    for collector in daily_collectors():
        dimensions = sorted(d for n, d in found if n == collector.name) or [""]
        for dimension in dimensions:
            out.append(
                Series(
                    name=collector.name,
                    title=collector.title,
                    unit=collector.unit,
                    kind=collector.kind,
                    dimension=dimension,
                    days=span,
                    values=found.get((collector.name, dimension), [None] * days),
                )
            )
    return out
