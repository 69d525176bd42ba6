"""What the API and the pipeline say and do about a suspended tenant's apps, without a runtime:
the status answer and the app say it is suspended (the app's own status stays as it was, for the
resume), and a deployment queued before the suspension is refused when it would start, without
building anything."""

import pytest
from django_tenants.utils import tenant_context

from apps.core.models import AuditEvent
from apps.deploy import pipeline, services
from apps.deploy.models import App, Build, Deployment, DeploymentLog
from apps.deploy.runtime.local import LocalProvider
from apps.tenants import services as tenant_services

from .factories import deployed_app

pytestmark = pytest.mark.django_db

REFUSED = "The tenant is suspended; nothing was deployed."


@pytest.fixture
def no_processes(monkeypatch):
    """The runtime as a suspended tenant leaves it: nothing of the app runs."""
    monkeypatch.setattr(LocalProvider, "status", lambda self, app_key: [])


def test_status_and_app_say_suspended_while_the_app_keeps_its_own_status(
    world, client_for, no_processes
):
    tenant, alice = world["tenant_a"], world["alice"]
    app = deployed_app(tenant, alice)["app"]
    client = client_for(alice, tenant)

    status = client.get(f"/api/v1/apps/{app.pk}/status").json()
    assert (status["status"], status["suspended"]) == ("running", False)
    assert client.get(f"/api/v1/apps/{app.pk}").json()["suspended"] is False

    tenant_services.tenant_suspend(tenant=tenant, reason="unpaid")
    response = client.get(f"/api/v1/apps/{app.pk}/status")
    assert response.status_code == 200, response.content
    status = response.json()
    assert (status["status"], status["suspended"]) == ("suspended", True)
    assert status["processes"] == []
    detail = client.get(f"/api/v1/apps/{app.pk}").json()
    assert (detail["status"], detail["suspended"]) == ("running", True)
    [listed] = client.get("/api/v1/apps").json()["results"]
    assert listed["suspended"] is True
    with tenant_context(tenant):
        assert App.objects.get(pk=app.pk).status == "running"  # the tenant's own choice

    tenant_services.tenant_resume(tenant=tenant)
    status = client.get(f"/api/v1/apps/{app.pk}/status").json()
    assert (status["status"], status["suspended"]) == ("running", False)


def test_a_deployment_queued_before_the_suspension_is_refused_without_a_build(
    world, monkeypatch, django_capture_on_commit_callbacks, _no_broker_from_deploy_tests
):
    tenant, alice = world["tenant_a"], world["alice"]
    app = deployed_app(tenant, alice)["app"]
    with tenant_context(tenant):
        first = services.deployment_create(app=app, tenant=tenant, actor=services.SYSTEM)
        second = services.deployment_create(app=app, tenant=tenant, actor=services.SYSTEM)
        new_app, _secret = services.app_create(
            tenant=tenant, actor=services.SYSTEM, name="fresh",
            git_url="https://git.example.com/acme/fresh.git",
        )  # fmt: skip
        never_live = services.deployment_create(app=new_app, tenant=tenant, actor=services.SYSTEM)
    tenant_services.tenant_suspend(tenant=tenant, reason="unpaid")

    def no_build(*args, **kwargs):
        raise AssertionError("a suspended tenant's deployment was built")

    monkeypatch.setattr(pipeline.Runner, "run", no_build)
    monkeypatch.setattr(pipeline.Runner, "__init__", no_build)
    _no_broker_from_deploy_tests.clear()
    with tenant_context(tenant):
        with django_capture_on_commit_callbacks(execute=True):
            assert pipeline.deployment_execute(first.pk) == "not run (canceled)"
        first.refresh_from_db()
        assert first.state == "canceled"
        assert first.failure_reason == REFUSED
        assert first.finished_at is not None and first.started_at is None
        assert first.build_id is None and Build.objects.filter(app=app).count() == 1
        assert REFUSED in DeploymentLog.objects.filter(deployment=first).values_list(
            "line", flat=True
        )
        app.refresh_from_db()
        # The slot is free and the app keeps its status and live deployment.
        assert app.active_deployment_id is None
        assert app.status == "running" and app.live_deployment_id is not None
        assert AuditEvent.objects.filter(
            action="deployment.canceled", target_id=str(first.pk)
        ).exists()
        # The next queued one was sent, and is refused the same way.
        assert ("deploy", second.pk) in _no_broker_from_deploy_tests
        assert pipeline.deployment_execute(second.pk) == "not run (canceled)"
        assert Deployment.objects.get(pk=second.pk).failure_reason == REFUSED
        # An app that never went live stays `new`: nothing was tried, nothing failed.
        pipeline.deployment_execute(never_live.pk)
        assert Deployment.objects.get(pk=never_live.pk).state == "canceled"
        assert App.objects.get(pk=new_app.pk).status == "new"
