"""Journeys 2, 3, 4 and 6 as a viewer, in a real browser: the pages show what the app is and
none of the controls a viewer cannot use, and a POST forged from the viewer's page (their
session, the CSRF token the page was given) is refused 403 and changes nothing.

The controls are the ones the owner and member use in tests/browser/test_journeys_apps.py:
"Add app" and Deploy (journey 2), the env var form, Edit, Unset and Reveal (3), the domain form,
Verify and Remove (4), Restart, Roll back and Delete (6). A 403 from a CSRF failure would look
the same, so each refusal is checked to be the role's (no CSRF wording) and the rows are
re-read."""

from __future__ import annotations

import json
import uuid

import pytest
from django_tenants.utils import tenant_context

from apps.core import crypto
from apps.deploy.models import App, AppDomain, Deployment, EnvVar, Release
from apps.tenants.models import Role
from apps.tenants.services import tenant_create
from tests.deploy.factories import deployed_app

pytestmark = pytest.mark.browser

BASE = "/console/deploy/app/"


@pytest.fixture(autouse=True)
def _no_pipeline_behind_the_pages(monkeypatch):
    """Nothing may deploy for real if a refusal failed (and no eager Celery from elsewhere)."""
    from apps.deploy import services, suspension
    from config.celery import app as celery_app

    monkeypatch.setattr(services, "enqueue_deployment", lambda pk: None)
    monkeypatch.setattr(services, "enqueue_reconcile", lambda pk: None)
    monkeypatch.setattr(suspension, "enqueue_tenant_reconcile", lambda pk: None)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = eager


@pytest.fixture
def viewing(page, person, login, console_url):
    """A tenant with a deployed app (releases v1 and v2, v2 current), a pending domain and an
    env var; its viewer signed in on `page`. Returns (page, tenant, app, url(suffix))."""
    owner = person(email=f"owner-{uuid.uuid4().hex[:6]}@viewer.example")
    tenant = tenant_create(name="Viewer Co", slug=f"view{uuid.uuid4().hex[:6]}", owner=owner)
    viewer = person(tenant, Role.VIEWER)
    objs = deployed_app(tenant, owner, name="lookout")
    app = objs["app"]
    with tenant_context(tenant):
        v1 = objs["release"]
        v2 = Release.objects.create(
            app=app, version=2, build=v1.build, config_encrypted=crypto.encrypt(json.dumps({})),
            config_keys=[], process_types=v1.process_types, status="succeeded",
            description="Set FLAG",
        )  # fmt: skip
        App.objects.filter(pk=app.pk).update(current_release=v2)
    login(page, viewer, tenant)

    def url(suffix: str = "") -> str:
        return console_url(tenant, f"{BASE}{app.pk}/{suffix}")

    return page, tenant, app, url


def _absent(page, *selectors: str) -> None:
    for selector in selectors:
        assert page.locator(selector).count() == 0, f"a viewer sees {selector}"


def _forged_post(page, url: str, data: dict | None = None) -> None:
    """POST from the viewer's page (its session cookie, the CSRF token it was given): refused
    403 for the role. Sent by the page's own fetch: Playwright's `page.request` resolves names
    outside Chromium, and <slug>.localhost is only mapped inside it."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    status, text = page.evaluate(
        """async ([url, token, data]) => {
            const body = new URLSearchParams({csrfmiddlewaretoken: token, ...data});
            const r = await fetch(url, {method: 'POST', redirect: 'manual', body,
                                        headers: {'X-CSRFToken': token}});
            return [r.status, await r.text()];
        }""",
        [url, token, data or {}],
    )
    assert status == 403, (url, status)
    assert "CSRF" not in text, "refused for the token, not for the role"


def test_journey2_viewer_cannot_create_or_deploy(viewing, console_url):
    page, tenant, app, url = viewing
    page.goto(console_url(tenant, BASE))
    assert page.get_by_role("link", name="lookout").count() >= 1  # the viewer reads the list
    _absent(page, 'a[href$="/deploy/app/add/"]')
    assert page.get_by_role("link", name="Add app").count() == 0
    page.goto(url())
    assert page.locator("#app-summary").count() == 1
    _absent(page, "#deploy", "#deploy-button", "#restart-button", "#scale-form", "#danger")
    forged = {"name": "forged", "git_url": "https://git.example.com/x.git", "branch": "main"}
    _forged_post(page, console_url(tenant, f"{BASE}add/"), forged)
    _forged_post(page, url("deploy/"), {"ref": "main"})
    with tenant_context(tenant):
        assert not App.objects.filter(name="forged").exists()
        assert Deployment.objects.filter(app=app).count() == 1


def test_journey3_viewer_cannot_change_or_reveal_env_vars(viewing):
    page, tenant, app, url = viewing
    page.goto(url("env/"))
    assert page.locator("#env-SECRET_KEY").count() == 1
    assert "very-secret-value" not in page.content()
    _absent(page, "#env-form", 'a:has-text("Reveal")', 'a:has-text("Edit")',
            'button:has-text("Unset")')  # fmt: skip
    _forged_post(page, url("env/"), {"key": "FORGED", "value": "1"})
    _forged_post(page, url("env/unset/"), {"key": "SECRET_KEY"})
    _forged_post(page, url("env/reveal/?key=SECRET_KEY"), {"key": "SECRET_KEY", "password": "x"})
    with tenant_context(tenant):
        assert list(EnvVar.objects.filter(app=app).values_list("key", flat=True)) == ["SECRET_KEY"]


def test_journey4_viewer_cannot_add_verify_or_remove_domains(viewing):
    page, tenant, app, url = viewing
    with tenant_context(tenant):
        domain = AppDomain.objects.get(app=app)
    page.goto(url("domains/"))
    card = page.locator(f"#domain-{domain.pk}")
    assert card.locator('[data-role="verification"]').count() == 1  # the state is shown
    _absent(page, "#domain-form", 'button:has-text("Verify now")', 'button:has-text("Remove")')
    _forged_post(page, url("domains/"), {"hostname": "forged.example.com"})
    _forged_post(page, url(f"domains/{domain.pk}/verify/"))
    _forged_post(page, url(f"domains/{domain.pk}/remove/"))
    with tenant_context(tenant):
        assert list(AppDomain.objects.filter(app=app).values_list("pk", flat=True)) == [domain.pk]


def test_journey6_viewer_cannot_roll_back_restart_or_delete(viewing):
    page, tenant, app, url = viewing
    with tenant_context(tenant):
        v1 = Release.objects.get(app=app, version=1)
    page.goto(url("releases/"))
    assert page.locator("#release-v1").count() == 1 and page.locator("#release-v2").count() == 1
    _absent(page, 'a:has-text("Roll back")', 'button:has-text("Restart")')
    page.goto(url(f"releases/{v1.pk}/rollback/"))
    _absent(page, 'button:has-text("Roll back to v1")')
    page.goto(url("delete/"))
    _absent(page, "#confirm-name", 'button:has-text("Delete app")')
    page.goto(url("activity/"))  # the viewer reads the activity feed
    assert page.locator("main, #content").first.is_visible()
    _forged_post(page, url(f"releases/{v1.pk}/rollback/"))
    _forged_post(page, url("restart/"))
    _forged_post(page, url("delete/"), {"confirm_name": app.name})
    with tenant_context(tenant):
        assert App.objects.filter(pk=app.pk).exists()
        assert not Deployment.objects.filter(app=app, kind="rollback").exists()
        assert Deployment.objects.filter(app=app).count() == 1
        assert App.objects.get(pk=app.pk).current_release.version == 2
