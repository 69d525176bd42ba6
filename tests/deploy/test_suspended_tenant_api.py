"""What the API and the pipeline say and do about a suspended tenant's apps, without a runtime:
the status answer and the app say it is suspended (the app's own status stays as it was, for the
resume), and a deployment queued before the suspension is refused when it would start, without
building anything."""

import pytest
from django_tenants.utils import tenant_context

from apps.deploy.models import App
from apps.deploy.runtime.local import LocalProvider
from apps.tenants import services as tenant_services

from .factories import deployed_app

pytestmark = pytest.mark.django_db


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
