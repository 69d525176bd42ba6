"""What a tenant uses of the limits outgoing webhooks enforce, for apps.tenants.usage (the
billing page shows it). Registered by WebhooksConfig.ready; one query in the tenant's schema."""

from __future__ import annotations

from apps.tenants.usage import UsageCounter, usage_counter_register

from .models import WebhookEndpoint


def _webhook_endpoints(tenant) -> int:
    return WebhookEndpoint.objects.count()


def usage_counters_register() -> None:
    usage_counter_register(UsageCounter("webhook_endpoints", _webhook_endpoints))
