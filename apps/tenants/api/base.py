"""The base of every API viewset whose resources live in one tenant (apps, monitors, API keys,
billing, members, invitations, audit events, …).

`TenantScopedViewSet` needs a signed-in caller and a tenant (host or `X-Tenant-ID`): without a
tenant every such endpoint answers the same 404 (`TenantRequired`). Membership and roles are
checked before it, on every view (settings.TENANT_ACCESS_PERMISSIONS). It offers the tenant and
who is acting: `actor()`, the apps.core.actor.Actor every app's services take."""

from __future__ import annotations

from rest_framework.permissions import IsAuthenticated

from apps.core.actor import Actor
from apps.core.api.views import GenericViewSet

from ..models import Tenant
from ..permissions import TenantRequired, is_api_key


class TenantScopedViewSet(GenericViewSet):
    permission_classes = [IsAuthenticated, TenantRequired]

    @property
    def tenant(self) -> Tenant:
        """The tenant the request is routed to (TenantRequired has made sure there is one)."""
        return self.request._request.tenant

    @property
    def acting_api_key(self):
        """The API key making the call, or None when a person makes it."""
        auth = self.request.auth
        return auth if is_api_key(auth) else None

    @property
    def acting_user(self):
        """The person making the call, or None when an API key makes it."""
        return None if is_api_key(self.request.auth) else self.request.user

    def actor(self) -> Actor:
        """Who is acting (a person or an API key) and their role in the tenant."""
        return Actor.from_request(self.request)
