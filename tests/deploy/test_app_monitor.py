"""Each deployed app gets an HTTP monitor on its web URL: created when its first deployment goes
live (through the outbox, so deploy never imports monitoring), checked for real through Caddy,
and removed with the app."""

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.core.outbox import outbox_dispatch
from apps.monitoring import scheduler
from apps.monitoring.models import Monitor
from apps.monitoring.schedule.models import CheckSchedule

pytestmark = [pytest.mark.runtime, pytest.mark.django_db]


def test_a_deployed_app_is_monitored_until_it_is_deleted(deployer, git_repo, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    app = deployer.create(git_repo)
    outbox_dispatch()
    with tenant_context(deployer.tenant):
        assert not Monitor.objects.filter(app_id=app.pk).exists()  # not live yet

    assert deployer.deploy(app).state == "live"
    outbox_dispatch()
    with tenant_context(deployer.tenant):
        monitor = Monitor.objects.get(app_id=app.pk)
    assert monitor.kind == "http"
    assert monitor.url.startswith(f"http://{deployer.hostname(app)}:")
    assert monitor.name == f"{app.name} (app)"

    CheckSchedule.objects.filter(monitor_id=monitor.pk).update(next_run_at=timezone.now())
    scheduler.run_due(budget_s=5, idle_exit=True)
    with tenant_context(deployer.tenant):
        monitor.refresh_from_db()
    assert monitor.status == "up", monitor.last_error

    assert deployer.deploy(app).state == "live"  # a redeploy keeps the one monitor
    outbox_dispatch()
    with tenant_context(deployer.tenant):
        assert Monitor.objects.filter(app_id=app.pk).count() == 1

    from apps.deploy import services

    with tenant_context(deployer.tenant):
        services.app_delete(
            app=app, tenant=deployer.tenant, actor=services.Actor(user=deployer.world["alice"])
        )
    outbox_dispatch()
    with tenant_context(deployer.tenant):
        assert not Monitor.objects.filter(app_id=app.pk).exists()
    assert not CheckSchedule.objects.filter(monitor_id=monitor.pk).exists()
