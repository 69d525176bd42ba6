"""Down opens an incident (audited, owners and admins told); up resolves it with its duration."""

import datetime as dt

from django.utils import timezone

from apps.core.models import AuditEvent, InboxMessage
from apps.monitoring import services
from apps.monitoring.checks import Outcome
from apps.monitoring.models import Incident
from tests.monitoring.factories import check_once, create, in_tenant


def test_incident_opens_and_resolves_with_duration(world):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="api", url="http://127.0.0.1:9/")
    t0 = timezone.now()
    with in_tenant(tenant):
        services.results_apply(tenant=tenant, items=[
            services.ResultItem(monitor.pk, Outcome(ok=True), t0),
            services.ResultItem(monitor.pk, Outcome(ok=False, error="Status 503"),
                                t0 + dt.timedelta(minutes=1)),
        ])  # fmt: skip
        incident = monitor.incidents.get()
        assert incident.status == "open"
        assert incident.started_at == t0 + dt.timedelta(minutes=1)
        assert incident.cause == "Status 503"
        # Still down: no second incident.
        services.results_apply(
            tenant=tenant,
            items=[
                services.ResultItem(
                    monitor.pk, Outcome(ok=False, error="x"), t0 + dt.timedelta(minutes=2)
                )
            ],
        )
        services.results_apply(
            tenant=tenant,
            items=[
                services.ResultItem(
                    monitor.pk, Outcome(ok=True), t0 + dt.timedelta(minutes=21, seconds=30)
                )
            ],
        )
        incident.refresh_from_db()
        assert monitor.incidents.count() == 1
    assert incident.status == "resolved"
    assert incident.duration_s == 20 * 60 + 30
    actions = list(
        AuditEvent.objects.filter(target_id=str(monitor.pk)).values_list("action", flat=True)
    )
    assert {"monitor.down", "monitor.up"} <= set(actions)
    inbox = InboxMessage.objects.filter(user=world["alice"], data__monitor_id=str(monitor.pk))
    assert sorted(inbox.values_list("kind", flat=True)) == ["monitor.down", "monitor.up"]
    assert not InboxMessage.objects.filter(user=world["bob"], data__monitor_id=str(monitor.pk))


def test_a_real_outage_opens_an_incident(world, http_target):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="web", url=http_target.url + "/flip")
    http_target.state["flip"] = 502
    monitor = check_once(tenant, monitor)
    assert monitor.status == "down"
    with in_tenant(tenant):
        assert monitor.incidents.get().cause.startswith("Status 502")
    http_target.state["flip"] = 200
    check_once(tenant, monitor)
    with in_tenant(tenant):
        assert monitor.incidents.get().status == "resolved"


def _apply(tenant, monitor, ok: bool, at) -> None:
    item = services.ResultItem(monitor.pk, Outcome(ok=ok, error="" if ok else "refused"), at)
    services.results_apply(tenant=tenant, items=[item])


def test_an_incident_open_when_paused_resolves_after_resume_and_the_next_outage_opens_one(world):
    tenant = world["tenant_a"]
    monitor = create(tenant, kind="http", name="api", url="http://127.0.0.1:9/")
    t0 = timezone.now() - dt.timedelta(minutes=10)
    with in_tenant(tenant):
        _apply(tenant, monitor, False, t0)
        services.monitor_pause(monitor=monitor, tenant=tenant, actor=services.SYSTEM)
        services.monitor_resume(monitor=monitor, tenant=tenant, actor=services.SYSTEM)
        _apply(tenant, monitor, True, t0 + dt.timedelta(minutes=2))
        assert not Incident.objects.filter(monitor=monitor, status="open").exists()
        _apply(tenant, monitor, False, t0 + dt.timedelta(minutes=4))
        assert Incident.objects.filter(monitor=monitor).count() == 2
        assert Incident.objects.filter(monitor=monitor, status="open").count() == 1
