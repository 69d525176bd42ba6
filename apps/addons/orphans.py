"""Servers' leftovers whose add-on is gone: deleting an app deletes its add-on rows with it
(deploy cannot call add-ons, ARCHITECTURE.md §3a), so a sweep (addons.sizes_check, beat) drops
the databases and redis-servers on the local runtime that no add-on of any tenant names.

Safe against a concurrent `addon_create`: its row is committed before anything is made on a
server (provisioning runs after commit), so whatever exists on a server while the sweep reads
the rows either has its row already or is not made yet."""

from __future__ import annotations

import logging

from django.conf import settings
from django_tenants.utils import tenant_context

from apps.tenants.models import Tenant

from .engines import local, pg_cluster
from .engines import postgres as pg_engine
from .engines import redis as redis_engine
from .models import Addon

logger = logging.getLogger(__name__)


def _known() -> set[str]:
    names: set[str] = set()
    for tenant in Tenant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME):
        with tenant_context(tenant):
            names.update(Addon.objects.values_list("db_name", flat=True))
    return names


def addons_orphans_sweep() -> dict[str, list[str]]:
    """Drop what the local servers hold for add-ons that no longer exist; what was dropped."""
    known = _known()
    dropped: dict[str, list[str]] = {"postgres": [], "redis": []}
    if not settings.ADDONS_POSTGRES_ADMIN_URL and local.running(pg_cluster.PROGRAM):
        with pg_cluster.cluster().connect() as conn:
            names = [row[0] for row in conn.execute(
                "SELECT datname FROM pg_database WHERE datname ~ '^a_[0-9a-f]{32}$'"
            ).fetchall()]  # fmt: skip
        for name in names:
            if name not in known:
                pg_engine.destroy(db_name=name)
                dropped["postgres"].append(name)
    redis_dir = local.root() / "redis"
    if redis_dir.is_dir():
        for path in redis_dir.iterdir():
            if len(path.name) == 32 and path.name not in known:
                redis_engine.destroy(key=path.name)
                dropped["redis"].append(path.name)
    if dropped["postgres"] or dropped["redis"]:
        logger.info("Dropped add-on leftovers: %s", dropped)
    return dropped
