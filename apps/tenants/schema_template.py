"""Fast tenant schemas: render the SQL of a migrated template schema once, replay it per tenant.

Measured on a 2-core machine (shared/notes/tenant-provisioning-measurements.md): running the
migrations for each new schema costs 1.5-2 s; django-tenants' clone_schema() 0.6-1.2 s and grows
with the catalogue; replaying a pg_dump of a template schema in one transaction costs 40-70 ms and
stays flat past 1,000 tenants. The render is tied to a fingerprint of the migration graph of the
tenant apps; when the migrations change, `manage.py tenant_template` (run by `manage.py release`)
renders it again. Without a current render, tenant creation falls back to running migrations.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from django.apps import apps as django_apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from .models import SchemaTemplate

logger = logging.getLogger(__name__)

# Any constant works; it only keeps concurrent renders apart.
_ADVISORY_LOCK_KEY = 7_311_240_001


class TemplateUnavailable(RuntimeError):
    pass


def tenant_app_labels() -> set[str]:
    names = set(settings.TENANT_APPS)
    return {config.label for config in django_apps.get_app_configs() if config.name in names}


def tenant_migration_nodes() -> list[tuple[str, str]]:
    """The migrations that shape a tenant schema: every node of the tenant apps' graph."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    labels = tenant_app_labels()
    return sorted(node for node in loader.graph.nodes if node[0] in labels)


@functools.cache
def migration_fingerprint() -> str:
    """Changes whenever a tenant app gains, loses or edits a migration."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    digest = hashlib.sha256()
    for node in tenant_migration_nodes():
        digest.update(f"{node[0]}.{node[1]}\n".encode())
        migration = loader.disk_migrations.get(node)
        module = sys.modules.get(type(migration).__module__) if migration else None
        source = getattr(module, "__file__", None)
        if source:
            digest.update(hashlib.sha256(Path(source).read_bytes()).digest())
    return digest.hexdigest()


def current_template() -> SchemaTemplate | None:
    return SchemaTemplate.objects.filter(fingerprint=migration_fingerprint()).first()


@functools.cache
def _cached_sql(fingerprint: str) -> str | None:
    return (
        SchemaTemplate.objects.filter(fingerprint=fingerprint).values_list("sql", flat=True).first()
    )


def template_sql() -> str | None:
    """The current render, cached per process once found (a render never changes in place)."""
    fingerprint = migration_fingerprint()
    sql = _cached_sql(fingerprint)
    if sql is None:
        _cached_sql.cache_clear()  # do not remember a miss: the render may appear later
    return sql


def sql_for_schema(sql: str, schema_name: str) -> str:
    return re.sub(rf"\b{re.escape(settings.TENANT_TEMPLATE_SCHEMA)}\b", schema_name, sql)


# --- Rendering ------------------------------------------------------------------------------


def _server_major() -> int:
    return connection.pg_version // 10000


def _pg_dump_major(path: str) -> int | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    return int(match.group(1)) if match else None


def _pg_dump_candidates() -> list[str]:
    found: list[str] = []
    if settings.PG_DUMP:
        return [settings.PG_DUMP]
    found += sorted(
        (str(p) for p in Path("/usr/lib/postgresql").glob("*/bin/pg_dump")),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("pg_dump")
    if on_path:
        found.append(on_path)
    # The pgserver wheel brings PostgreSQL to machines without one; find it without importing it.
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.origin:
        found.append(str(Path(spec.origin).parent / "pginstall" / "bin" / "pg_dump"))
    return found


def find_pg_dump() -> str:
    """A pg_dump whose major version is at least the server's (older ones refuse to dump)."""
    server = _server_major()
    for candidate in _pg_dump_candidates():
        major = _pg_dump_major(candidate)
        if major is not None and major >= server:
            return candidate
    raise TemplateUnavailable(
        f"No pg_dump of version {server} or newer was found; set PG_DUMP to one."
    )


def _dump_schema(schema: str) -> str:
    params = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": str(params.get("PASSWORD") or "")}
    command = [
        find_pg_dump(),
        "--schema",
        schema,
        "--inserts",
        "--rows-per-insert=500",
        "--no-owner",
        "--no-privileges",
        "--no-comments",
        "--no-publications",
        "--no-subscriptions",
        "--no-security-labels",
        "--no-tablespaces",
        "--dbname",
        params["NAME"],
    ]
    if params.get("HOST"):
        command += ["--host", str(params["HOST"])]
    if params.get("PORT"):
        command += ["--port", str(params["PORT"])]
    if params.get("USER"):
        command += ["--username", str(params["USER"])]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    if result.returncode != 0:
        raise TemplateUnavailable(f"pg_dump failed: {result.stderr.strip()[:2000]}")
    return _strip_session_statements(result.stdout)


def _strip_session_statements(dump: str) -> str:
    """Keep DDL and rows; drop comments, psql meta-commands and session settings, which would
    otherwise leak into the connection that replays the SQL (search_path='' above all)."""
    kept = []
    for line in dump.splitlines():
        if not line or line.startswith("--") or line.startswith("\\"):
            continue
        if line.startswith("SET ") or line.startswith("SELECT pg_catalog.set_config("):
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def template_build(*, force: bool = False, verbosity: int = 0) -> SchemaTemplate:
    """Render the template for the current migrations (no-op when it exists, unless forced)."""
    fingerprint = migration_fingerprint()
    schema = settings.TENANT_TEMPLATE_SCHEMA
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_ADVISORY_LOCK_KEY])
    try:
        existing = current_template()
        if existing is not None and not force:
            return existing
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            cursor.execute(f'CREATE SCHEMA "{schema}"')
        try:
            call_command(
                "migrate_schemas",
                tenant=True,
                schema_name=schema,
                interactive=False,
                verbosity=verbosity,
            )
            connection.set_schema_to_public()
            sql = _dump_schema(schema)
        finally:
            connection.set_schema_to_public()
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        template, _ = SchemaTemplate.objects.update_or_create(
            fingerprint=fingerprint,
            defaults={"sql": sql, "migration_count": len(tenant_migration_nodes())},
        )
        SchemaTemplate.objects.exclude(pk=template.pk).delete()
        _cached_sql.cache_clear()
        logger.info("Rendered tenant schema template %s (%d bytes)", fingerprint[:12], len(sql))
        return template
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_ADVISORY_LOCK_KEY])
