"""The operator dashboard's deployments per day (a collector of apps.core.daily_metrics).

Deployments live in the tenants' schemas: one UNION ALL statement per 200 schemas counts them
all (apps.core.daily_metrics.sum_over_schemas), never a query per tenant."""

from __future__ import annotations

import datetime as dt

from apps.core.daily_metrics import day_bounds, register_daily_metric, sum_over_schemas

_COUNT = (
    "SELECT count(*) FROM {schema}.deploy_deployment WHERE created_at >= %s AND created_at < %s"
)


def deployments_on(day: dt.date) -> int:
    """Deployments started (created) that UTC day, in every tenant, whatever their outcome."""
    start, end = day_bounds(day)
    return int(sum_over_schemas(_COUNT, [start, end]))


def register() -> None:
    register_daily_metric(
        "deployments",
        deployments_on,
        title="Deployments per day",
        unit="deployments",
        kind="bar",
        order=30,
    )
