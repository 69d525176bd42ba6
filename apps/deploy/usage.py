"""What a tenant uses of the limits deploy enforces, for apps.tenants.usage (the billing page
shows it). Registered by DeployConfig.ready; each counter is one query in the tenant's schema."""

from __future__ import annotations

from django.conf import settings

from apps.tenants.usage import UsageCounter, usage_counter_register

from . import selectors
from .models import App, AppDomain


def _apps(tenant) -> int:
    return App.objects.count()


def _processes(tenant) -> int:
    return selectors.process_count_for_tenant()


def _custom_domains(tenant) -> int:
    """Every hostname claimed, verified or not: a pending claim holds a place too."""
    return AppDomain.objects.count()


def _default_processes() -> int:
    return settings.DEPLOY_DEFAULT_MAX_PROCESSES


def usage_counters_register() -> None:
    usage_counter_register(UsageCounter("apps", _apps))
    usage_counter_register(UsageCounter("processes", _processes, fallback_limit=_default_processes))
    usage_counter_register(UsageCounter("custom_domains", _custom_domains))
