"""Outgoing webhooks moved out of apps.monitoring: the names stored outside the code still mean
the same thing (Celery task names, the beat entry, the outbox consumer's name, content types),
and the consoles' old addresses lead to the same pages."""

from __future__ import annotations

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django_tenants.utils import schema_context

from apps.core import outbox
from apps.tenants.models import Membership, Role
from apps.webhooks import consumer, tasks
from apps.webhooks.due.models import WebhookDue
from apps.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage


def test_the_deliverer_tasks_keep_their_names_and_routes():
    assert tasks.webhooks_deliver.name == "monitoring.webhooks_deliver"
    assert tasks.webhooks_tick.name == "monitoring.webhooks_tick"
    assert current_app.tasks["monitoring.webhooks_deliver"].run is tasks.webhooks_deliver.run
    assert settings.CELERY_BEAT_SCHEDULE["monitoring.webhooks_tick"]["task"] == (
        "monitoring.webhooks_tick"
    )
    assert "monitoring.webhooks_deliver" in settings.CELERY_TASK_ROUTES


def test_the_outbox_consumer_keeps_its_stored_name():
    names = dict(outbox.consumers())
    assert names[consumer.OUTBOX_CONSUMER_NAME] is consumer.outbox_consume
    assert consumer.OUTBOX_CONSUMER_NAME == "apps.monitoring.webhook_services.outbox_consume"


def test_tables_are_the_ones_monitoring_made():
    tables = {m._meta.db_table for m in (WebhookEndpoint, WebhookMessage, WebhookAttempt)}
    assert tables == {"monitoring_webhookendpoint", "monitoring_webhookmessage",
                      "monitoring_webhookattempt"}  # fmt: skip
    assert WebhookDue._meta.db_table == "monitoring_schedule_webhookdue"


def test_content_types_and_permissions_name_the_new_app(world):
    public = ContentType.objects.get_for_model(WebhookEndpoint)
    assert (public.app_label, public.model) == ("webhooks", "webhookendpoint")
    assert not ContentType.objects.filter(app_label="monitoring", model__startswith="webhook")
    assert Permission.objects.filter(content_type=public, codename="view_webhookendpoint")
    with schema_context(world["tenant_a"].schema_name):
        assert ContentType.objects.filter(app_label="webhooks", model="webhookmessage").exists()
        assert not ContentType.objects.filter(app_label="monitoring", model="webhookmessage")
    assert connection.schema_name == "public"


def test_the_consoles_old_addresses_lead_to_the_same_pages(client, world):
    client.force_login(world["alice"])
    assert Membership.objects.get(tenant=world["tenant_a"], user=world["alice"]).role == Role.OWNER
    old = client.get("/console/monitoring/webhookendpoint/?enabled__exact=1",
                     HTTP_HOST="alpha.localhost")  # fmt: skip
    assert old.status_code == 308
    assert old["Location"] == "/console/webhooks/webhookendpoint/?enabled__exact=1"
    assert client.get(old["Location"], HTTP_HOST="alpha.localhost").status_code == 200
    admin = client.post("/admin/monitoring/webhookmessage/", {"action": "x"})
    assert (admin.status_code, admin["Location"]) == (308, "/admin/webhooks/webhookmessage/")
