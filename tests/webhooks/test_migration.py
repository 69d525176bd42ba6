"""A database made before outgoing webhooks left apps.monitoring migrates to this layout without
touching a table: webhook rows written in a tenant's schema and in a spare schema (the shape
apps.monitoring gave them), and a due row in the public schema, are read through apps.webhooks
afterwards, and the content types of the moved models keep their ids under the new app labels.

The schemas are made by running the migrations as they stood before the move (every node but the
four the move added); the test's transaction rolls all of it back."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.tenants.management.commands.release import Command as Release
from apps.tenants.models import SpareSchema, Tenant
from apps.tenants.provisioning import schemas_with_pending_migrations
from apps.webhooks.due.models import WebhookDue
from apps.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

pytestmark = pytest.mark.django_db

MOVE = {
    ("webhooks", "0001_initial"),
    ("monitoring", "0007_webhooks_moved"),
    ("webhooks_due", "0001_initial"),
    ("monitoring_schedule", "0004_webhook_due_moved"),
}
MODELS = ("webhookendpoint", "webhookmessage", "webhookattempt")


def _before_the_move(executor: MigrationExecutor) -> list[tuple[str, str]]:
    graph = executor.loader.graph
    targets = set()
    for leaf in graph.leaf_nodes():
        chain = [leaf]  # the app's own migrations, newest first
        while parents := [p for p in graph.node_map[chain[-1]].parents if p[0] == leaf[0]]:
            chain.append(parents[0].key)
        moved = [index for index, node in enumerate(chain) if node in MOVE]
        if moved:  # back to the app's node before the move (later ones need the move)
            oldest = max(moved)
            chain = chain[oldest + 1 :]
        if chain:
            targets.add(chain[0])
    return sorted(targets)


def _schema_before_the_move(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{name}"')
    connection.set_schema(name, include_public=False)
    MigrationRecorder(connection).ensure_schema()
    connection.set_schema(name)
    executor = MigrationExecutor(connection)
    executor.migrate(_before_the_move(executor))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'webhooks'")
        assert cursor.fetchone()[0] == 0
    connection.set_schema_to_public()


def _rows_as_monitoring_wrote_them(name: str, url: str) -> dict:
    endpoint_id, now = uuid.uuid4(), timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(f'SET search_path TO "{name}"')
        cursor.execute(
            "INSERT INTO monitoring_webhookendpoint (id, created_at, updated_at, url, description,"
            " event_types, enabled, disabled_reason, secret_encrypted, secret_last8,"
            " previous_secret_encrypted) VALUES (%s, %s, %s, %s, '', '[]', true, '', 'x',"
            " '12345678', '')",
            [endpoint_id, now, now, url],
        )
        cursor.execute(
            "INSERT INTO monitoring_webhookmessage (msg_id, endpoint_id, event_type, body,"
            " created_at, status, attempts_count, last_error) VALUES (%s, %s, 'monitor.down',"
            " '{}', %s, 'failed', 1, 'HTTP 500') RETURNING id",
            [f"msg_{name}", endpoint_id, now - dt.timedelta(hours=1)],
        )
        message_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO monitoring_webhookattempt (message_id, attempted_at, ok, status_code,"
            " duration_ms, response_excerpt, error, trigger) VALUES (%s, %s, false, 500, 12, '',"
            " 'HTTP 500', 'scheduled')",
            [message_id, now],
        )
        # Content types as post_migrate made them then, in this schema.
        cursor.execute(
            "INSERT INTO django_content_type (app_label, model) SELECT 'monitoring', m"
            " FROM unnest(%s::text[]) AS m RETURNING id, model",
            [list(MODELS)],
        )
        content_types = {model: pk for pk, model in cursor.fetchall()}
    connection.set_schema_to_public()
    return {"endpoint_id": endpoint_id, "message_id": message_id, "content_types": content_types}


def _public_before_the_move() -> dict:
    """The public schema back where it stood: the move's migrations unapplied (their content
    type renames reversed)."""
    executor = MigrationExecutor(connection)
    executor.migrate([("webhooks_due", None), ("webhooks", None)])
    assert ContentType.objects.filter(app_label="monitoring", model__in=MODELS).count() == 3
    old = ContentType.objects.get(app_label="monitoring_schedule", model="webhookdue")
    return {model: ContentType.objects.get(app_label="monitoring", model=model).pk
            for model in MODELS} | {"webhookdue": old.pk}  # fmt: skip


def test_a_database_made_before_the_move_reads_through_apps_webhooks(world):
    tenant = world["tenant_a"]
    public_types = _public_before_the_move()
    ContentType.objects.clear_cache()
    tenant_schema, spare_schema = "qs_premove_tenant", "qs_spare_premove"
    _schema_before_the_move(tenant_schema)
    _schema_before_the_move(spare_schema)
    owner = Tenant.objects.create(name="Before", slug="before-move", schema_name=tenant_schema)
    SpareSchema.objects.create(name=spare_schema, fingerprint="0" * 64)  # an older render's
    in_tenant = _rows_as_monitoring_wrote_them(tenant_schema, "https://a.example/hook")
    in_spare = _rows_as_monitoring_wrote_them(spare_schema, "https://spare.example/hook")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO monitoring_schedule_webhookdue (tenant_id, message_id, endpoint_id,"
            " due_at, trigger) VALUES (%s, %s, %s, now(), 'scheduled')",
            [owner.pk, in_tenant["message_id"], in_tenant["endpoint_id"]],
        )

    # The release: the public schema, then every schema that misses a migration.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    pending = schemas_with_pending_migrations([tenant_schema, spare_schema, tenant.schema_name])
    assert pending == [tenant_schema, spare_schema]
    Release()._migrate_tenants(pending, "standard", 0)
    assert schemas_with_pending_migrations([tenant_schema, spare_schema]) == []
    connection.set_schema_to_public()
    ContentType.objects.clear_cache()

    due = WebhookDue.objects.get(tenant_id=owner.pk)
    assert due.message_id == in_tenant["message_id"]
    for model, pk in public_types.items():
        moved = ContentType.objects.get(pk=pk)
        assert moved.app_label == ("webhooks_due" if model == "webhookdue" else "webhooks")
    for schema, rows, url in ((tenant_schema, in_tenant, "https://a.example/hook"),
                              (spare_schema, in_spare, "https://spare.example/hook")):  # fmt: skip
        with schema_context(schema):
            endpoint = WebhookEndpoint.objects.get()
            assert (endpoint.pk, endpoint.url) == (rows["endpoint_id"], url)
            message = WebhookMessage.objects.select_related("endpoint").get()
            assert (message.endpoint, message.status) == (endpoint, "failed")
            attempt = WebhookAttempt.objects.get(message=message)
            assert (attempt.status_code, attempt.error) == (500, "HTTP 500")
            for model, pk in rows["content_types"].items():
                assert ContentType.objects.get(pk=pk).app_label == "webhooks", (schema, model)
            assert not ContentType.objects.filter(app_label="monitoring", model__in=MODELS)
