"""Shared by the tenants services: their errors, the tenant row lock, and the role check."""

from __future__ import annotations

from apps.core.problems import ApplicationError, TenantSuspended

from ..models import Tenant, TenantStatus
from ..roles import role_at_least


class NotFound(ApplicationError):
    status = 404
    slug = "not-found"


class RoleForbids(ApplicationError):
    """The caller's role in the tenant does not allow this change."""

    status = 403
    slug = "permission-denied"


def _tenant_for_update(
    tenant: Tenant, *, allow_suspended: bool = False, allow_deleted: bool = False
) -> Tenant:
    """Lock the tenant row: changes to one tenant's people and lifecycle happen one at a time,
    so two requests cannot both take the last seat or both transfer ownership."""
    locked = Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    if locked is None or (locked.status == TenantStatus.DELETED and not allow_deleted):
        raise NotFound("No such tenant.")
    if locked.status == TenantStatus.SUSPENDED and not allow_suspended:
        raise TenantSuspended("This tenant is suspended: it can be read but not changed.")
    return locked


def _require_role(actor_role: str | None, minimum: str, message: str) -> None:
    if not role_at_least(actor_role, minimum):
        raise RoleForbids(message)
