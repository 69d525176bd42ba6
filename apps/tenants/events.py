"""Outbox events of the tenants app: payloads as the API renders the objects (API.md, Events)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db import connection

from apps.core.outbox import event_emit
from apps.core.timestamps import api_time

from .models import Membership, Tenant, TenantStatus


def tenant_data(tenant: Tenant) -> dict[str, Any]:
    return {
        "id": str(tenant.pk),
        "slug": tenant.slug,
        "name": tenant.name,
        "status": tenant.status,
        "domain": f"{tenant.slug}.{settings.BASE_DOMAIN}",
        "created_at": api_time(tenant.created_at),
        "updated_at": api_time(tenant.updated_at),
    }


def member_data(membership: Membership, *, role: str | None = None) -> dict[str, Any]:
    user = membership.user
    return {
        "id": str(membership.pk),
        "user_id": str(user.pk),
        "email": user.email,
        "name": user.get_full_name(),
        "role": role or membership.role,
        "joined_at": api_time(membership.created_at),
        "created_at": api_time(membership.created_at),
        "updated_at": api_time(membership.updated_at),
    }


def tenant_event(type: str, tenant: Tenant, **extra: Any) -> None:
    event_emit(type=type, tenant=tenant, data={**tenant_data(tenant), **extra})


def member_event(type: str, tenant: Tenant, membership: Membership, **extra: Any) -> None:
    event_emit(type=type, tenant=tenant, data={**member_data(membership), **extra})


def events_in_each_tenant(events: Iterable, types: Iterable[str]) -> Iterator[tuple[Tenant, list]]:
    """For an outbox consumer: the events of `types` grouped by their tenant (deleted tenants
    and tenantless events left out), one tenant at a time with the connection set to its
    schema. One query for the tenants, whatever the batch."""
    wanted = set(types)
    by_tenant: dict = defaultdict(list)
    for event in events:
        if event.type in wanted and event.tenant_id:
            by_tenant[event.tenant_id].append(event)
    if not by_tenant:
        return
    tenants = Tenant.objects.filter(pk__in=list(by_tenant)).exclude(status=TenantStatus.DELETED)
    for tenant in tenants:
        connection.set_tenant(tenant)
        yield tenant, by_tenant[tenant.pk]
