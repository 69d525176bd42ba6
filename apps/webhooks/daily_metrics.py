"""The operator dashboard's failed webhook deliveries per day (a collector of
apps.core.daily_metrics).

A failed delivery is an outgoing message that ended `failed` (retries exhausted, the endpoint
disabled, or a failed test send), dated by its last attempt. One UNION ALL statement per 200
tenant schemas. Messages are purged after their own retention, so a backfill reads 0 before it."""

from __future__ import annotations

import datetime as dt

from apps.core.daily_metrics import day_bounds, register_daily_metric, sum_over_schemas

from .models import WebhookMessage, WebhookMessageStatus

_TABLE = WebhookMessage._meta.db_table
_FAILED = (
    "SELECT count(*) FROM {schema}." + _TABLE + " WHERE status = %s"
    " AND COALESCE(last_attempt_at, created_at) >= %s"
    " AND COALESCE(last_attempt_at, created_at) < %s"
    " AND created_at < %s"  # implied; lets the created_at index narrow the scan
)


def failed_deliveries_on(day: dt.date) -> int:
    start, end = day_bounds(day)
    return int(sum_over_schemas(_FAILED, [WebhookMessageStatus.FAILED.value, start, end, end]))


def register() -> None:
    register_daily_metric(
        "failed_deliveries",
        failed_deliveries_on,
        title="Failed webhook deliveries per day",
        unit="messages",
        kind="bar",
        order=50,
    )
