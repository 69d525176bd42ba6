"""Spare tenant schemas: made ahead from the current render, taken by a rename."""

import pytest
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from apps.core.models import AuditEvent
from apps.deploy.models import App
from apps.tenants import provisioning, schema_template
from apps.tenants.models import SpareSchema
from apps.tenants.services import tenant_create
from apps.tenants.tasks import spares_fill

pytestmark = pytest.mark.django_db


def test_fill_makes_spares_of_the_current_render_up_to_the_target():
    assert provisioning.spares_fill(target=2) == 2
    assert provisioning.spares_fill(target=2) == 0
    spares = list(SpareSchema.objects.all())
    assert len(spares) == 2
    assert {s.fingerprint for s in spares} == {schema_template.migration_fingerprint()}
    assert all(schema_exists(s.name) for s in spares)


def test_a_new_tenant_takes_a_spare_by_renaming_it(django_capture_on_commit_callbacks):
    provisioning.spares_fill(target=1)
    spare = SpareSchema.objects.get()
    with django_capture_on_commit_callbacks() as callbacks:
        tenant = tenant_create(name="Spare Co", slug="spare-co")
    assert not SpareSchema.objects.exists()
    assert not schema_exists(spare.name)
    assert schema_exists(tenant.schema_name)
    event = AuditEvent.objects.get(action="tenant.created", tenant_id=tenant.pk)
    assert event.metadata["schema_path"] == "spare"
    assert callbacks == [spares_fill.delay]  # the pool is refilled after commit
    with schema_context(tenant.schema_name):
        assert App.objects.create(name="works")
        applied = set(
            connection.cursor().execute("SELECT app, name FROM django_migrations").fetchall()
        )
    assert set(schema_template.tenant_migration_nodes()) <= applied


def test_without_spares_the_render_is_replayed():
    tenant = tenant_create(name="No spare", slug="no-spare")
    event = AuditEvent.objects.get(action="tenant.created", tenant_id=tenant.pk)
    assert event.metadata["schema_path"] == "template"


def test_spares_of_an_older_render_are_dropped_not_used():
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "qs_spare_old"')
    SpareSchema.objects.create(name="qs_spare_old", fingerprint="0" * 64)
    tenant = tenant_create(name="Fresh", slug="fresh-co")
    assert AuditEvent.objects.get(tenant_id=tenant.pk).metadata["schema_path"] == "template"
    provisioning.spares_fill(target=1)
    assert not schema_exists("qs_spare_old")
    assert list(SpareSchema.objects.values_list("fingerprint", flat=True)) == [
        schema_template.migration_fingerprint()
    ]
