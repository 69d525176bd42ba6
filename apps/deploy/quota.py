"""Deploy's count limits, `apps` and `custom_domains` (the entitlement names billing writes onto
the tenant; read through tenants' `tenant_limit`, as every quota is: deploy does not import
billing). The `processes` limit, a sum rather than a count, is `services.check_process_quota`.

A check takes the per-tenant advisory lock of its limit (`quota:<tenant id>:<name>`, as
monitoring's and the webhooks' do) before counting, and keeps it until the transaction ends:
two creates at once cannot both take the last free place. Only new objects are refused; after a
downgrade the tenant keeps what it has above the new limit."""

from __future__ import annotations

from collections.abc import Callable

from apps.core.locks import advisory_xact_lock
from apps.core.problems import QuotaExceeded
from apps.tenants.selectors import tenant_limit

from . import selectors

APP_LIMIT = "apps"
DOMAIN_LIMIT = "custom_domains"


def _quota_check_one_more(*, tenant, name: str, count: Callable[[], int], what: str) -> None:
    """Refuse one more of what `count` counts beyond the tenant's limit `name` (409
    quota-exceeded with `limit`, `allowed` and `used`; billing adds `upgrade_plan`). Must run
    inside the transaction that then creates the object."""
    limit = tenant_limit(tenant, name)
    if limit is None:
        return
    advisory_xact_lock(f"quota:{tenant.pk}:{name}")
    used = count()
    if used >= limit:
        raise QuotaExceeded(
            f"Your plan allows {limit} {what}; this tenant has {used}. Remove one, or move to "
            "a plan that allows more.",
            extra={"limit": name, "allowed": limit, "used": used},
        )


def check_app_quota(*, tenant) -> None:
    _quota_check_one_more(
        tenant=tenant, name=APP_LIMIT, count=selectors.app_count_for_tenant, what="apps"
    )


def check_domain_quota(*, tenant) -> None:
    _quota_check_one_more(
        tenant=tenant,
        name=DOMAIN_LIMIT,
        count=selectors.custom_domain_count_for_tenant,
        what="custom domains (pending and verified)",
    )
