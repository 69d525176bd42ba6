"""A failed add-on backup (`addon.backup_failed`, emitted by the addons app through core's
outbox) alerts through monitoring's channels: those of the app's own monitor, else every
enabled channel of the tenant (apps/monitoring/platform_alerts.py)."""

import json
import uuid

from django.core import mail
from django_tenants.utils import tenant_context

from apps.core.outbox import event_emit, outbox_dispatch
from apps.monitoring import services, tasks
from apps.monitoring.models import AlertLog, Monitor
from tests.monitoring.factories import create


def _channel(tenant, name, kind, config):
    return services.alert_channel_create(
        tenant=tenant, actor=services.SYSTEM, name=name, kind=kind, config=config
    )


def _backup_failed(tenant, app_id) -> None:
    with tenant_context(tenant):
        event_emit(type="addon.backup_failed", tenant=tenant, data={
            "app_id": str(app_id), "app": {"id": str(app_id), "name": "shop"},
            "addon_name": "main-db", "kind": "scheduled",
            "error": "pg_dump: server closed the connection", "status": "failed",
        })  # fmt: skip
    outbox_dispatch()


def test_a_failed_backup_alerts_the_apps_routed_channels(world, http_target):
    tenant, app_id = world["tenant_a"], uuid.uuid4()
    with tenant_context(tenant):
        hook = _channel(tenant, "hook", "webhook", {"url": http_target.url + "/hook"})
        _channel(tenant, "ops", "email", {"to": ["ops@example.com"]})  # not the app's route
    monitor = create(tenant, kind="http", name="shop (app)", url="https://shop.example.com/")
    with tenant_context(tenant):
        Monitor.objects.filter(pk=monitor.pk).update(app_id=app_id)
        monitor.channels.set([hook])
    _backup_failed(tenant, app_id)
    with tenant_context(tenant):
        [log] = AlertLog.objects.filter(event="addon.backup_failed")
        assert log.channel_id == hook.pk
        assert "main-db (app shop) failed: pg_dump: server closed" in log.detail
        assert tasks.alerts_send([log.pk]) == 1
    path, body = http_target.state["posts"][-1]
    sent = json.loads(body)
    assert path == "/hook" and sent["event"] == "addon.backup_failed"
    assert "pg_dump" in sent["detail"]


def test_an_app_without_routes_alerts_every_enabled_channel(world):
    tenant = world["tenant_b"]
    with tenant_context(tenant):
        _channel(tenant, "ops", "email", {"to": ["ops@bravo.example"]})
        off = _channel(tenant, "off", "email", {"to": ["off@bravo.example"]})
        type(off).objects.filter(pk=off.pk).update(enabled=False)
    _backup_failed(tenant, uuid.uuid4())
    with tenant_context(tenant):
        logs = list(AlertLog.objects.filter(event="addon.backup_failed"))
        assert [log.channel.name for log in logs] == ["ops"]
        tasks.alerts_send([log.pk for log in logs])
    assert mail.outbox[-1].to == ["ops@bravo.example"]
    assert mail.outbox[-1].subject == "[Quayside] An add-on backup failed"
    assert "main-db" in mail.outbox[-1].body
    with tenant_context(world["tenant_a"]):  # the other tenant heard nothing
        assert not AlertLog.objects.filter(event="addon.backup_failed").exists()
