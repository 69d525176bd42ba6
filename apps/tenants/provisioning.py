"""Making and checking tenant schemas (the SQL side of the tenant lifecycle)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from . import schema_template
from .models import Tenant

logger = logging.getLogger(__name__)


def schema_create(tenant: Tenant) -> str:
    """Create the tenant's schema inside the caller's transaction; returns the path taken.

    `template` replays the current render (tens of ms); `migrations` is django-tenants' own path,
    used only when no render exists for the current migrations."""
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
