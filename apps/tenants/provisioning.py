"""Making and checking tenant schemas (the SQL side of the tenant lifecycle)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder

from . import schema_template
from .models import SpareSchema, Tenant

logger = logging.getLogger(__name__)
_SPARES_LOCK_KEY = 7_311_240_002


def schema_create(tenant: Tenant) -> str:
    """Create the tenant's schema inside the caller's transaction; returns the path taken.

    `spare` renames a schema made ahead of time (under 1 ms); `template` replays the current
    render (tens of ms); `migrations` is django-tenants' own path, used only when no render
    exists for the current migrations."""
    if spare_claim(tenant):
        return "spare"
    sql = schema_template.template_sql()
    if sql is not None:
        with connection.cursor() as cursor:
            cursor.execute(schema_template.sql_for_schema(sql, tenant.schema_name))
        return "template"
    logger.warning(
        "No tenant schema template for the current migrations; creating %s by migrating. "
        "Run `manage.py tenant_template` (part of `manage.py release`).",
        tenant.schema_name,
    )
    tenant.create_schema(check_if_exists=False, sync_schema=True, verbosity=0)
    return "migrations"


def spare_claim(tenant: Tenant) -> bool:
    """Rename a ready spare schema of the current render to the tenant's, if there is one."""
    spare = (
        SpareSchema.objects.select_for_update(skip_locked=True)
        .filter(fingerprint=schema_template.migration_fingerprint())
        .order_by("created_at")
        .first()
    )
    if spare is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER SCHEMA "{spare.name}" RENAME TO "{tenant.schema_name}"')
    spare.delete()
    return True


def spares_fill(*, target: int) -> int:
    """Drop spares of older renders, then make spares until `target` of the current render are
    ready; returns how many it made. One filler at a time (an advisory lock); others return 0."""
    sql = schema_template.template_sql()
    if sql is None:
        return 0
    fingerprint = schema_template.migration_fingerprint()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_SPARES_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return 0
    try:
        for stale in SpareSchema.objects.exclude(fingerprint=fingerprint):
            with transaction.atomic():
                locked = SpareSchema.objects.select_for_update(skip_locked=True)
                if locked.filter(pk=stale.pk).exists():
                    with connection.cursor() as cursor:
                        cursor.execute(f'DROP SCHEMA IF EXISTS "{stale.name}" CASCADE')
                    stale.delete()
        made = 0
        while SpareSchema.objects.filter(fingerprint=fingerprint).count() < target:
            name = f"qs_spare_{uuid.uuid4().hex[:16]}"
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(schema_template.sql_for_schema(sql, name))
                SpareSchema.objects.create(name=name, fingerprint=fingerprint)
            made += 1
        return made
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_SPARES_LOCK_KEY])


def schemas_with_pending_migrations(schema_names: Iterable[str], batch: int = 200) -> list[str]:
    """Schemas that miss any tenant-app migration, found with one query per `batch` schemas."""
    expected = set(schema_template.tenant_migration_nodes())
    labels = sorted({app for app, _ in expected})
    names = list(schema_names)
    table = MigrationRecorder.Migration._meta.db_table
    pending: list[str] = []
    for start in range(0, len(names), batch):
        chunk = names[start : start + batch]
        existing = _existing_schemas(chunk)
        pending += [name for name in chunk if name not in existing]
        present = [name for name in chunk if name in existing]
        if not present:
            continue
        parts = [
            f'SELECT %s, app, name FROM "{name}"."{table}" WHERE app = ANY(%s)' for name in present
        ]
        params: list[object] = []
        for name in present:
            params += [name, labels]
        applied: dict[str, set[tuple[str, str]]] = {name: set() for name in present}
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for schema, app, migration in cursor.fetchall():
                applied[schema].add((app, migration))
        pending += [name for name in present if not expected <= applied[name]]
    return pending


def _existing_schemas(names: list[str]) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [names])
        return {row[0] for row in cursor.fetchall()}
