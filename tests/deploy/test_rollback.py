"""Rolling back makes a new release from an old one's build and config: the old code runs
again, with the old env vars, and the env vars themselves are restored."""

import pytest
from django_tenants.utils import tenant_context

from apps.deploy import services
from apps.deploy.models import App, Release

pytestmark = [pytest.mark.runtime, pytest.mark.django_db]


def _set(deployer, app, **changes):
    with tenant_context(deployer.tenant):
        return services.env_vars_update(
            app=app, tenant=deployer.tenant, actor=services.SYSTEM, changes=changes
        )


def test_rollback_restores_code_and_config(deployer, git_repo, runtime):
    app = deployer.create(git_repo)
    _set(deployer, app, COLOUR="blue")
    first = deployer.deploy(app)
    assert first.state == "live", first.failure_reason
    host = deployer.hostname(app)
    assert runtime.get(host, "/env?COLOUR").text == "blue"

    git_repo.commit({"VERSION": "v2\n"}, "v2")
    second = deployer.deploy(app)
    _release, config_change = _set(deployer, app, COLOUR="green", EXTRA="yes-please")
    assert config_change is not None and config_change.kind == "config"
    config_change = deployer.run(config_change)
    assert config_change.state == "live", config_change.failure_reason
    assert runtime.get(host).text == "v2"
    assert runtime.get(host, "/env?COLOUR").text == "green"

    with tenant_context(deployer.tenant):
        old = Release.objects.get(pk=first.release_id)
        rollback = services.release_rollback(
            app=app, release=old, tenant=deployer.tenant, actor=services.SYSTEM
        )
    rollback = deployer.run(rollback)

    assert rollback.state == "live", rollback.failure_reason
    assert runtime.get(host).text == "v1"
    assert runtime.get(host, "/env?COLOUR").text == "blue"
    assert runtime.get(host, "/env?EXTRA").text == ""
    with tenant_context(deployer.tenant):
        new = Release.objects.get(pk=rollback.release_id)
        # v1 config (set before any deploy), v2 deploy, v3 deploy, v4 config, v5 rollback
        assert (old.version, new.version) == (2, 5)
        assert new.build_id == old.build_id
        assert new.rollback_of_id == old.pk
        assert new.description == "Rollback to v2"
        assert services.config_of(App.objects.get(pk=app.pk)) == {"COLOUR": "blue"}
        assert second.release_id != new.pk
