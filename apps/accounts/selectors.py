"""Reads of the accounts app. The callers (API views, admin) have already checked who may read."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from apps.tenants.models import Membership, Role, Tenant, TenantStatus

from .models import ApiKey, ApiKeyStatus


def api_key_status_q(status: str) -> Q:
    """The rows of one status now (the same clock as `ApiKey.status`)."""
    expired = Q(expires_at__isnull=False, expires_at__lte=timezone.now())
    if status == ApiKeyStatus.REVOKED:
        return Q(revoked_at__isnull=False)
    if status == ApiKeyStatus.EXPIRED:
        return Q(revoked_at__isnull=True) & expired
    return Q(revoked_at__isnull=True) & ~expired


def api_key_list(*, tenant, filters: dict[str, Any] | None = None) -> QuerySet[ApiKey]:
    """The tenant's keys, newest first, with their creators joined in (one query per page).

    `filters`: `status` (active|expired|revoked) and `authority` (admin|member)."""
    filters = filters or {}
    keys = ApiKey.objects.filter(tenant=tenant).select_related("created_by")
    if filters.get("status"):
        keys = keys.filter(api_key_status_q(filters["status"]))
    if filters.get("authority"):
        keys = keys.filter(authority=filters["authority"])
    return keys


def api_key_get(*, tenant, key_id: str | uuid.UUID) -> ApiKey | None:
    """One key of the tenant; None for a malformed id or another tenant's key alike."""
    try:
        key_id = uuid.UUID(str(key_id))
    except ValueError:
        return None
    return (
        ApiKey.objects.filter(tenant=tenant, pk=key_id)
        .select_related("tenant", "created_by")
        .first()
    )


def api_key_get_usable(*, key_hash: str) -> ApiKey | None:
    """The key with this hash if it may authenticate now: not revoked, not expired. One query."""
    return (
        ApiKey.objects.filter(key_hash=key_hash)
        .filter(api_key_status_q(ApiKeyStatus.ACTIVE))
        .first()
    )


def user_owned_tenants(*, user):
    """Tenants (not deleted) whose owner is `user`, with their other members prefetched."""
    return (
        Tenant.objects.filter(memberships__user=user, memberships__role=Role.OWNER)
        .exclude(status=TenantStatus.DELETED)
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.exclude(user=user).select_related("user"),
                to_attr="other_members",
            )
        )
        .order_by("name")
    )
