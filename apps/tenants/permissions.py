"""Tenant access for the API.

`TenantMember` runs before every view's own permissions (settings.TENANT_ACCESS_PERMISSION). On a
request routed to a tenant (host or X-Tenant-ID) it admits members, API keys of that tenant, and
operators (audited); anyone else gets 404, as if the tenant did not exist. It leaves on the request:
  request.tenant_role   owner|admin|member|viewer (keys: their authority; operators: admin)
  request.membership    the caller's Membership, or None for keys and operators
Writes to a suspended tenant answer 423.

`TenantRole` then applies the view's `required_roles` ({action: minimum role}); without an entry,
reads need `viewer` and writes `member`.

`TenantRequired` is the view permission of every tenant-scoped resource (apps, monitors, keys,
billing, members, …; apps/tenants/api/base.py puts it on `TenantScopedViewSet`): on the root host
without X-Tenant-ID there is no such resource, so 404, the same answer from every app.
"""

from django.core.cache import cache
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from apps.core.audit import audit_record
from apps.core.platform_config import config_get
from apps.core.problems import TenantSuspended

from .models import Membership, Role, TenantStatus
from .roles import role_at_least

OPERATOR_ENTRY_AUDIT_EVERY_S = 3600


def is_api_key(auth) -> bool:
    return bool(getattr(auth, "is_api_key", False))


class TenantMember(BasePermission):
    def has_permission(self, request, view) -> bool:
        tenant = getattr(request._request, "tenant", None)
        request.tenant_role = None
        request.membership = None
        if tenant is None:  # a public-schema route
            if is_api_key(request.auth):
                raise PermissionDenied(
                    "API keys act inside their tenant: send X-Tenant-ID or use the tenant host."
                )
            return True
        request.tenant_role = self._role(request, tenant)
        # Views that must work while suspended (paying the overdue bill) say so.
        if (
            tenant.status == TenantStatus.SUSPENDED
            and request.method not in SAFE_METHODS
            and not getattr(view, "allowed_when_suspended", False)
        ):
            raise TenantSuspended("This tenant is suspended: it can be read but not changed.")
        return True

    def _role(self, request, tenant) -> str:
        auth = request.auth
        if is_api_key(auth):
            if auth.tenant_id == tenant.pk:
                return auth.authority
            raise NotFound("No such tenant.")
        role, request.membership = person_role(request.user, tenant)
        if role is None:
            raise NotFound("No such tenant.")
        return role


def person_role(user, tenant) -> tuple[str | None, Membership | None]:
    """A signed-in person's role in `tenant` and their membership: a member's own role, or for
    an operator the `tenants.operator_role` config variable (the entry is audited); (None, None)
    for anyone else. The API (TenantMember) and the tenant console both decide with it."""
    if user is None or not user.is_authenticated:
        return None, None
    membership = Membership.objects.filter(tenant=tenant, user=user).first()
    if membership is not None:
        return membership.role, membership
    if user.is_staff:
        operator_entry_audit(user, tenant)
        return config_get("tenants.operator_role"), None
    return None, None


class TenantRequired(BasePermission):
    """The view works inside one tenant, named by the host or `X-Tenant-ID`: without one, 404."""

    MESSAGE = (
        "This lives in a tenant: send X-Tenant-ID (the tenant's slug or id) or call the "
        "tenant's host."
    )

    def has_permission(self, request, view) -> bool:
        if getattr(request._request, "tenant", None) is None:
            raise NotFound(self.MESSAGE)
        return True


class TenantRole(BasePermission):
    message = "Your role in this tenant does not allow this."

    def has_permission(self, request, view) -> bool:
        role = getattr(request, "tenant_role", None)
        if role is None:  # public route: the view checks what it needs itself
            return True
        required = getattr(view, "required_roles", {}).get(getattr(view, "action", None))
        if required is None:
            required = Role.VIEWER if request.method in SAFE_METHODS else Role.MEMBER
        return role_at_least(role, required)


def operator_entry_audit(user, tenant) -> None:
    if cache.add(f"operator-entry:{user.pk}:{tenant.pk}", 1, timeout=OPERATOR_ENTRY_AUDIT_EVERY_S):
        audit_record(
            action="tenant.operator_entered", actor=user, tenant=tenant, severity="warning"
        )
