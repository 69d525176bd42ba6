"""Journey 2 with nothing written by the test: a member creates an app from a git repository in
the console, deploys a branch, and watches the real pipeline's build and release log stream into
the page with its steps as a progress bar, then opens the app's URL from the page and gets the
app's own answer, served through the session's local runtime (supervisord, Caddy, the sandbox).

The deployment runs where a Celery worker would run it, in a thread of this process (the task's
body, `pipeline.deployment_execute`, in the tenant's schema), so the page and the pipeline share
the test database that the live server reads."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from apps.deploy.models import App, Deployment
from apps.tenants.models import Role
from apps.tenants.services import tenant_create
from tests.deploy.conftest import GitRepo

pytestmark = [pytest.mark.browser, pytest.mark.runtime]


@pytest.fixture
def worker(monkeypatch):
    """services.enqueue_deployment runs the deployment in a thread, as a worker would."""
    from apps.deploy import services, suspension

    threads: list[threading.Thread] = []
    tenant_of: dict = {}

    def run(deployment_id) -> None:
        from apps.deploy import pipeline

        def work() -> None:
            try:
                with tenant_context(tenant_of["tenant"]):
                    pipeline.deployment_execute(deployment_id)
            finally:
                connection.close()

        thread = threading.Thread(target=work, name="deploy-worker", daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(services, "enqueue_deployment", run)
    monkeypatch.setattr(services, "enqueue_reconcile", lambda pk: None)
    monkeypatch.setattr(suspension, "enqueue_tenant_reconcile", lambda pk: None)
    yield tenant_of
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a deployment never finished"


def test_journey2_a_real_deployment_streams_into_the_page(
    page, login, console_url, shoot, axe_check, person, runtime, worker, tmp_path
):
    tenant = tenant_create(name="Real Deploys", slug=f"real{uuid.uuid4().hex[:6]}",
                           owner=person())  # fmt: skip
    worker["tenant"] = tenant
    member = person(tenant, Role.MEMBER)
    repo = GitRepo(tmp_path / "hello")
    repo.commit({"VERSION": "hello from a real build\n"})
    app_id = None
    try:
        login(page, member, tenant)
        page.goto(console_url(tenant, "/console/deploy/app/add/"))
        page.fill("input[name=name]", "hello")
        page.fill("input[name=git_url]", str(repo.path))
        page.fill("input[name=branch]", "main")
        page.get_by_role("button", name="Create app").click()
        page.wait_for_selector("#deploy-button")
        with tenant_context(tenant):
            app_id = App.objects.get(name="hello").pk
        page.fill("#id_ref", "main")
        page.click("#deploy-button")
        page.wait_for_url("**/deployments/**")

        # The pipeline's own lines arrive while the page is open: the build's, then the switch.
        page.wait_for_selector("#deployment-log >> text=/Build finished in/", timeout=90_000)
        shoot(page, "journey2-real-1-building")
        page.wait_for_selector("#log-status >> text=finished", timeout=90_000)
        page.wait_for_selector('#deployment-bar[aria-valuenow="100"]')
        with tenant_context(tenant):
            deployment = Deployment.objects.get(app_id=app_id)
        assert deployment.state == "live", deployment.failure_reason
        log = page.locator("#deployment-log").inner_text()
        assert "[build]" in log and "Build finished in" in log
        axe_check(page)
        shoot(page, "journey2-real-2-live")

        # "Open app" is the app's address on the runtime's HTTP port; the app answers there.
        href = page.locator("#open-app").get_attribute("href")
        assert href == f"http://hello-{tenant.slug}.apps.localhost:{runtime.port}/", href
        with page.context.expect_page() as opened:
            page.click("#open-app")
        app_page = opened.value
        app_page.wait_for_load_state()
        assert app_page.locator("body").inner_text().strip() == "hello from a real build"
    finally:
        if app_id is not None:
            runtime.provider.remove_app(app_id.hex)
