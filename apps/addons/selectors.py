"""Reads of the add-ons app (in the current tenant's schema)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db.models import QuerySet

from apps.tenants.selectors import tenant_limit

from .models import Addon, AddonKind

LIMIT_NAMES = {AddonKind.POSTGRES: "addon_postgres_mb", AddonKind.REDIS: "addon_redis_mb"}
DEFAULTS = {
    AddonKind.POSTGRES: "ADDONS_DEFAULT_POSTGRES_MB",
    AddonKind.REDIS: "ADDONS_DEFAULT_REDIS_MB",
}


def addons_list(*, app) -> QuerySet[Addon]:
    return Addon.objects.filter(app=app).select_related("app").order_by("created_at")


def addon_get(*, app, addon_id) -> Addon | None:
    """The add-on of `app` with that id; None for a malformed id or another app's add-on."""
    try:
        pk = uuid.UUID(str(addon_id))
    except ValueError:
        return None
    return addons_list(app=app).filter(pk=pk).first()


def addons_all() -> QuerySet[Addon]:
    """Every add-on of the current tenant (the size checks, the operator's pages)."""
    return Addon.objects.select_related("app").order_by("created_at")


def addons_mounted(*, app) -> list[Addon]:
    """What the app's sandbox sees: its attached add-ons that are up."""
    return list(
        Addon.objects.filter(app=app, attached=True, status="available").order_by("created_at")
    )


def size_limit_mb(*, tenant, kind: str) -> int:
    """The plan's size of an add-on of `kind` (or the operator's default)."""
    value = tenant_limit(tenant, LIMIT_NAMES[kind]) if tenant is not None else None
    if value is None:
        value = getattr(settings, DEFAULTS[kind])
    return max(1, int(value))


def backups_kept(*, tenant) -> int:
    value = tenant_limit(tenant, "addon_backups_kept") if tenant is not None else None
    return settings.ADDONS_DEFAULT_BACKUPS_KEPT if value is None else max(0, int(value))
