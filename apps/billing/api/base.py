"""What every /api/v1/billing… view shares: the base viewset (tenant-scoped: host or
X-Tenant-ID) that finds the tenant's billing account, and the problem-details
example builder for the schema."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

from apps.core.problems import TITLES
from apps.tenants.api.base import TenantScopedViewSet

from .. import services
from ..models import BillingAccount

UUID_PATTERN = "[0-9a-fA-F-]{32,36}"
BUYERS = "The owner, and admins when the owner allows it (admins_can_buy)."
STAMP = "2026-11-23T10:00:00.000000Z"


def problem_example(status_code: int, slug: str, detail: str, **extra) -> OpenApiExample:
    return OpenApiExample(
        f"{status_code} {slug}",
        value={
            "type": f"/problems/{slug}",
            "title": TITLES.get(slug, slug),
            "status": status_code,
            "detail": detail,
            "instance": "/api/v1/billing/...",
            "request_id": "3f0c1d0a6f7e4a5c9b1e2d3c4b5a6978",
            **extra,
        },
        response_only=True,
        status_codes=[str(status_code)],
    )


class BillingViewSet(TenantScopedViewSet):
    """Billing belongs to a tenant: without one routed, 404 (TenantRequired)."""

    def account(self) -> BillingAccount:
        return services.billing_account_ensure(tenant=self.tenant)
