"""A release whose health check fails never gets traffic: the old release keeps serving (no
request fails meanwhile), the new processes are stopped, and the deployment says why."""

import time

import pytest
from django_tenants.utils import tenant_context

from apps.deploy.models import App

from .conftest import Load

pytestmark = [pytest.mark.runtime, pytest.mark.django_db]


def test_failing_health_check_leaves_the_old_release_serving(deployer, git_repo, runtime, settings):
    settings.DEPLOY_HEALTH_TIMEOUT_S = 3.0
    app = deployer.create(git_repo)
    first = deployer.deploy(app)
    assert first.state == "live", first.failure_reason
    host = deployer.hostname(app)

    git_repo.commit({"VERSION": "v2\n", "HEALTH": "500\n"}, "v2 with a broken health check")
    with Load(runtime, host, threads=2) as load:
        time.sleep(0.3)
        second = deployer.deploy(app)
        time.sleep(0.3)

    assert second.state == "failed"
    assert second.failure_step == "verifying"
    assert "Health check failed" in second.failure_reason
    assert "HTTP 500" in second.failure_reason
    assert "previous release keeps serving" in second.failure_reason
    assert load.failures == []
    assert set(load.bodies) == {"v1"}
    assert runtime.get(host).text == "v1"
    with tenant_context(deployer.tenant):
        app = App.objects.get(pk=app.pk)
        assert app.live_deployment_id == first.pk
        assert app.current_release_id == first.release_id
        assert app.active_deployment_id is None
    keys = {key for app_key, key in runtime.provider.program_keys() if app_key == app.pk.hex}
    assert keys == {first.pk.hex[:12]}
    # The new processes' own output is in the deployment's log, for whoever debugs it.
    assert "Listening at" in deployer.logs(second)


def test_a_web_process_that_cannot_start_fails_fast(deployer, git_repo, runtime):
    app = deployer.create(git_repo)
    git_repo.commit({"Procfile": "web: python -c 'raise SystemExit(3)'\n"}, "broken web")
    started = time.monotonic()
    deployment = deployer.deploy(app)
    assert deployment.state == "failed"
    assert (
        "exited" in deployment.failure_reason or "Health check failed" in deployment.failure_reason
    )
    assert time.monotonic() - started < 20
    with tenant_context(deployer.tenant):
        assert App.objects.get(pk=app.pk).status == "failed"
    assert not [k for a, k in runtime.provider.program_keys() if a == app.pk.hex]
