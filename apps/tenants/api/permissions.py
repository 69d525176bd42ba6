"""View permissions of the tenants API, added after the settings' TenantMember/TenantRole.
(Tenant-scoped views: `TenantScopedViewSet` in base.py, with `TenantRequired`.)"""

from rest_framework.permissions import BasePermission

from ..permissions import is_api_key


class PeopleOnly(BasePermission):
    """The view acts for a person (their tenants, their inbox): API keys may not call it."""

    message = "API keys cannot call this endpoint: it acts for a signed-in person."

    def has_permission(self, request, view) -> bool:
        return not is_api_key(request.auth)
