"""A redeploy under a stream of requests through Caddy: no request fails, and traffic moves
from the old release to the new one without Caddy's config changing."""

import time

import pytest

from .conftest import Load

pytestmark = [pytest.mark.runtime, pytest.mark.django_db]


def test_redeploy_under_load_loses_no_request(deployer, git_repo, runtime):
    app = deployer.create(git_repo)
    first = deployer.deploy(app)
    assert first.state == "live", first.failure_reason
    host = deployer.hostname(app)
    assert runtime.get(host).text == "v1"
    caddy_before = runtime.provider.caddy.current()

    git_repo.commit({"VERSION": "v2\n"}, "v2")
    with Load(runtime, host) as load:
        time.sleep(0.5)
        second = deployer.deploy(app)
        time.sleep(0.5)

    assert second.state == "live", second.failure_reason
    assert load.failures == []
    assert load.requests > 100
    assert {"v1", "v2"} <= set(load.bodies)
    assert load.bodies[-1] == "v2"
    assert runtime.get(host).text == "v2"
    # The switch did not touch Caddy's config (that would close every idle keep-alive).
    assert runtime.provider.caddy.current() == caddy_before
    # Only the new deployment's processes remain.
    keys = {key for app_key, key in runtime.provider.program_keys() if app_key == app.pk.hex}
    assert keys == {second.pk.hex[:12]}
    assert set(second.steps) >= {
        "fetching",
        "building",
        "releasing",
        "starting",
        "verifying",
        "switching",
        "live",
        "draining",
    }
