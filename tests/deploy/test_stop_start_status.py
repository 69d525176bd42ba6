"""Stopping an app stops its processes (the router answers 503 for it); starting it runs the
current release again; status shows the processes with their health, CPU and memory."""

import time

import pytest
from django_tenants.utils import tenant_context

from apps.deploy import reconcile, services
from apps.deploy.models import App

pytestmark = [pytest.mark.runtime, pytest.mark.django_db]


def test_stop_start_and_status(deployer, git_repo, runtime, client_for, world):
    app = deployer.create(git_repo)
    live = deployer.deploy(app)
    host = deployer.hostname(app)
    alice = client_for(world["alice"], world["tenant_a"])

    # The health check can pass before supervisord's startsecs (1 s) has made STARTING RUNNING.
    deadline = time.monotonic() + 5
    while True:
        status = alice.get(f"/api/v1/apps/{app.pk}/status").json()
        [process] = status["processes"]
        if process["state"] != "STARTING" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status["runtime_error"] == ""
    assert process["type"] == "web" and process["state"] == "RUNNING" and process["healthy"]
    assert process["deployment_key"] == live.pk.hex[:12]
    assert process["memory_bytes"] > 1_000_000 and process["pid"]

    assert alice.post(f"/api/v1/apps/{app.pk}/stop").status_code == 202
    with tenant_context(deployer.tenant):  # what the queued deploy.reconcile_app task does
        reconcile.reconcile_app(app.pk)
        services.routes_sync_quietly()
    assert runtime.provider.status(app.pk.hex) == []
    assert runtime.get(host).status_code == 503

    started = alice.post(f"/api/v1/apps/{app.pk}/start")
    assert started.status_code == 202 and started.json()["kind"] == "start"
    with tenant_context(deployer.tenant):
        from apps.deploy.models import Deployment

        deployment = deployer.run(Deployment.objects.get(pk=started.json()["id"]))
        assert deployment.state == "live", deployment.failure_reason
        assert App.objects.get(pk=app.pk).status == "running"
    assert runtime.get(host).text == "v1"
