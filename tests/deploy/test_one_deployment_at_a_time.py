"""One deployment per app at a time: a second one waits in the queue and is started when the
first lets go of the app; a running one can be canceled (it stops at once, nothing changed)."""

import threading
import time

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from apps.deploy import pipeline, services
from apps.deploy.models import App, Deployment

from .conftest import Deployer

pytestmark = pytest.mark.runtime


@pytest.mark.django_db
def test_a_second_deployment_waits_for_the_first(deployer, git_repo, _no_broker_from_deploy_tests):
    app = deployer.create(git_repo)
    assert deployer.deploy(app).state == "live"
    actor = services.SYSTEM
    with tenant_context(deployer.tenant):
        first = services.deployment_create(app=app, tenant=deployer.tenant, actor=actor)
        second = services.deployment_create(app=app, tenant=deployer.tenant, actor=actor)
        App.objects.filter(pk=app.pk).update(active_deployment=first)  # first is "running"
        assert pipeline.deployment_execute(second.pk) == "not run (queued)"
        assert pipeline.deployment_execute(first.pk) == "live"
        assert App.objects.get(pk=app.pk).active_deployment_id is None
    # Letting go of the app sent the next queued deployment.
    assert ("deploy", second.pk) in _no_broker_from_deploy_tests
    assert deployer.run(second).state == "live"


def test_canceling_a_running_deployment_stops_it(world, runtime, git_repo, django_db_blocker):
    with django_db_blocker.unblock():  # two threads: the rows must be committed
        helper = Deployer(world, runtime)
        app = helper.create(git_repo)
        try:
            first = helper.deploy(app)
            assert first.state == "live"
            git_repo.commit(
                {
                    "VERSION": "v2\n",
                    "Procfile": "web: gunicorn --bind unix:$QUAYSIDE_SOCKET app:app\n"
                    "release: echo slow release; sleep 30\n",
                }
            )
            with tenant_context(helper.tenant):
                second = services.deployment_create(
                    app=app, tenant=helper.tenant, actor=services.SYSTEM
                )

            def cancel_when_releasing():
                try:
                    _cancel_when_releasing()
                finally:
                    connection.close()  # this thread's own connection

            def _cancel_when_releasing():
                with tenant_context(helper.tenant):
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline:
                        current = Deployment.objects.get(pk=second.pk)
                        if current.state == "releasing":
                            services.deployment_cancel(
                                deployment=current, tenant=helper.tenant, actor=services.SYSTEM
                            )
                            return
                        time.sleep(0.1)

            canceler = threading.Thread(target=cancel_when_releasing)
            canceler.start()
            started = time.monotonic()
            second = helper.run(second)
            canceler.join()
            assert second.state == "canceled"
            assert time.monotonic() - started < 15  # did not wait for the 30 s release command
            assert "Canceled on request" in second.failure_reason
            assert helper.runtime.get(helper.hostname(app)).text == "v1"
            with tenant_context(helper.tenant):
                app_now = App.objects.get(pk=app.pk)
                assert app_now.live_deployment_id == first.pk
                assert app_now.active_deployment_id is None
        finally:
            helper.cleanup()
            with tenant_context(helper.tenant):
                App.objects.filter(pk=app.pk).delete()
