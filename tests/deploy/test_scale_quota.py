"""Scaling: within the tenant's `processes` limit it is a zero-downtime deployment of the same
release with another formation; beyond it, 409 quota-exceeded."""

import time

import pytest
from django_tenants.utils import tenant_context

from apps.deploy import services
from apps.deploy.models import Formation

from .factories import deployed_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def limit_3(settings):
    settings.DEPLOY_DEFAULT_MAX_PROCESSES = 3
    if hasattr(settings, "TENANT_DEFAULT_LIMITS"):
        settings.TENANT_DEFAULT_LIMITS = {**settings.TENANT_DEFAULT_LIMITS, "processes": 3}


def test_scaling_beyond_the_limit_is_409_quota_exceeded(world, client_for, limit_3):
    objs = deployed_app(world["tenant_a"], world["alice"])
    deployed_app(world["tenant_a"], world["alice"], name="other")  # runs web=1 already
    alice = client_for(world["alice"], world["tenant_a"])
    url = f"/api/v1/apps/{objs['app'].pk}/scale"

    response = alice.post(url, {"formation": {"web": 2, "worker": 1}}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert body["type"] == "/problems/quota-exceeded"
    assert body["limit"] == "processes"
    assert body["allowed"] == 3 and body["requested"] == 4
    with tenant_context(world["tenant_a"]):
        assert Formation.objects.get(app=objs["app"], process_type="web").count == 1

    ok = alice.post(url, {"formation": {"web": 2}}, format="json")
    assert ok.status_code == 202, ok.json()
    assert ok.json()["formation"] == {"web": 2, "worker": 0}
    assert ok.json()["kind"] == "scale"


def test_scale_input_is_checked(world, client_for):
    objs = deployed_app(world["tenant_a"], world["alice"])
    alice = client_for(world["alice"], world["tenant_a"])
    url = f"/api/v1/apps/{objs['app'].pk}/scale"
    assert alice.post(url, {"formation": {"nope": 1}}, format="json").status_code == 400
    assert alice.post(url, {"formation": {"web": -1}}, format="json").status_code == 400
    assert alice.post(url, {"formation": {}}, format="json").status_code == 400
    assert alice.post(url, {"formation": "web=2"}, format="json").status_code == 400


@pytest.mark.runtime
def test_scale_up_and_down_serves_throughout(deployer, git_repo, runtime):
    app = deployer.create(git_repo)
    assert deployer.deploy(app).state == "live"
    host = deployer.hostname(app)
    with tenant_context(deployer.tenant):
        scale_up = services.app_scale(
            app=app, tenant=deployer.tenant, actor=services.SYSTEM, formation={"web": 2}
        )
    scale_up = deployer.run(scale_up)
    assert scale_up.state == "live", scale_up.failure_reason
    deadline = time.monotonic() + 5  # healthy can come before supervisord's startsecs (1 s)
    while True:
        web = [p for p in runtime.provider.status(app.pk.hex) if p.process_type == "web"]
        if "STARTING" not in {p.state for p in web} or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(web) == 2 and {p.state for p in web} == {"RUNNING"}
    routes = runtime.provider.caddy.current()["apps"]["http"]["servers"]["quayside"]["routes"]
    route = next(r for r in routes if r.get("@id") == f"app-{app.pk.hex}")
    upstreams = route["handle"][0]["upstreams"]
    assert len(upstreams) == 2
    assert {runtime.get(host).text for _ in range(6)} == {"v1"}
    with tenant_context(deployer.tenant):
        assert Formation.objects.get(app=app, process_type="web").count == 2
        scale_down = services.app_scale(
            app=app, tenant=deployer.tenant, actor=services.SYSTEM, formation={"web": 1}
        )
    assert deployer.run(scale_down).state == "live"
    assert len(runtime.provider.status(app.pk.hex)) == 1
    assert runtime.get(host).text == "v1"
