"""Automatic app monitors (apps.monitoring.app_monitors, an outbox consumer): an app over the
tenant's monitor limit runs unmonitored and the audit log says so; a deployment event of an app
deleted meanwhile makes no monitor."""

from apps.core.models import AuditEvent
from apps.monitoring import services
from apps.monitoring.models import Monitor
from tests.monitoring.factories import in_tenant


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
