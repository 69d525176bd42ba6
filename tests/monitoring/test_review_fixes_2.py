"""Edge cases found in the second review: a late verdict judged before a ping arrived does not
override that ping; a resumed heartbeat waits for a new ping; pausing credits the maintenance
that came before it; the uptime summary credits the time since the last verdict with the same
cap as the results writer; a deployment event of an app deleted meanwhile (events go in id
order, not commit order) makes no monitor; a broker that refuses a task enqueued after commit
(an alert, a deployment) does not fail the change that committed; a 410 answered by a later
success of the same batch does not disable an endpoint; a verdict at the very start of a
maintenance window is in it."""

import datetime as dt

from django.db.models import Sum
from django.utils import timezone

from apps.monitoring import scheduler, selectors, services
from apps.monitoring.checks import Outcome
from apps.monitoring.models import Incident, Monitor, UptimeRollup
from tests.monitoring.conftest import create, in_tenant, reload, run_checks


def _alerted_monitor(tenant, http_target) -> Monitor:
    """An HTTP monitor (of a closed port) routed to a webhook alert channel."""
    with in_tenant(tenant):
        channel = services.alert_channel_create(
            tenant=tenant, actor=services.SYSTEM, name="hook", kind="webhook",
            config={"url": f"{http_target.url}/alert"},
        )  # fmt: skip
    return create(tenant, kind="http", name="api", url="http://127.0.0.1:9/",
                  channel_ids=[channel.pk])  # fmt: skip


def _heartbeat(tenant):
    return create(tenant, kind="heartbeat", name="nightly", period_s=60, grace_s=10)


def test_a_late_verdict_read_before_a_ping_is_dropped_when_written(world):
    tenant = world["tenant_a"]
    monitor = _heartbeat(tenant)
    with in_tenant(tenant):
        services.heartbeat_ping(tenant=tenant, monitor_id=monitor.pk, event="success",
                                now=timezone.now() - dt.timedelta(seconds=80))  # fmt: skip
    claims = [c for c in scheduler.claim(limit=50) if c.monitor_id == monitor.pk]
    loop = scheduler._CheckLoop(1)
    pending, buffer, counters = {}, [], {"skipped": 0}
    try:
        scheduler._start(claims, loop, pending, buffer, counters)
    finally:
        loop.close()
    assert len(buffer) == 1  # judged late on the read
    with in_tenant(tenant):  # the job pings before the verdict is written
        services.heartbeat_ping(tenant=tenant, monitor_id=monitor.pk, event="success")
    scheduler._flush(buffer, {tenant.pk: tenant})
    monitor = reload(tenant, monitor)
    assert monitor.status == "up"
    with in_tenant(tenant):
        assert not Incident.objects.filter(monitor=monitor).exists()


def test_a_resumed_heartbeat_waits_for_the_next_ping(world):
    tenant = world["tenant_a"]
    monitor = _heartbeat(tenant)
    with in_tenant(tenant):
        services.heartbeat_ping(tenant=tenant, monitor_id=monitor.pk, event="success",
                                now=timezone.now() - dt.timedelta(hours=2))  # fmt: skip
        services.monitor_pause(monitor=monitor, tenant=tenant, actor=services.SYSTEM)
        services.heartbeat_ping(tenant=tenant, monitor_id=monitor.pk, event="success")  # ignored
        services.monitor_resume(
            monitor=Monitor.objects.get(pk=monitor.pk), tenant=tenant, actor=services.SYSTEM
        )
    run_checks()
    assert reload(tenant, monitor).status == "pending"
    with in_tenant(tenant):
        assert (
            services.heartbeat_ping(tenant=tenant, monitor_id=monitor.pk, event="success") == "up"
        )
        assert not Incident.objects.filter(monitor=monitor).exists()


def test_pausing_credits_maintenance_that_ended_before_the_pause(world):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="api", url="http://127.0.0.1:9/", interval_s=60)
    now = timezone.now()
    with in_tenant(tenant):
        Monitor.objects.filter(pk=monitor.pk).update(
            status="up", accounted_at=now - dt.timedelta(seconds=100)
        )
        services.maintenance_window_create(
            tenant=tenant, actor=services.SYSTEM, name="upgrade", monitor_ids=[monitor.pk],
            starts_at=now - dt.timedelta(seconds=90), ends_at=now - dt.timedelta(seconds=30),
        )  # fmt: skip
        services.monitor_pause(monitor=monitor, tenant=tenant, actor=services.SYSTEM)
        sums = UptimeRollup.objects.filter(monitor_id=monitor.pk).aggregate(
            up=Sum("up_s"), maintenance=Sum("maintenance_s")
        )
    assert round(sums["maintenance"]) == 60
    assert 39 <= sums["up"] <= 42


def test_the_uptime_summary_caps_the_time_since_the_last_verdict_like_the_writer(world):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="api", url="http://127.0.0.1:9/", interval_s=60,
                     timeout_s=10)  # fmt: skip
    now = timezone.now()
    with in_tenant(tenant):
        Monitor.objects.filter(pk=monitor.pk).update(
            status="down", accounted_at=now - dt.timedelta(hours=3)
        )
        monitor.refresh_from_db()
        before = selectors.uptime_summary(monitor=monitor, now=now)["24h"]
        item = services.ResultItem(monitor.pk, Outcome(ok=False, error="refused"), now)
        services.results_apply(tenant=tenant, items=[item])
        monitor.refresh_from_db()
        after = selectors.uptime_summary(monitor=monitor, now=now)["24h"]
    assert before["down_s"] == after["down_s"] == 130  # 2 x interval + timeout


def test_a_deployment_event_of_an_app_deleted_meanwhile_makes_no_monitor(world, settings):
    from apps.core import outbox
    from apps.deploy.models import App

    settings.OUTBOX_DISPATCH_ON_COMMIT = False
    tenant = world["tenant_a"]
    with in_tenant(tenant):
        kept = App.objects.create(name="kept")
    for app_id, name in ((kept.pk, "kept"), ("6f1c1d9e-0000-4000-8000-000000000001", "gone")):
        app = {"id": str(app_id), "name": name, "url": f"http://{name}.example.com",
               "health_check_path": "/health"}  # fmt: skip
        outbox.event_emit(type="deployment.succeeded", data={"app": app}, tenant=tenant)
    outbox.outbox_dispatch()
    with in_tenant(tenant):
        assert list(
            Monitor.objects.filter(app_id__isnull=False).values_list("name", flat=True)
        ) == ["kept (app)"]


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


def test_a_410_followed_by_a_success_in_the_same_batch_keeps_the_endpoint(world, receiver):
    from apps.webhooks import results as webhook_results
    from apps.webhooks.models import WebhookEndpoint
    from tests.webhooks.webhook_support import endpoint_create

    tenant = world["tenant_a"]
    endpoint, _ = endpoint_create(tenant, receiver.url("/moved"))
    t1 = timezone.now()
    t2 = t1 + dt.timedelta(seconds=1)
    with in_tenant(tenant):
        outcomes = {endpoint.pk: [(t1, False, 410), (t2, True, 200)]}
        assert webhook_results._health_apply(tenant, outcomes, t2) == 0
        webhook_results._health_apply(tenant, {endpoint.pk: [(t1, True, 200)]}, t2)  # older
        endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert endpoint.enabled and endpoint.last_success_at == t2


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
