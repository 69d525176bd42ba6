"""The tenant console's app pages as each role sees them: every page renders for owner,
member and viewer with the controls that role may use and no others; another tenant's app is
404 on every page; list pages cost the same queries whatever their length."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from apps.core.audit import audit_record
from apps.deploy.models import AppDomain, Deployment, EnvVar, Release

from . import console_support
from .console_support import BASE, get, page, post
from .factories import deployed_app

pytestmark = pytest.mark.django_db

people = console_support.people  # fixture


@pytest.fixture
def shop(world):
    return deployed_app(world["tenant_a"], world["alice"])


def pages(objs) -> dict[str, str]:
    app = objs["app"]
    return {
        "overview": page(app),
        "change": page(app, "change/"),
        "env": page(app, "env/"),
        "domains": page(app, "domains/"),
        "logs": page(app, "logs/"),
        "releases": page(app, "releases/"),
        "activity": page(app, "activity/"),
        "deployment": page(app, f"deployments/{objs['deployment'].pk}/"),
        "rollback": page(app, f"releases/{objs['release'].pk}/rollback/"),
        "delete": page(app, "delete/"),
    }


# Markers of the controls on each page, and the least role that sees them (the API's).
CONTROLS = {
    "overview": {'id="deploy-button"': "member", 'id="scale-form"': "member",
                 'id="restart-button"': "member", "Delete this app": "admin"},
    "env": {'id="env-form"': "admin", ">Unset<": "admin", ">Reveal<": "admin"},
    "domains": {'id="domain-form"': "admin", "Verify now": "admin"},
    "rollback": {"Roll back to v1</button>": "member"},
    "delete": {'name="confirm_name"': "admin"},
}  # fmt: skip
RANK = {"viewer": 0, "member": 1, "admin": 2, "owner": 3}


@pytest.mark.parametrize("who", ["owner", "member", "viewer"])
def test_every_page_renders_with_the_controls_of_the_role(client, people, shop, who):
    for name, path in pages(shop).items():
        response = get(client, people[who], path)
        assert response.status_code == 200, (name, response.status_code)
        html = response.content.decode()
        assert shop["app"].name in html
        for marker, least in CONTROLS.get(name, {}).items():
            assert (marker in html) == (RANK[who] >= RANK[least]), (name, marker, who)


def test_the_overview_shows_url_processes_charts_and_deployments(client, people, shop):
    html = get(client, people["viewer"], page(shop["app"])).content.decode()
    assert "http://shop-alpha." in html  # the app's URL, opened from the page
    assert 'id="processes"' in html and "CPU and memory, last 24 hours" in html
    assert f"deployments/{shop['deployment'].pk}/" in html  # recent deployments link


def test_the_app_list_offers_add_to_members_not_viewers(client, people, shop):
    assert get(client, people["member"], BASE).status_code == 200
    assert "/console/deploy/app/add/" in get(client, people["member"], BASE).content.decode()
    assert "/console/deploy/app/add/" not in get(client, people["viewer"], BASE).content.decode()
    assert get(client, people["member"], f"{BASE}add/").status_code == 200
    assert get(client, people["viewer"], f"{BASE}add/").status_code == 403


def test_env_values_are_masked(client, people, shop):
    html = get(client, people["owner"], page(shop["app"], "env/")).content.decode()
    assert "SECRET_KEY" in html and "very-secret-value" not in html and "••••" in html


def test_domains_show_the_record_to_publish_and_both_states(client, people, shop):
    domain = shop["domain"]
    html = get(client, people["viewer"], page(shop["app"], "domains/")).content.decode()
    assert f"_quayside.{domain.hostname}" in html
    assert f"quayside-verification={domain.verification_token}" in html
    assert 'data-role="verification">pending<' in html
    assert 'data-role="certificate">none<' in html  # TLS off in tests, and not verified


def test_the_deployment_page_has_progress_and_its_log(client, people, shop):
    html = get(client, people["viewer"], pages(shop)["deployment"]).content.decode()
    assert 'role="progressbar"' in html and 'aria-valuenow="100"' in html
    assert 'data-step="building" data-status="done"' not in html  # steps not recorded: skipped
    assert 'data-step="live" data-status="done"' in html
    assert "[build]</span> built" in html
    assert "/stream/" in html  # the live stream's URL for the page's EventSource


def test_another_tenants_app_is_404_on_every_page(client, people, shop, world):
    bravo = deployed_app(world["tenant_b"], world["bob"], name="bshop")
    for name, path in pages(bravo).items():
        assert get(client, people["owner"], path).status_code == 404, name
    foreign = bravo["app"]
    posts = [
        "deploy/", "restart/", "scale/", "delete/", "env/", "env/unset/", "env/reveal/",
        "domains/", f"domains/{bravo['domain'].pk}/verify/",
        f"domains/{bravo['domain'].pk}/remove/", f"releases/{bravo['release'].pk}/rollback/",
        f"deployments/{bravo['deployment'].pk}/cancel/",
    ]  # fmt: skip
    for suffix in posts:
        response = post(client, people["owner"], page(foreign, suffix), {"key": "X"})
        assert response.status_code == 404, suffix
    for suffix in ("logs/lines/", f"deployments/{bravo['deployment'].pk}/stream/",
                   f"deployments/{bravo['deployment'].pk}/status/"):  # fmt: skip
        assert get(client, people["owner"], page(foreign, suffix)).status_code == 404, suffix
    # …and alpha's own objects under alpha's app, but another app's ids: 404 too.
    for suffix in (
        f"deployments/{bravo['deployment'].pk}/",
        f"releases/{bravo['release'].pk}/rollback/",
    ):
        assert get(client, people["owner"], page(shop["app"], suffix)).status_code == 404
    assert get(client, people["owner"], page(shop["app"], "deployments/nope/")).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, shop):
    response = client.get(page(shop["app"]), HTTP_HOST="alpha.localhost")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_outsiders_get_404(client, people, shop):
    assert get(client, people["outsider"], page(shop["app"])).status_code == 404


# --- Constant queries ----------------------------------------------------------------------------


def _queries(client, user, path) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, HTTP_HOST="alpha.localhost")
    assert response.status_code == 200
    return len(queries)


def _grow(world, objs, n: int) -> None:
    """n more releases, deployments, env vars, domains and audit entries of the app."""
    app = objs["app"]
    with tenant_context(world["tenant_a"]):
        start = Release.objects.filter(app=app).count()
        for i in range(n):
            release = Release.objects.create(
                app=app, version=start + i + 1, build=objs["build"], config_encrypted="x",
                config_keys=[f"K{i}"], status="succeeded", description=f"Set K{i}",
            )  # fmt: skip
            Deployment.objects.create(app=app, kind="config", state="live", release=release)
            EnvVar.objects.create(app=app, key=f"K{start + i}", value_encrypted="x")
            AppDomain.objects.create(
                app=app, hostname=f"d{start + i}.example.net", verification_token="t"
            )
    for i in range(n):
        audit_record(
            action="app.updated", tenant=world["tenant_a"], target_type="deploy.app",
            target_id=str(app.pk), metadata={"i": i},
        )  # fmt: skip


@pytest.mark.parametrize("name", ["overview", "env", "domains", "releases", "activity"])
def test_list_pages_cost_constant_queries(client, people, shop, world, name):
    path = pages(shop)[name]
    _grow(world, shop, 2)
    few = _queries(client, people["owner"], path)
    _grow(world, shop, 12)
    assert _queries(client, people["owner"], path) == few


def test_the_app_list_costs_constant_queries(client, people, world):
    deployed_app(world["tenant_a"], world["alice"], name="one")
    few = _queries(client, people["owner"], BASE)
    for i in range(6):
        deployed_app(world["tenant_a"], world["alice"], name=f"more{i}")
    assert _queries(client, people["owner"], BASE) == few


def test_the_deployment_and_release_lists_lead_to_the_apps_pages(client, people, shop, world):
    """The console's Deployments and Releases lists link to the admin's change URL; it opens
    the app's deployment page (steps, live log) and its releases tab, not a read-only form."""
    deployment, release = shop["deployment"], shop["release"]
    listing = get(client, people["viewer"], "/console/deploy/deployment/")
    assert listing.status_code == 200
    change = f"/console/deploy/deployment/{deployment.pk}/change/"
    assert change in listing.content.decode()
    opened = get(client, people["viewer"], change)
    assert opened.status_code == 302
    assert opened["Location"] == page(shop["app"], f"deployments/{deployment.pk}/")
    opened = get(client, people["viewer"], f"/console/deploy/release/{release.pk}/change/")
    assert opened["Location"] == page(shop["app"], "releases/")
    bravo = deployed_app(world["tenant_b"], world["bob"], name="bshop")
    for path in (
        f"/console/deploy/deployment/{bravo['deployment'].pk}/change/",
        f"/console/deploy/release/{bravo['release'].pk}/change/",
        "/console/deploy/deployment/not-a-uuid/change/",
    ):
        assert get(client, people["owner"], path).status_code == 404, path
