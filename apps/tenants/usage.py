"""What a tenant uses of each of its limits, counted by the app that owns the counted things.

Limits live on the tenant (`tenant_limit`), but what they count lives in other apps: apps,
processes and custom domains in deploy, monitors and webhook endpoints in monitoring, members in
tenants itself. Those apps import tenants, never the other way round (ARCHITECTURE.md §3a), so
each registers a counter here when it loads (its AppConfig.ready); whoever shows usage (the
billing page) asks `apps.tenants.selectors.tenant_usage`, and imports none of them.

A counter runs in the tenant's schema (the request's, or switched to for the call) and costs one
or two queries whatever the tenant holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django_tenants.utils import schema_context


@dataclass(frozen=True)
class UsageCounter:
    """`count(tenant)` is what the limit `name` counts now. `fallback_limit()`, when given, is
    the limit the owning app enforces when the tenant has none (deploy's default processes)."""

    name: str
    count: Callable[[object], int]
    fallback_limit: Callable[[], int | None] | None = None
    in_tenant_schema: bool = True


_COUNTERS: dict[str, UsageCounter] = {}


def usage_counter_register(counter: UsageCounter) -> None:
    """Register (or replace: an app's ready() may run twice in tests) the counter of a limit."""
    _COUNTERS[counter.name] = counter


def usage_counters() -> dict[str, UsageCounter]:
    return dict(_COUNTERS)


def usage_count(counter: UsageCounter, tenant) -> int:
    """The counter's figure for `tenant`, in the tenant's schema when it counts tenant rows."""
    if not counter.in_tenant_schema or connection.schema_name == tenant.schema_name:
        return int(counter.count(tenant))
    with schema_context(tenant.schema_name):
        return int(counter.count(tenant))
