"""View permissions of the tenants API, added after the settings' TenantMember/TenantRole."""

from rest_framework.permissions import BasePermission

from apps.core.problems import InvalidInput

from ..permissions import is_api_key


class TenantContextRequired(BasePermission):
    """The view works inside one tenant, named by the host or `X-Tenant-ID`."""

    def has_permission(self, request, view) -> bool:
        if getattr(request._request, "tenant", None) is None:
            raise InvalidInput(
                "This endpoint works inside a tenant: send X-Tenant-ID (slug or id) or call "
                "the tenant's host.",
                field="X-Tenant-ID",
                code="required",
            )
        return True


class PeopleOnly(BasePermission):
    """The view acts for a person (their tenants, their inbox): API keys may not call it."""

    message = "API keys cannot call this endpoint: it acts for a signed-in person."

    def has_permission(self, request, view) -> bool:
        return not is_api_key(request.auth)


def actor_kwargs(request) -> dict:
    """Who is acting, as services take it for the audit log."""
    return {"actor": request.user, "api_key": request.auth if is_api_key(request.auth) else None}
