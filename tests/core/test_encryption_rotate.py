"""`manage.py encryption_rotate` finds every encrypted column by its name, in the public schema
and in every tenant schema: monitoring's secrets are rotated like deploy's."""

import io

import pytest
from django.core.management import call_command

from apps.core import crypto
from apps.monitoring import alerts, services
from apps.monitoring.models import AlertChannel, Monitor
from apps.webhooks import services as webhook_services
from apps.webhooks.models import WebhookEndpoint
from tests.monitoring.factories import create, in_tenant

pytestmark = pytest.mark.django_db


def test_monitoring_secrets_are_re_encrypted_and_open_with_the_new_key_alone(world, settings):
    old, new = crypto.key_generate(), crypto.key_generate()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    settings.OUTBOUND_ALLOWED_NETWORKS = ["0.0.0.0/0"]
    tenant = world["tenant_a"]
    with in_tenant(tenant):
        channel = services.alert_channel_create(
            tenant=tenant, actor=services.SYSTEM, name="hook", kind="webhook",
            config={"url": "https://hooks.example.com/T0/secret-path"},
        )  # fmt: skip
        endpoint, secret = webhook_services.webhook_endpoint_create(
            tenant=tenant, actor=services.SYSTEM, url="https://example.com/in"
        )
    monitor = create(tenant, kind="http", name="api", url="https://ops:hunter2@example.com/h")

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("encryption_rotate", stdout=out)
    assert "re-encrypted 3 of 3" in out.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [new]
    with in_tenant(tenant):
        channel = AlertChannel.objects.get(pk=channel.pk)
        assert alerts.channel_url(channel) == "https://hooks.example.com/T0/secret-path"
        endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
        assert crypto.decrypt(endpoint.secret_encrypted) == secret
        monitor = Monitor.objects.get(pk=monitor.pk)
        assert crypto.decrypt(monitor.url_credentials_encrypted) == "ops:hunter2"
    out = io.StringIO()
    call_command("encryption_rotate", "--dry-run", stdout=out)
    assert "would re-encrypt 0 of 3" in out.getvalue()
