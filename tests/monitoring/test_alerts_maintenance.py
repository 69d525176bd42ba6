"""Alerts: a down transition logs one alert per routed channel and the webhook receiver gets it;
a maintenance window silences alerts (logged as skipped); test notifications."""

import datetime as dt
import json

from django.core import mail
from django.utils import timezone

from apps.monitoring import services, tasks
from apps.monitoring.checks import Outcome
from apps.monitoring.models import AlertLog, MaintenanceWindow, Monitor
from tests.monitoring.factories import create, in_tenant, reload


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


def _alerted_monitor(tenant, http_target) -> Monitor:
    """An HTTP monitor (of a closed port) routed to a webhook alert channel."""
    with in_tenant(tenant):
        channel = services.alert_channel_create(
            tenant=tenant, actor=services.SYSTEM, name="hook", kind="webhook",
            config={"url": f"{http_target.url}/alert"},
        )  # fmt: skip
    return create(tenant, kind="http", name="api", url="http://127.0.0.1:9/",
                  channel_ids=[channel.pk])  # fmt: skip


def test_deleting_a_windows_only_monitor_deletes_the_window_not_widens_it(world):
    tenant = world["tenant_a"]
    a = create(tenant, kind="http", name="a", url="http://127.0.0.1:9/")
    b = create(tenant, kind="http", name="b", url="http://127.0.0.1:9/")
    now = timezone.now()
    with in_tenant(tenant):
        only_a = services.maintenance_window_create(
            tenant=tenant, actor=services.SYSTEM, name="a only", starts_at=now,
            ends_at=now + dt.timedelta(hours=1), monitor_ids=[a.pk],
        )  # fmt: skip
        both = services.maintenance_window_create(
            tenant=tenant, actor=services.SYSTEM, name="both", starts_at=now,
            ends_at=now + dt.timedelta(hours=1), monitor_ids=[a.pk, b.pk],
        )  # fmt: skip
        services.monitor_delete(monitor=a, tenant=tenant, actor=services.SYSTEM)
        assert not MaintenanceWindow.objects.filter(pk=only_a.pk).exists()
        assert list(MaintenanceWindow.objects.get(pk=both.pk).monitors.all()) == [b]


def test_a_broker_that_refuses_the_alert_task_does_not_fail_the_committed_results(
    world, http_target, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    from kombu.exceptions import OperationalError

    from apps.deploy import services as deploy_services
    from apps.deploy import tasks as deploy_tasks
    from apps.monitoring import tasks
    from apps.monitoring.models import AlertLog

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to broker")

    monkeypatch.setattr(tasks.alerts_send, "delay", refuse)
    tenant = world["tenant_a"]
    monitor = _alerted_monitor(tenant, http_target)
    item = services.ResultItem(monitor.pk, Outcome(ok=False, error="refused"), timezone.now())
    with django_capture_on_commit_callbacks(execute=True), in_tenant(tenant):
        services.results_apply(tenant=tenant, items=[item])
    with in_tenant(tenant):
        [log] = AlertLog.objects.filter(monitor_id=monitor.pk)
    assert reload(tenant, monitor).status == "down"
    assert (log.ok, log.error, log.duration_ms) == (False, "", None)  # unsent, on record
    assert "could not enqueue 1 alert" in caplog.text

    monkeypatch.setattr(deploy_tasks.deployment_run, "delay", refuse)
    deploy_services.enqueue_deployment("5f0b0f9e-0000-4000-8000-000000000001")  # no raise
    assert "the reaper will" in caplog.text


def test_a_verdict_at_the_very_start_of_a_maintenance_window_is_not_alerted(world, http_target):
    from apps.monitoring.models import AlertLog

    tenant = world["tenant_a"]
    monitor = _alerted_monitor(tenant, http_target)
    when = timezone.now()
    with in_tenant(tenant):
        services.maintenance_window_create(
            tenant=tenant, actor=services.SYSTEM, name="upgrade", monitor_ids=[monitor.pk],
            starts_at=when, ends_at=when + dt.timedelta(hours=1),
        )  # fmt: skip
        item = services.ResultItem(monitor.pk, Outcome(ok=False, error="refused"), when)
        services.results_apply(tenant=tenant, items=[item])
        [log] = AlertLog.objects.filter(monitor_id=monitor.pk)
    assert log.skipped == "maintenance"
