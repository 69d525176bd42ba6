"""The plan that lifts a limit, for quota-exceeded problems raised by any app.

Limits are enforced where they are used (tenants, deploy, monitoring), which do not import
billing (ARCHITECTURE.md §3a). They raise `QuotaExceeded` with `extra={"limit": <name>,
"allowed": <n>, ...}`; this hook, registered with core's problem extensions when the billing app
loads, adds `upgrade_plan` (the cheapest public plan whose limit is higher) to the answer."""

from __future__ import annotations

from typing import Any

from apps.core.problems import ApplicationError, QuotaExceeded

from . import selectors


def quota_upgrade_hint(exc: ApplicationError) -> dict[str, Any]:
    if not isinstance(exc, QuotaExceeded):
        return {}
    name, allowed = exc.extra.get("limit"), exc.extra.get("allowed")
    if not isinstance(name, str) or not isinstance(allowed, int):
        return {}
    plan = selectors.plan_lifting_limit(name, allowed)
    if plan is None:
        return {"upgrade_plan": None}
    return {
        "upgrade_plan": {
            "id": str(plan.pk),
            "slug": plan.slug,
            "name": plan.name,
            "limit": plan.entitlements()[name],
        }
    }
