"""Journeys 2 to 6 in a real browser: an app created from a git URL and deployed with its log
streaming live; env vars; domains; scale, processes and runtime logs; releases, rollback,
restart, activity and delete. Each checks a viewer (no controls; a forged POST refused), axe,
and the page at 375 px (no sideways scroll, the primary action visible).

No runtime runs here: the deployment's build log lines and its steps are written by the test
while the page is open (what the pipeline would write), so the stream and the progress bar are
the real ones, fed by rows, not by a build. Likewise the CPU and memory samples of journey 5
are rows (tests/deploy/factories.py: usage_history); the charts uPlot draws from them are real."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.deploy.models import App, AppDomain, Deployment, DeploymentLog, EnvVar
from apps.tenants.models import Role
from apps.tenants.services import tenant_create
from tests.browser.charts import chart_drawn
from tests.deploy.factories import deployed_app, usage_history

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _no_pipeline_behind_the_pages(monkeypatch):
    """The journeys write what the pipeline would (log lines, steps) while the page listens;
    no task may run it for real behind them (nor an eager Celery left on by an earlier test)."""
    from apps.deploy import services, suspension
    from config.celery import app as celery_app

    sent: list = []
    monkeypatch.setattr(services, "enqueue_deployment", lambda pk: sent.append(("deploy", pk)))
    monkeypatch.setattr(services, "enqueue_reconcile", lambda pk: sent.append(("reconcile", pk)))
    monkeypatch.setattr(
        suspension, "enqueue_tenant_reconcile", lambda pk: sent.append(("tenant", pk))
    )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield sent
    celery_app.conf.task_always_eager = eager


BASE = "/console/deploy/app/"


@pytest.fixture
def team(person):
    owner = person(email=f"owner-{uuid.uuid4().hex[:6]}@apps.example")
    # Schemas outlive the truncation between tests: a slug of its own each time.
    tenant = tenant_create(name="Apps Team", slug=f"apps{uuid.uuid4().hex[:6]}", owner=owner)
    return {
        "tenant": tenant,
        "owner": owner,
        "viewer": person(tenant, Role.VIEWER),
        "member": person(tenant, Role.MEMBER),
    }


def _app_path(app, suffix: str = "") -> str:
    return f"{BASE}{app.pk}/{suffix}"


def _phone_check(mobile_page, login, console_url, team, path, primary, no_horizontal_scroll):
    """At 375 px: nothing scrolls sideways and the primary action is in view."""
    login(mobile_page, team["owner"], team["tenant"])
    mobile_page.goto(console_url(team["tenant"], path))
    no_horizontal_scroll(mobile_page)
    control = mobile_page.locator(primary).first
    control.scroll_into_view_if_needed()
    assert control.is_visible()


def _viewer_sees_no_controls(page, login, console_url, team, path, selectors, post_path):
    """The viewer's page has none of `selectors`, and a POST forged to `post_path` is 403."""
    login(page, team["viewer"], team["tenant"])
    page.goto(console_url(team["tenant"], path))
    for selector in selectors:
        assert page.locator(selector).count() == 0, selector
    token = page.evaluate("() => document.cookie.match(/csrftoken=([^;]+)/)?.[1] || ''")
    status = page.evaluate(
        """async ([url, token]) => (await fetch(url, {method: 'POST',
            headers: {'X-CSRFToken': token}, body: new URLSearchParams({ref: 'main'})})).status""",
        [console_url(team["tenant"], post_path), token],
    )
    assert status == 403, status


def test_journey2_create_deploy_and_watch_the_log(
    page, mobile_page, login, console_url, shoot, axe_check, no_horizontal_scroll, team
):
    tenant = team["tenant"]
    login(page, team["member"], tenant)
    page.goto(console_url(tenant, BASE))
    page.get_by_role("link", name="Add app").first.click()
    page.fill("input[name=name]", "hello")
    page.fill("input[name=git_url]", "https://git.example.com/acme/hello.git")
    page.fill("input[name=branch]", "main")
    shoot(page, "journey2-1-new-app")
    axe_check(page)
    page.get_by_role("button", name="Create app").click()
    page.wait_for_selector("#deploy-button")
    page.fill("#id_ref", "v1.0")
    page.click("#deploy-button")
    page.wait_for_url("**/deployments/**")
    with tenant_context(tenant):
        deployment = Deployment.objects.get(app__name="hello")
        assert deployment.ref == "v1.0" and deployment.state == "queued"
    # What the pipeline writes, while the page listens.
    now = timezone.now().isoformat()
    with tenant_context(tenant):
        DeploymentLog.objects.create(deployment=deployment, stream="build", line="Cloning v1.0")
        DeploymentLog.objects.create(deployment=deployment, stream="build", line="Built it")
        Deployment.objects.filter(pk=deployment.pk).update(
            state="building",
            steps={"fetching": {"started_at": now, "finished_at": now},
                   "building": {"started_at": now}},
        )  # fmt: skip
    page.wait_for_selector("#deployment-log >> text=Built it")
    page.wait_for_selector('#deployment-steps [data-step="building"][data-status="current"]')
    shoot(page, "journey2-2-deploying")
    with tenant_context(tenant):
        DeploymentLog.objects.create(deployment=deployment, stream="release", line="Released")
        steps = {
            s: {"started_at": now, "finished_at": now}
            for s in ("fetching", "building", "releasing", "starting", "verifying", "switching")
        }
        Deployment.objects.filter(pk=deployment.pk).update(
            state="live", steps={**steps, "live": {"started_at": now}}, finished_at=timezone.now()
        )  # fmt: skip
    page.wait_for_selector("#log-status >> text=finished")
    page.wait_for_selector('#deployment-bar[aria-valuenow="100"]')
    assert f"hello-{tenant.slug}." in page.get_by_role("link", name="Open app").get_attribute(
        "href"
    )
    axe_check(page)
    shoot(page, "journey2-3-live")
    _phone_check(mobile_page, login, console_url, team, _app_path(App(pk=deployment.app_id)),
                 "#deploy-button", no_horizontal_scroll)  # fmt: skip


def test_journey3_env_vars(
    page, mobile_page, login, console_url, shoot, axe_check, no_horizontal_scroll, team
):
    tenant = team["tenant"]
    objs = deployed_app(tenant, team["owner"])
    env = _app_path(objs["app"], "env/")
    login(page, team["owner"], tenant)
    page.goto(console_url(tenant, env))
    assert "very-secret-value" not in page.content()
    page.fill("input[name=key]", "API_TOKEN")
    page.fill("textarea[name=value]", "tok-1")
    shoot(page, "journey3-1-env")
    axe_check(page)
    page.get_by_role("button", name="Save and deploy").click()
    page.wait_for_url("**/deployments/**")
    page.goto(console_url(tenant, env))
    page.get_by_role("button", name="Unset SECRET_KEY").click()
    page.goto(console_url(tenant, env))
    page.get_by_role("link", name="Reveal").first.click()
    page.fill("input[name=password]", "quayside-browser-pw-wrong")
    page.get_by_role("button", name="Reveal").click()
    assert page.locator("#revealed-value").count() == 0
    page.fill("input[name=password]", "quayside-browser-pw")
    page.get_by_role("button", name="Reveal").click()
    assert page.locator("#revealed-value").inner_text().strip() == "tok-1"
    shoot(page, "journey3-2-revealed")
    with tenant_context(tenant):
        assert list(EnvVar.objects.values_list("key", flat=True)) == ["API_TOKEN"]
    _phone_check(mobile_page, login, console_url, team, env, "#env-form button",
                 no_horizontal_scroll)  # fmt: skip


def test_journey4_domains(
    page, mobile_page, login, console_url, shoot, axe_check, no_horizontal_scroll, team
):
    tenant = team["tenant"]
    objs = deployed_app(tenant, team["owner"])
    domains = _app_path(objs["app"], "domains/")
    login(page, team["owner"], tenant)
    page.goto(console_url(tenant, domains))
    page.fill("input[name=hostname]", "www.journey.test")
    page.get_by_role("button", name="Add domain").click()
    with tenant_context(tenant):
        domain = AppDomain.objects.get(hostname="www.journey.test")
    card = page.locator(f"#domain-{domain.pk}")
    assert domain.record_value in card.inner_text()
    assert card.locator('[data-role="verification"]').inner_text() == "pending"
    assert card.locator('[data-role="certificate"]').inner_text() == "none"
    axe_check(page)
    shoot(page, "journey4-1-domains")
    _phone_check(mobile_page, login, console_url, team, domains, "#domain-form button",
                 no_horizontal_scroll)  # fmt: skip


def test_journey5_scale_processes_and_logs(
    page, mobile_page, login, console_url, shoot, axe_check, no_horizontal_scroll, team, settings
):
    settings.DEPLOY_DEFAULT_MAX_PROCESSES = 2
    tenant = team["tenant"]
    objs = deployed_app(tenant, team["owner"])
    usage_history(tenant, objs["app"])  # 6 hours of samples of web.0 and web.1, an OOM kill
    overview = _app_path(objs["app"])
    login(page, team["member"], tenant)
    page.goto(console_url(tenant, overview))
    page.fill("#count-web", "5")
    page.locator("#scale-form button").click()
    page.wait_for_selector("text=this tenant may run 2")
    page.fill("#count-web", "2")
    page.locator("#scale-form button").click()
    page.wait_for_selector("text=Scaling to web=2")
    # CPU and memory, drawn by uPlot (static/console/charts.js): a line per process, the
    # legend naming them, the OOM kill's red mark and the plan's limit.
    for chart in ("#usage-memory", "#usage-cpu"):
        assert chart_drawn(page, chart)["legend"] == 3  # time, web.0, web.1
        chart_drawn(page, chart, colour="#16a34a")  # web.1's line
    chart_drawn(page, "#usage-memory", colour="#dc2626")
    assert "Memory (MB): peak" in page.locator("#usage-memory figcaption").inner_text()
    axe_check(page)
    shoot(page, "journey5-1-overview")
    page.goto(console_url(tenant, _app_path(objs["app"], "logs/?q=listening")))
    assert page.locator("#logs-q").input_value() == "listening"
    axe_check(page)
    shoot(page, "journey5-2-logs")
    viewer = page.context.browser.new_context().new_page()
    _viewer_sees_no_controls(viewer, login, console_url, team, overview,
                             ["#deploy-button", "#scale-form", "#restart-button"],
                             overview + "scale/")  # fmt: skip
    _phone_check(mobile_page, login, console_url, team, overview, "#deploy-button",
                 no_horizontal_scroll)  # fmt: skip
    assert 250 < chart_drawn(mobile_page, "#usage-cpu")["width"] < 375


def test_journey6_releases_rollback_restart_activity_delete(
    page, mobile_page, login, console_url, shoot, axe_check, no_horizontal_scroll, team
):
    tenant = team["tenant"]
    objs = deployed_app(tenant, team["owner"])
    app = objs["app"]
    login(page, team["owner"], tenant)
    page.goto(console_url(tenant, _app_path(app, "env/")))
    page.fill("input[name=key]", "FLAG")
    page.fill("textarea[name=value]", "on")
    page.get_by_role("button", name="Save and deploy").click()
    with tenant_context(tenant):
        App.objects.filter(pk=app.pk).update(current_release=app.releases.get(version=2))
    page.goto(console_url(tenant, _app_path(app, "releases/")))
    shoot(page, "journey6-1-releases")
    axe_check(page)
    page.locator("#release-v1").get_by_role("link", name="Roll back").click()
    shoot(page, "journey6-2-confirm")
    page.get_by_role("button", name="Roll back to v1").click()
    page.wait_for_url("**/deployments/**")
    with tenant_context(tenant):
        assert Deployment.objects.filter(app=app, kind="rollback").exists()
        Deployment.objects.filter(app=app).exclude(state="live").update(state="canceled")
    page.goto(console_url(tenant, _app_path(app, "activity/")))
    assert "release.rolled_back" in page.content() and team["owner"].email in page.content()
    shoot(page, "journey6-3-activity")
    axe_check(page)
    _phone_check(mobile_page, login, console_url, team, _app_path(app, "delete/"),
                 "#delete button", no_horizontal_scroll)  # fmt: skip
    page.goto(console_url(tenant, _app_path(app, "delete/")))
    page.fill("#confirm-name", app.name)
    page.get_by_role("button", name="Delete app").click()
    page.wait_for_url(f"**{BASE}")
    with tenant_context(tenant):
        assert not App.objects.filter(pk=app.pk).exists()
