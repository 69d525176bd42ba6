from __future__ import annotations

import uuid

from django.db.models import QuerySet

from .models import Domain, Membership, Tenant, TenantStatus


def tenants_routable() -> QuerySet[Tenant]:
    """Tenants a request may be routed to (deleted ones answer 404)."""
    return Tenant.objects.exclude(status__in=[TenantStatus.DELETED, TenantStatus.PROVISIONING])


def tenant_get_by_host(host: str) -> Tenant | None:
    domain = (
        Domain.objects.select_related("tenant")
        .filter(domain=host.lower())
        .exclude(tenant__status__in=[TenantStatus.DELETED, TenantStatus.PROVISIONING])
        .first()
    )
    return domain.tenant if domain else None


def tenant_get_by_ident(ident: str) -> Tenant | None:
    """`X-Tenant-ID` holds a tenant's slug or id."""
    ident = ident.strip()
    try:
        return tenants_routable().filter(pk=uuid.UUID(ident)).first()
    except ValueError:
        return tenants_routable().filter(slug=ident.lower()).first()


def memberships_for_user(*, user) -> QuerySet[Membership]:
    """The caller's tenants, one membership row each (role included), in one query."""
    return (
        Membership.objects.filter(user=user)
        .exclude(tenant__status=TenantStatus.DELETED)
        .select_related("tenant")
    )


def membership_get(*, user, tenant_ident: str) -> Membership | None:
    """The caller's membership in the tenant named by id or slug; None hides other tenants."""
    memberships = memberships_for_user(user=user)
    try:
        return memberships.filter(tenant_id=uuid.UUID(str(tenant_ident))).first()
    except ValueError:
        return memberships.filter(tenant__slug=str(tenant_ident).lower()).first()
