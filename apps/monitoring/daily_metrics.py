"""The operator dashboard's checks per minute (a collector of apps.core.daily_metrics).

The day's average: checks counted in the hourly uptime rollups of every tenant (kept far longer
than the raw results, and a few rows per monitor and day instead of one per check), divided by
the minutes of the day (so far, for today). One UNION ALL statement per 200 schemas."""

from __future__ import annotations

import datetime as dt

from apps.core.daily_metrics import day_bounds, minutes_of, register_daily_metric, sum_over_schemas

_CHECKS = (
    "SELECT COALESCE(SUM(checks), 0) FROM {schema}.monitoring_uptimerollup"
    " WHERE hour >= %s AND hour < %s"
)


def checks_per_minute_on(day: dt.date) -> float:
    start, end = day_bounds(day)
    checks = sum_over_schemas(_CHECKS, [start, end])
    return round(checks / minutes_of(day), 3)


def register() -> None:
    register_daily_metric(
        "checks_per_minute",
        checks_per_minute_on,
        title="Checks per minute (daily average)",
        unit="checks/min",
        kind="line",
        order=40,
    )
