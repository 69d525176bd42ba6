"""Outbox events of the tenants app: payloads as the API renders the objects (API.md, Events)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.core.outbox import event_emit
from apps.core.timestamps import api_time

from .models import Membership, Tenant


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
