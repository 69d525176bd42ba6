"""Numbers for the operator console's front page (UNFOLD["DASHBOARD_CALLBACK"]).

Cheap at any number of tenants: two queries on the public schema (users, tenants by status) and
one on nodes; apps and today's deployments come from the cache that `deploy.stats_refresh`
fills every minute (counting them means visiting every tenant schema); checks per minute and
queue depth are Redis reads. The charts over time (sign-ups, MRR, deployments, checks per minute,
failed deliveries) read the daily aggregates: one query on core.DailyMetric for the last 30 or
90 days (`?days=90`), whatever the number of tenants or days."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from apps.core import daily_metrics_charts, heartbeat, metrics
from apps.core.daily_metrics import daily_series
from apps.core.models import Node
from apps.deploy.checks import dashboard_warning
from apps.deploy.stats import platform_stats_cached
from apps.tenants.models import Tenant

logger = logging.getLogger(__name__)

CHART_DAYS = (30, 90)


def _redis_numbers() -> dict:
    return {
        "checks_last_minute": metrics.rate_window("checks", minutes=1),
        "checks_last_hour": metrics.rate_window("checks", minutes=60),
        "queues": metrics.queue_depths(),
        "workers": [
            {"name": name, "age_s": round(age), "alive": age <= settings.WORKER_HEARTBEAT_MAX_AGE_S}
            for name, age in sorted(heartbeat.heartbeats().items())
        ],
    }


def _chart_days(request) -> int:
    try:
        days = int(request.GET.get("days", CHART_DAYS[0]))
    except (TypeError, ValueError):
        return CHART_DAYS[0]
    return days if days in CHART_DAYS else CHART_DAYS[0]


def dashboard_callback(request, context: dict) -> dict:
    users = get_user_model().objects.aggregate(
        active=Count("pk", filter=Q(is_active=True)), staff=Count("pk", filter=Q(is_staff=True))
    )
    nodes = list(Node.objects.all())
    data = {
        "tenants_by_status": list(
            Tenant.objects.values("status").annotate(count=Count("pk")).order_by("status")
        ),
        "users_active": users["active"],
        "users_staff": users["staff"],
        "nodes": nodes,
        "nodes_stale": sum(1 for node in nodes if node.is_stale),
        "node_stale_after_s": settings.NODE_STALE_AFTER_S,
        "platform": None,
        "workers": [],
        "redis_error": "",
        # DEPLOY_SANDBOX=off: apps run unsandboxed (a banner above everything else).
        "sandbox_warning": dashboard_warning(),
    }
    try:
        data["platform"] = platform_stats_cached()
        data.update(_redis_numbers())
    except Exception as exc:
        logger.warning("Dashboard: Redis numbers unavailable", exc_info=True)
        data["redis_error"] = type(exc).__name__
    days = _chart_days(request)
    data["chart_days"] = days
    data["chart_day_choices"] = CHART_DAYS
    data["charts"] = daily_metrics_charts.charts_panel(daily_series(days=days))
    data["charts_source"] = daily_metrics_charts.source_note()
    context["dashboard"] = data
    return context
