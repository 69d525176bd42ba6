"""The tenant's `api_requests_per_min`: one fixed-window budget per tenant, shared by every
principal, over every API operation routed to that tenant (reads and writes alike).

It runs beside core's per-principal read and write throttles (all are in
DEFAULT_THROTTLE_CLASSES), with the same Redis counters (core's `window_hit`). DRF checks
throttles after authentication and permissions, so only requests admitted to the tenant (its
members, its API keys, operators acting on it) spend its budget: an outsider sending
`X-Tenant-ID` gets 404 and cannot use up another tenant's minute.

Not counted: requests with no tenant, and the operator-only `/api/v1/admin/` routes, which are
platform-wide even when a tenant header comes along (an operator lifting a tenant's limit must
not be held back by that tenant's spent budget). `THROTTLE_TENANT_ENABLED` turns it off (the
test settings do, since a tenant on the free plan carries a limit)."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from apps.core.api.throttling import ratelimit_record, window_hit

from ..selectors import tenant_limit

LIMIT = "api_requests_per_min"  # the entitlement name billing writes onto the tenant
PERIOD_S = 60
OPERATOR_PREFIX = "/api/v1/admin/"


class TenantRateThrottle(BaseThrottle):
    def __init__(self) -> None:
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        if not settings.THROTTLE_TENANT_ENABLED:
            return True
        tenant = getattr(request._request, "tenant", None)
        if tenant is None or request.path_info.startswith(OPERATOR_PREFIX):
            return True
        limit = tenant_limit(tenant, LIMIT)
        if limit is None:  # null or absent: unlimited
            return True
        state = window_hit(f"throttle:tenant:{tenant.pk}", limit=limit, period=PERIOD_S)
        ratelimit_record(request, state)
        if state.exceeded:
            self._wait = state.reset_s
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
