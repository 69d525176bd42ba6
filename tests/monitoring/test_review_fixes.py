"""Edge cases found in review: an incident opened before a pause is resolved after it; deleting
the only monitor of a maintenance window does not widen it to every monitor; a silence too long
to represent is a 400; operators entering a tenant's monitoring pages are audited."""

import datetime as dt

from django.utils import timezone

from apps.core.models import AuditEvent
from apps.monitoring import services
from apps.monitoring.checks import Outcome
from apps.monitoring.models import Incident, MaintenanceWindow
from tests.monitoring.conftest import create, in_tenant


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


def test_a_silence_past_the_year_9999_is_a_400(client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    response = client.post(
        "/api/v1/silences",
        {"starts_at": "9999-12-31T23:59:00Z", "duration_s": 3600},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "duration_s"


def test_operators_entering_a_tenants_monitoring_pages_are_audited(client, world):
    client.force_login(world["operator"])
    world["operator"].is_superuser = True
    world["operator"].save()
    client.get("/admin/monitoring/monitor/?tenant=alpha")
    assert client.get("/admin/monitoring/monitor/").status_code == 200
    assert AuditEvent.objects.filter(
        action="tenant.operator_entered", tenant_id=world["tenant_a"].pk,
        actor_user_id=world["operator"].pk,
    ).exists()  # fmt: skip


def test_an_app_over_the_monitor_limit_runs_unmonitored_and_the_audit_log_says_so(world):
    import uuid

    from apps.tenants.models import Tenant

    # A copy of the row: the session's `world` tenant object must keep its own limits.
    tenant = Tenant.objects.get(pk=world["tenant_a"].pk)
    tenant.entitlement_overrides = {**(tenant.entitlement_overrides or {}), "monitors": 0}
    tenant.save(update_fields=["entitlement_overrides"])
    app_id = uuid.uuid4()
    with in_tenant(tenant):
        made = services.app_monitor_ensure(
            tenant=tenant, app_id=app_id, name="web (app)", url="http://127.0.0.1:9/"
        )
    assert made is None
    skipped = AuditEvent.objects.get(action="monitor.app_monitor_skipped", tenant_id=tenant.pk)
    assert skipped.metadata["app_id"] == str(app_id)
    assert "monitors" in skipped.metadata["reason"]
