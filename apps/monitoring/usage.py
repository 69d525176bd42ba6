"""What a tenant uses of the limits monitoring enforces, for apps.tenants.usage (the billing
page shows it). Registered by MonitoringConfig.ready; one query each in the tenant's schema."""

from __future__ import annotations

from apps.tenants.usage import UsageCounter, usage_counter_register

from .models import Monitor


def _monitors(tenant) -> int:
    return Monitor.objects.count()


def usage_counters_register() -> None:
    usage_counter_register(UsageCounter("monitors", _monitors))
