"""Alerts: a down transition logs one alert per routed channel and the webhook receiver gets it;
a maintenance window silences alerts (logged as skipped); test notifications."""

import datetime as dt
import json

from django.core import mail
from django.utils import timezone

from apps.monitoring import services, tasks
from apps.monitoring.checks import Outcome
from apps.monitoring.models import AlertLog, MaintenanceWindow
from tests.monitoring.factories import create, in_tenant


def _channel(tenant, name, kind, config):
    return services.alert_channel_create(
        tenant=tenant, actor=services.SYSTEM, name=name, kind=kind, config=config
    )


def _down(tenant, monitor, when):
    services.results_apply(tenant=tenant, items=[
        services.ResultItem(monitor.pk, Outcome(ok=False, error="Status 500"), when)])  # fmt: skip


def test_down_alerts_routed_channels(world, http_target):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="api", url="http://127.0.0.1:9/")
    with in_tenant(tenant):
        hook = _channel(tenant, "hook", "webhook", {"url": http_target.url + "/hook"})
        email = _channel(tenant, "ops", "email", {"to": ["ops@example.com"]})
        _channel(tenant, "unrouted", "slack", {"url": http_target.url + "/slack"})
        monitor.channels.set([hook, email])
        _down(tenant, monitor, timezone.now())
        logs = list(AlertLog.objects.filter(monitor=monitor))
        assert {log.channel_id for log in logs} == {hook.pk, email.pk}
        assert tasks.alerts_send([log.pk for log in logs]) == 2
        assert all(log.ok for log in AlertLog.objects.filter(monitor=monitor))
    path, body = http_target.state["posts"][0]
    assert path == "/hook"
    assert json.loads(body)["event"] == "monitor.down"
    assert mail.outbox[-1].to == ["ops@example.com"]
    assert "api is DOWN" in mail.outbox[-1].subject


def test_maintenance_silences_alerts(world, http_target):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="api", url="http://127.0.0.1:9/")
    now = timezone.now()
    with in_tenant(tenant):
        hook = _channel(tenant, "hook", "webhook", {"url": http_target.url + "/hook"})
        monitor.channels.set([hook])
        window = MaintenanceWindow.objects.create(
            name="upgrade", starts_at=now - dt.timedelta(minutes=5),
            ends_at=now + dt.timedelta(minutes=5))  # fmt: skip
        window.monitors.set([monitor])
        _down(tenant, monitor, now)
        log = AlertLog.objects.get(monitor=monitor)
        assert log.skipped == "maintenance"
        assert tasks.alerts_send([log.pk]) == 0
        assert monitor.incidents.count() == 1  # the incident is still recorded
    assert "posts" not in http_target.state


def test_failed_delivery_is_logged_and_test_notification(world, http_target):
    tenant = world["tenant_a"]
    http_target.state["post_status"] = 410
    with in_tenant(tenant):
        hook = _channel(tenant, "hook", "slack", {"url": http_target.url + "/slack"})
        log = services.alert_channel_test(channel=hook, tenant=tenant, actor=services.SYSTEM)
        assert not log.ok and log.error == "HTTP 410"
        assert len(http_target.state["posts"]) == 1  # a 4xx is permanent: no retry
        http_target.state["post_status"] = 200
        log = services.alert_channel_test(channel=hook, tenant=tenant, actor=services.SYSTEM)
        assert log.ok and log.duration_ms is not None
    assert json.loads(http_target.state["posts"][-1][1])["text"].startswith("*Quayside test")
