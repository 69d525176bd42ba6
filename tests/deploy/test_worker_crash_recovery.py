"""A deployment whose worker dies is not left running for ever: the reaper fails it (or
finishes it, when traffic had already been switched) and the reconciler makes the runtime match
the database again. The first test kills a real Celery worker half way through a deployment."""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from apps.deploy import pipeline, reconcile, services
from apps.deploy.models import App, Deployment
from tests.conftest import ROOT, _database_url

from .conftest import Deployer

pytestmark = pytest.mark.runtime


def _start_worker(runtime, queue: str) -> subprocess.Popen:
    env = {
        **os.environ,
        **runtime.env,
        "DEPLOY_HEALTH_TIMEOUT_S": "60",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "QS_TEST_RUN_ID": settings.CACHES["default"]["KEY_PREFIX"].removeprefix("qs-test-"),
        "DATABASE_URL": _database_url(),
    }
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-P", "solo",
        "-c", "1", "--without-mingle", "--without-gossip", "-l", "warning",
        "-n", f"crash-{uuid.uuid4().hex[:6]}@%h",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env)


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_killing_the_worker_mid_deploy_is_repaired(world, runtime, git_repo, django_db_blocker):
    from apps.deploy.tasks import deployment_run

    with django_db_blocker.unblock():  # committed rows: the worker is another process
        helper = Deployer(world, runtime)
        app = helper.create(git_repo)
        worker = None
        try:
            first = helper.deploy(app)
            assert first.state == "live", first.failure_reason
            host = helper.hostname(app)
            # v2 never passes its health check, so the deployment waits in `verifying`.
            git_repo.commit({"VERSION": "v2\n", "HEALTH": "503\n"}, "v2")
            queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-crash"
            worker = _start_worker(runtime, queue)
            with tenant_context(helper.tenant):
                second = services.deployment_create(
                    app=app, tenant=helper.tenant, actor=services.SYSTEM
                )
                deployment_run.apply_async(args=[str(second.pk)], queue=queue)

            def verifying():
                with tenant_context(helper.tenant):
                    state = Deployment.objects.get(pk=second.pk).state
                keys = runtime.provider.program_keys()
                return state == "verifying" and (app.pk.hex, second.pk.hex[:12]) in keys

            _wait_for(verifying, 60, "the deployment to reach verifying")
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            assert runtime.get(host).text == "v1"

            report = reconcile.reconcile_all(stale_after_s=0)

            assert report["reap"]["reaped"] >= 1
            with tenant_context(helper.tenant):
                second = Deployment.objects.get(pk=second.pk)
                app_now = App.objects.get(pk=app.pk)
            assert second.state == "failed"
            assert (
                "worker running this deployment stopped during verifying" in second.failure_reason
            )
            assert app_now.live_deployment_id == first.pk
            assert app_now.active_deployment_id is None
            keys = {k for a, k in runtime.provider.program_keys() if a == app.pk.hex}
            assert keys == {first.pk.hex[:12]}
            assert runtime.get(host).text == "v1"

            # The runtime drifts (a process is stopped behind our back): the reconciler repairs.
            runtime.provider.supervisor._call(
                "stopProcessGroup", runtime.provider.program(app.pk.hex, first.pk.hex[:12], "web")
            )
            assert runtime.get(host).status_code == 502
            report = reconcile.reconcile_all(stale_after_s=0)
            assert any("restarted" in a for a in report["apps"][str(app.pk)])
            _wait_for(lambda: runtime.get(host).status_code == 200, 15, "the app to serve again")
            assert runtime.get(host).text == "v1"
        finally:
            if worker is not None and worker.poll() is None:
                worker.kill()
                worker.wait()
            helper.cleanup()
            with tenant_context(helper.tenant):
                App.objects.filter(pk=app.pk).delete()


class WorkerDied(BaseException):
    """Stands for the worker vanishing: no handler of the pipeline catches it."""


@pytest.mark.django_db
def test_a_worker_dying_right_after_the_switch_is_finished_by_the_reaper(
    deployer, git_repo, runtime, monkeypatch
):
    app = deployer.create(git_repo)
    first = deployer.deploy(app)
    git_repo.commit({"VERSION": "v2\n"}, "v2")

    def die(self):
        raise WorkerDied

    monkeypatch.setattr(pipeline.Runner, "commit_switch", die)
    with tenant_context(deployer.tenant):
        second = services.deployment_create(app=app, tenant=deployer.tenant, actor=services.SYSTEM)
        with pytest.raises(WorkerDied):
            pipeline.deployment_execute(second.pk)
        assert Deployment.objects.get(pk=second.pk).state == "switching"
    monkeypatch.undo()
    host = deployer.hostname(app)
    assert runtime.get(host).text == "v2"  # the symlinks were switched before it "died"

    reconcile.reconcile_all(stale_after_s=0)

    with tenant_context(deployer.tenant):
        second.refresh_from_db()
        assert second.state == "live"
        assert App.objects.get(pk=app.pk).live_deployment_id == second.pk
    keys = {k for a, k in runtime.provider.program_keys() if a == app.pk.hex}
    assert keys == {second.pk.hex[:12]}
    assert runtime.get(host).text == "v2"
    assert first.pk != second.pk


@pytest.mark.django_db
def test_an_app_held_by_a_finished_deployment_is_freed(
    deployer, git_repo, runtime, django_capture_on_commit_callbacks, _no_broker_from_deploy_tests
):
    app = deployer.create(git_repo)
    live = deployer.deploy(app)
    with tenant_context(deployer.tenant):
        # The worker died after the deployment went live, before letting go of the app.
        App.objects.filter(pk=app.pk).update(active_deployment=live)
        waiting = services.deployment_create(app=app, tenant=deployer.tenant, actor=services.SYSTEM)
        assert pipeline.deployment_execute(waiting.pk) == "not run (queued)"
        with django_capture_on_commit_callbacks(execute=True):
            actions = reconcile.reconcile_app(app.pk, provider=runtime.provider)
        assert "freed the app from a deployment that had ended" in actions
        assert App.objects.get(pk=app.pk).active_deployment_id is None
    assert ("deploy", waiting.pk) in _no_broker_from_deploy_tests
    assert deployer.run(waiting).state == "live"
