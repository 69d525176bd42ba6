"""Tenant gauges for /metrics (listed in settings.METRICS_COLLECTORS)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from .models import Tenant, TenantStatus


def collect_tenants() -> Iterator[Metric]:
    counts = dict(Tenant.objects.values_list("status").annotate(n=Count("pk")).order_by())
    family = GaugeMetricFamily("quayside_tenants", "Tenants by status.", labels=("status",))
    for status in TenantStatus.values:
        family.add_metric([status], counts.get(status, 0))
    yield family
