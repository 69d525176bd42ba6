"""Heartbeat pings on the root host: `/ping/<uuid>` (success), `/ping/<uuid>/start`,
`/ping/<uuid>/fail`, like Healthchecks.io. No authentication: the secret UUID is the credential.

Fast: one public-schema lookup by token, then one transaction in the tenant's schema. Rate
limited per token and per client IP (fixed one-minute windows in Redis)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_tenants.utils import schema_context

from apps.tenants.models import TenantStatus

from . import services
from .schedule.models import CheckSchedule

EVENTS = {"": "success", "start": "start", "fail": "fail"}


def _plain(text: str, status: int = 200, **headers) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _over_limit(key: str, limit: int) -> int:
    """Seconds until the window resets when `key` is over `limit` this minute, else 0."""
    now = time.time()
    window = int(now // 60)
    full = f"monitoring:ping-rate:{key}:{window}"
    cache.add(full, 0, timeout=70)
    try:
        count = cache.incr(full)
    except ValueError:  # expired between add and incr
        cache.add(full, 1, timeout=70)
        count = 1
    return max(1, int(60 - now % 60)) if count > limit else 0


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def ping(request, token, event: str = ""):
    ip = request.META.get("REMOTE_ADDR", "")
    retry = _over_limit(f"ip:{ip}", settings.MONITORING_PING_IP_RATE_PER_MIN) or _over_limit(
        f"token:{token}", settings.MONITORING_PING_RATE_PER_MIN
    )
    if retry:
        return _plain("rate limited", 429, Retry_After=str(retry))
    row = (
        CheckSchedule.objects.select_related("tenant")
        .filter(ping_token=token)
        .only("monitor_id", "tenant__schema_name", "tenant__status", "tenant__slug")
        .first()
    )
    if row is None or row.tenant.status in (TenantStatus.DELETED, TenantStatus.PROVISIONING):
        return _plain("not found", 404)
    with schema_context(row.tenant.schema_name):
        try:
            services.heartbeat_ping(tenant=row.tenant, monitor_id=row.monitor_id,
                                    event=EVENTS[event])  # fmt: skip
        except services.PingNotFound:
            return _plain("not found", 404)
    return _plain("OK")
