"""Suspending a tenant stops its apps and the router answers 503 for them; resuming brings back
the apps that were running (not the ones the tenant had stopped itself). The tenants app only
emits `tenant.suspended` / `tenant.resumed`; deploy's outbox consumer queues a reconcile of the
tenant at once, and the periodic reconciler converges on its own too."""

import time

import pytest
from django_tenants.utils import tenant_context

from apps.core.actor import Actor
from apps.core.outbox import outbox_dispatch
from apps.deploy import reconcile, services, tasks
from apps.deploy.models import App
from apps.tenants import services as tenant_services

pytestmark = pytest.mark.django_db

SUSPENDED_BODY = "This app is unavailable: its account is suspended.\n"


def _dispatch(django_capture_on_commit_callbacks, sent) -> list:
    """Hand the outbox to its consumers, as the core.outbox_dispatch task does; the tenant
    reconciles deploy's consumer queued."""
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        outbox_dispatch()
    return [pk for kind, pk in sent if kind == "reconcile_tenant"]


def _wait_for_200(runtime, host: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        response = runtime.get(host)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_the_consumer_queues_one_reconcile_per_suspended_or_resumed_tenant(
    world, django_capture_on_commit_callbacks, _no_broker_from_deploy_tests
):
    alpha, bravo = world["tenant_a"], world["tenant_b"]
    outbox_dispatch()  # whatever earlier setup left pending
    tenant_services.tenant_suspend(tenant=alpha, reason="unpaid")
    tenant_services.tenant_resume(tenant=alpha)
    tenant_services.tenant_suspend(tenant=bravo, reason="operator")
    queued = _dispatch(django_capture_on_commit_callbacks, _no_broker_from_deploy_tests)
    assert sorted(map(str, queued)) == sorted([str(alpha.pk), str(bravo.pk)])
    # Other events (a rename) queue nothing.
    tenant_services.tenant_resume(tenant=bravo)
    _dispatch(django_capture_on_commit_callbacks, _no_broker_from_deploy_tests)
    tenant_services.tenant_rename(tenant=alpha, name="Alpha Two", actor=Actor(role="owner"))
    assert _dispatch(django_capture_on_commit_callbacks, _no_broker_from_deploy_tests) == []


@pytest.mark.runtime
def test_suspend_stops_and_unroutes_resume_brings_back_what_ran(
    deployer, git_repo, runtime, django_capture_on_commit_callbacks, _no_broker_from_deploy_tests
):
    sent = _no_broker_from_deploy_tests
    tenant = deployer.tenant
    running, stopped = deployer.create(git_repo), deployer.create(git_repo)
    for app in (running, stopped):
        assert deployer.deploy(app).state == "live"
    with tenant_context(tenant):  # the tenant stops one app itself
        services.app_stop(app=stopped, tenant=tenant, actor=services.SYSTEM)
        reconcile.reconcile_app(stopped.pk)
        services.routes_sync_quietly()
    running_host, stopped_host = deployer.hostname(running), deployer.hostname(stopped)
    assert runtime.get(running_host).text == "v1"
    assert runtime.get(stopped_host).status_code == 503

    tenant_services.tenant_suspend(tenant=tenant, reason="unpaid")
    assert _dispatch(django_capture_on_commit_callbacks, sent) == [tenant.pk]
    report = tasks.tenant_reconcile_task(str(tenant.pk))  # what the queued task runs
    assert report["apps"][str(running.pk)], report
    assert runtime.provider.status(running.pk.hex) == []
    assert runtime.provider.status(stopped.pk.hex) == []
    for host in (running_host, stopped_host):
        response = runtime.get(host)
        assert response.status_code == 503 and response.text == SUSPENDED_BODY
    with tenant_context(tenant):  # deploy keeps no copy of the suspension
        assert App.objects.get(pk=running.pk).status == "running"
        assert App.objects.get(pk=stopped.pk).status == "stopped"
        # The periodic reconciler agrees: nothing to start while the tenant is suspended.
        assert reconcile.reconcile_app(running.pk) == []

    tenant_services.tenant_resume(tenant=tenant)
    assert _dispatch(django_capture_on_commit_callbacks, sent) == [tenant.pk]
    tasks.tenant_reconcile_task(str(tenant.pk))
    assert _wait_for_200(runtime, running_host).text == "v1"
    assert [p.state for p in runtime.provider.status(running.pk.hex)] != []
    # The app the tenant had stopped stays stopped.
    assert runtime.provider.status(stopped.pk.hex) == []
    response = runtime.get(stopped_host)
    assert response.status_code == 503 and response.text == "This app is not running.\n"


@pytest.mark.runtime
def test_the_periodic_reconciler_converges_without_the_consumer(deployer, git_repo, runtime):
    tenant = deployer.tenant
    app = deployer.create(git_repo)
    assert deployer.deploy(app).state == "live"
    host = deployer.hostname(app)

    tenant_services.tenant_suspend(tenant=tenant, reason="unpaid")  # its event never dispatched
    report = reconcile.reconcile_all()
    assert any(a.startswith("stopped deployment") for a in report["apps"][str(app.pk)]), report
    assert runtime.provider.status(app.pk.hex) == []
    assert runtime.get(host).status_code == 503

    tenant_services.tenant_resume(tenant=tenant)
    reconcile.reconcile_all()
    assert _wait_for_200(runtime, host).text == "v1"
