"""The Procfile's `release:` command runs once per new release, with the release's config,
before any process starts; a non-zero exit aborts the deployment with nothing changed."""

import pytest
from django_tenants.utils import tenant_context

from apps.deploy import services
from apps.deploy.models import App, Release

pytestmark = [pytest.mark.runtime, pytest.mark.django_db]

PROCFILE = "web: gunicorn --bind unix:$QUAYSIDE_SOCKET --workers 1 app:app\n"


def test_release_command_failure_aborts_with_nothing_changed(deployer, git_repo, runtime):
    app = deployer.create(git_repo)
    first = deployer.deploy(app)
    assert first.state == "live", first.failure_reason
    host = deployer.hostname(app)

    git_repo.commit(
        {
            "VERSION": "v2\n",
            "Procfile": PROCFILE + "release: echo migrating; exit 3\n",
        },
        "v2 with a failing release phase",
    )
    second = deployer.deploy(app)

    assert second.state == "failed"
    assert second.failure_step == "releasing"
    assert "exited with status 3" in second.failure_reason
    assert "starting" not in second.steps  # no process was started
    assert "migrating" in deployer.logs(second)
    assert runtime.get(host).text == "v1"
    with tenant_context(deployer.tenant):
        app = App.objects.get(pk=app.pk)
        assert app.current_release_id == first.release_id
        assert Release.objects.get(pk=second.release_id).status == "failed"
    keys = {key for app_key, key in runtime.provider.program_keys() if app_key == app.pk.hex}
    assert keys == {first.pk.hex[:12]}


def test_release_command_runs_with_the_release_config(deployer, git_repo, runtime):
    app = deployer.create(git_repo)
    with tenant_context(deployer.tenant):
        services.env_vars_update(
            app=app, tenant=deployer.tenant, actor=services.SYSTEM, changes={"GREETING": "ahoy"}
        )
    git_repo.commit(
        {"Procfile": PROCFILE + 'release: echo "greeting=$GREETING" > release-ran.txt; id -un\n'}
    )
    deployment = deployer.deploy(app)
    assert deployment.state == "live", deployment.failure_reason
    with tenant_context(deployer.tenant):
        release = Release.objects.get(pk=deployment.release_id)
    assert release.status == "succeeded"
    assert release.release_command.startswith("echo")
    logs = deployer.logs(deployment)
    assert "Running the release command" in logs
    if runtime.provider.run_as is not None:  # Quayside runs as root: apps do not
        assert runtime.provider.run_as.name in logs.splitlines()
