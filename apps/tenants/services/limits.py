"""Limits: the entitlements billing writes onto a tenant, the operator's overrides, and the
user limit that members and invitations count against."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from apps.core.actor import SYSTEM, Actor
from apps.core.audit import audit_as
from apps.core.problems import InvalidInput, QuotaExceeded

from .. import selectors
from ..models import Invitation, InvitationStatus, Tenant
from ..resource_limits import resource_limit_problem
from ._common import _tenant_for_update

LIMIT_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _limits_validate(values: dict[str, Any], *, field: str, allow_null: bool) -> None:
    for name, value in values.items():
        if not isinstance(name, str) or not LIMIT_NAME_PATTERN.match(name):
            raise InvalidInput(
                f"'{name}' is not a limit name (lower-case letters, digits, underscores).",
                field=field,
            )
        if value is None and allow_null:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"The limit '{name}' must be a whole number >= 0.", field=field)
        if problem := resource_limit_problem(name, value):
            raise InvalidInput(problem, field=f"{field}.{name}", code="out_of_range")


@transaction.atomic
def tenant_entitlements_set(
    *, tenant: Tenant, entitlements: dict[str, int | None], actor: Actor = SYSTEM
) -> Tenant:
    """Replace the plan's limits (billing calls this when a tenant's plan changes). A null
    value means the plan sets no limit of that name."""
    _limits_validate(entitlements, field="entitlements", allow_null=True)
    # Deleted tenants too: billing refreshes every tenant of a plan and should not trip on one.
    locked = _tenant_for_update(tenant, allow_suspended=True, allow_deleted=True)
    before = dict(locked.entitlements or {})
    if before == entitlements:
        return locked
    locked.entitlements = dict(entitlements)
    locked.save(update_fields=["entitlements", "updated_at"])
    audit_as(
        actor,
        "tenant.entitlements_changed",
        tenant=locked,
        target=locked,
        **{"from": before, "to": locked.entitlements},
    )
    return locked


@transaction.atomic
def tenant_entitlement_overrides_update(
    *, tenant: Tenant, changes: dict[str, int | None], reason: str = "", actor: Actor = SYSTEM
) -> Tenant:
    """An operator's limits for one tenant, merged as a JSON merge patch: a number sets the
    override, null removes it (the plan's entitlement or the default applies again)."""
    _limits_validate(changes, field="overrides", allow_null=True)
    locked = _tenant_for_update(tenant, allow_suspended=True)
    before = dict(locked.entitlement_overrides or {})
    after = dict(before)
    for name, value in changes.items():
        if value is None:
            after.pop(name, None)
        else:
            after[name] = value
    if after == before:
        return locked
    locked.entitlement_overrides = after
    locked.save(update_fields=["entitlement_overrides", "updated_at"])
    audit_as(
        actor,
        "tenant.entitlements_overridden",
        tenant=locked,
        target=locked,
        severity="warning",
        **{"from": before, "to": after, "reason": (reason or "")[:200]},
    )
    return locked


def _check_user_limit(tenant: Tenant, *, excluding: Invitation | None = None) -> None:
    """Refuse one more user (member or pending invitation) over the tenant's `users` limit."""
    allowed = selectors.tenant_limit(tenant, "users")
    if allowed is None:
        return
    used = selectors.tenant_user_count(tenant=tenant)
    if excluding is not None and excluding.current_status == InvitationStatus.PENDING:
        used -= 1
    if used + 1 > allowed:
        raise QuotaExceeded(
            f"This tenant may have {allowed} users (members plus pending invitations) and has "
            f"{used}. Remove a member or revoke an invitation, or raise the limit.",
            extra={"limit": "users", "allowed": allowed, "used": used},
        )
