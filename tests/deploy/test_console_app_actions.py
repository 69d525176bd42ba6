"""The tenant console's app pages change things through the API's services: each POST's effect
shows, a role below the API's floor is refused (403) and changes nothing, services' refusals
are messages (never a 500), and the deployment log streams to a signed-in member."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django_tenants.utils import tenant_context

from apps.core.models import AuditEvent
from apps.deploy.models import App, AppDomain, Deployment, DeploymentLog, EnvVar

from . import console_support, test_domains
from .console_support import BASE, HOST, get, page, post
from .factories import deployed_app

pytestmark = pytest.mark.django_db

people = console_support.people  # fixture
dns_server = test_domains.dns_server  # fixture


@pytest.fixture
def shop(world):
    return deployed_app(world["tenant_a"], world["alice"])


def in_alpha(world, fn):
    with tenant_context(world["tenant_a"]):
        return fn()


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_member_creates_an_app_from_a_git_url(client, people, world):
    response = post(client, people["member"], f"{BASE}add/", {
        "name": "hello", "git_url": "https://git.example.com/acme/hello.git", "branch": "main",
    })  # fmt: skip
    app = in_alpha(world, lambda: App.objects.get(name="hello"))
    assert response.status_code == 302 and response["Location"] == page(app)
    assert app.git_url_display == "https://git.example.com/acme/hello.git"


def test_a_refused_name_shows_on_the_form(client, people, world):
    response = post(client, people["member"], f"{BASE}add/", {
        "name": "Not A Name", "git_url": "https://git.example.com/a.git", "branch": "main",
    })  # fmt: skip
    assert response.status_code == 400
    assert "lower-case letters" in response.content.decode()
    assert not in_alpha(world, lambda: App.objects.filter(name__icontains="name").exists())


def test_deploy_a_chosen_ref_then_watch_it(client, people, shop, world):
    response = post(client, people["member"], page(shop["app"], "deploy/"), {"ref": "v1.2"})
    deployment = in_alpha(world, lambda: Deployment.objects.get(app=shop["app"], ref="v1.2"))
    assert response["Location"] == page(shop["app"], f"deployments/{deployment.pk}/")
    assert deployment.state == "queued" and deployment.started_by_label == "member-apps@example.com"
    status = get(
        client, people["viewer"], page(shop["app"], f"deployments/{deployment.pk}/status/")
    )
    body = status.json()
    assert body["state"] == "queued" and body["percent"] == 0 and not body["final"]
    assert [s["name"] for s in body["steps"]][:3] == ["queued", "fetching", "building"]
    assert body["steps"][0]["status"] == "current"


def test_a_bad_ref_is_a_message(client, people, shop):
    response = post(client, people["member"], page(shop["app"], "deploy/"), {"ref": "a..b"})
    assert response.status_code == 302 and response["Location"] == page(shop["app"])
    assert any(t.startswith("Deploy:") for t in texts(response))


def test_env_vars_set_edit_unset_deploy_the_change(client, people, shop, world):
    owner = people["owner"]
    response = post(client, owner, page(shop["app"], "env/"), {"key": "API_TOKEN", "value": "t0k"})
    config = in_alpha(world, lambda: Deployment.objects.get(app=shop["app"], kind="config"))
    assert response["Location"] == page(shop["app"], f"deployments/{config.pk}/")
    assert config.release.description == "Set API_TOKEN"
    post(client, owner, page(shop["app"], "env/"), {"key": "API_TOKEN", "value": "t1k"})
    post(client, owner, page(shop["app"], "env/unset/"), {"key": "SECRET_KEY"})
    keys = in_alpha(
        world, lambda: sorted(EnvVar.objects.filter(app=shop["app"]).values_list("key", flat=True))
    )
    assert keys == ["API_TOKEN"]
    # …each saved as a release of its own, deployed (v1 was the factory's).
    releases = get(client, owner, page(shop["app"], "releases/")).content.decode()
    assert "Unset SECRET_KEY" in releases and 'removed <span class="qs-mono">SECRET_KEY' in releases


def test_a_reserved_name_is_a_form_message(client, people, shop):
    response = post(
        client, people["owner"], page(shop["app"], "env/"), {"key": "PORT", "value": "1"}
    )
    assert response.status_code == 400
    assert "set by Quayside itself" in " ".join(texts(response))


def test_reveal_asks_for_the_password_and_is_audited(client, people, shop, world):
    owner = people["owner"]
    path = page(shop["app"], "env/reveal/")
    assert 'type="password"' in get(client, owner, f"{path}?key=SECRET_KEY").content.decode()
    wrong = post(client, owner, path, {"key": "SECRET_KEY", "password": "nope"})
    assert wrong.status_code == 400 and "very-secret-value" not in wrong.content.decode()
    assert not AuditEvent.objects.filter(action="env_var.revealed").exists()
    right = post(client, owner, path, {"key": "SECRET_KEY", "password": "pw-alice@example.com"})
    assert right.status_code == 200 and "very-secret-value" in right.content.decode()
    assert "no-cache" in right["Cache-Control"] or "max-age=0" in right["Cache-Control"]
    event = AuditEvent.objects.get(action="env_var.revealed")
    assert event.metadata["key"] == "SECRET_KEY" and event.actor_label == "alice@example.com"
    missing = post(client, owner, path, {"key": "NOPE", "password": "pw-alice@example.com"})
    assert missing.status_code == 302 and "No variable called NOPE" in " ".join(texts(missing))


def test_reveal_stops_after_five_wrong_passwords(client, people, shop):
    """The reveal page cannot be used to guess a password: after five wrong ones in 15 minutes
    it refuses (429), the right one included, and every wrong one is in the audit log."""
    admin = people["admin"]  # made for this test: its counter starts at zero
    path = page(shop["app"], "env/reveal/")
    for _ in range(5):
        wrong = post(client, admin, path, {"key": "SECRET_KEY", "password": "guess"})
        assert wrong.status_code == 400
    refused = post(client, admin, path, {"key": "SECRET_KEY", "password": "pw-admin"})
    assert refused.status_code == 429
    html = refused.content.decode()
    assert "Too many wrong passwords" in html and "very-secret-value" not in html
    assert not AuditEvent.objects.filter(action="env_var.revealed").exists()
    failures = AuditEvent.objects.filter(action="env_var.reveal_refused", actor_user_id=admin.pk)
    assert failures.count() == 5 and failures.first().severity == "warning"


def test_add_a_domain_then_verify_it(client, people, shop, world, dns_server):
    owner = people["owner"]
    response = post(client, owner, page(shop["app"], "domains/"), {"hostname": "www.shop.test"})
    domain = in_alpha(world, lambda: AppDomain.objects.get(hostname="www.shop.test"))
    assert response["Location"].endswith(f"domains/#domain-{domain.pk}")
    verify = page(shop["app"], f"domains/{domain.pk}/verify/")
    response = post(client, owner, verify)
    assert "not verified yet" in " ".join(texts(response))
    dns_server.records[domain.record_name] = [domain.record_value]
    response = post(client, owner, verify)
    assert "is verified" in " ".join(texts(response))
    html = get(client, owner, page(shop["app"], "domains/")).content.decode()
    assert 'data-role="verification">verified<' in html
    taken = post(client, owner, page(shop["app"], "domains/"), {"hostname": "www.shop.test"})
    assert taken.status_code == 400 and "already in use" in " ".join(texts(taken))


def test_scale_within_the_limit_and_beyond_it(client, people, shop, world, settings):
    settings.DEPLOY_DEFAULT_MAX_PROCESSES = 3
    member = people["member"]
    response = post(
        client, member, page(shop["app"], "scale/"), {"count-web": "2", "count-worker": "1"}
    )
    assert "Scaling to web=2, worker=1." in texts(response)
    scale = in_alpha(world, lambda: Deployment.objects.get(app=shop["app"], kind="scale"))
    assert scale.formation == {"web": 2, "worker": 1}
    response = post(client, member, page(shop["app"], "scale/"), {"count-web": "9"})
    assert response.status_code == 302
    assert any("this tenant may run 3" in t for t in texts(response))
    assert in_alpha(world, lambda: Deployment.objects.filter(kind="scale").count()) == 1


def test_roll_back_after_confirming_and_restart(client, people, shop, world):
    member = people["member"]
    path = page(shop["app"], f"releases/{shop['release'].pk}/rollback/")
    # v2 (a config change) becomes current, so v1 may be rolled back to.
    post(client, people["owner"], page(shop["app"], "env/"), {"key": "A", "value": "1"})
    in_alpha(world, lambda: App.objects.filter(pk=shop["app"].pk).update(
        current_release=shop["app"].releases.get(version=2)))  # fmt: skip
    assert "Roll back to v1</button>" in get(client, member, path).content.decode()
    response = post(client, member, path)
    rollback = in_alpha(world, lambda: Deployment.objects.get(app=shop["app"], kind="rollback"))
    assert response["Location"] == page(shop["app"], f"deployments/{rollback.pk}/")
    assert rollback.release.rollback_of_id == shop["release"].pk
    response = post(client, member, page(shop["app"], "restart/"))
    restart = in_alpha(world, lambda: Deployment.objects.get(app=shop["app"], kind="restart"))
    assert response["Location"] == page(shop["app"], f"deployments/{restart.pk}/")
    activity = get(client, people["viewer"], page(shop["app"], "activity/")).content.decode()
    for action in ("release.rolled_back", "env_vars.updated", "app.created"):
        assert action in activity
    assert "member-apps@example.com" in activity and "alice@example.com" in activity


def test_delete_needs_the_typed_name(client, people, shop, world):
    owner = people["owner"]
    path = page(shop["app"], "delete/")
    wrong = post(client, owner, path, {"confirm_name": "shoe"})
    assert wrong.status_code == 400 and "Type shop to delete it." in wrong.content.decode()
    assert in_alpha(world, lambda: App.objects.filter(pk=shop["app"].pk).exists())
    response = post(client, owner, path, {"confirm_name": "shop"})
    assert response.status_code == 302 and response["Location"] == BASE
    assert not in_alpha(world, lambda: App.objects.filter(pk=shop["app"].pk).exists())
    assert AuditEvent.objects.filter(action="app.deleted", target_id=str(shop["app"].pk)).exists()


def test_deleting_with_a_running_deployment_is_a_message(client, people, shop, world):
    post(client, people["member"], page(shop["app"], "deploy/"))
    running = in_alpha(world, lambda: Deployment.objects.get(app=shop["app"], state="queued"))
    in_alpha(world, lambda: App.objects.filter(pk=shop["app"].pk).update(active_deployment=running))
    response = post(client, people["owner"], page(shop["app"], "delete/"), {"confirm_name": "shop"})
    assert response.status_code == 302 and "cancel it first" in " ".join(texts(response))


# --- Refusals ------------------------------------------------------------------------------------


def forged(shop) -> dict[str, tuple[str, dict]]:
    """Every write, with the least role the API gives it."""
    app, domain, release = shop["app"], shop["domain"], shop["release"]
    deployment = shop["deployment"]
    return {
        f"{BASE}add/": ("member", {"name": "forged", "git_url": "https://git.example.com/f.git"}),
        page(app, "deploy/"): ("member", {"ref": "main"}),
        page(app, "restart/"): ("member", {}),
        page(app, "scale/"): ("member", {"count-web": "2"}),
        page(app, f"releases/{release.pk}/rollback/"): ("member", {}),
        page(app, f"deployments/{deployment.pk}/cancel/"): ("member", {}),
        page(app, "env/"): ("admin", {"key": "FORGED", "value": "1"}),
        page(app, "env/unset/"): ("admin", {"key": "SECRET_KEY"}),
        page(app, "env/reveal/"): ("admin", {"key": "SECRET_KEY", "password": "pw-viewer"}),
        page(app, "domains/"): ("admin", {"hostname": "forged.example.com"}),
        page(app, f"domains/{domain.pk}/verify/"): ("admin", {}),
        page(app, f"domains/{domain.pk}/remove/"): ("admin", {}),
        page(app, "delete/"): ("admin", {"confirm_name": app.name}),
    }


@pytest.mark.parametrize("who", ["viewer", "member"])
def test_forged_posts_below_the_apis_role_are_refused(client, people, shop, world, who):
    for path, (least, data) in forged(shop).items():
        if who == "member" and least == "member":
            continue
        response = post(client, people[who], path, data)
        assert response.status_code == 403, (who, path, response.status_code)
    with tenant_context(world["tenant_a"]):
        assert Deployment.objects.filter(app=shop["app"]).count() == 1
        assert list(EnvVar.objects.filter(app=shop["app"]).values_list("key", flat=True)) == [
            "SECRET_KEY"
        ]
        assert AppDomain.objects.filter(app=shop["app"]).count() == 1
        assert App.objects.count() == 1
    assert not AuditEvent.objects.filter(action="env_var.revealed").exists()


def test_a_suspended_tenant_refuses_writes_with_423(client, people, shop, world):
    world["tenant_a"].status = "suspended"
    world["tenant_a"].save()
    response = post(client, people["owner"], page(shop["app"], "deploy/"))
    assert response.status_code == 423
    html = get(client, people["owner"], page(shop["app"])).content.decode()
    assert 'id="deploy-button"' not in html
    assert in_alpha(world, lambda: Deployment.objects.count()) == 1


# --- The live log --------------------------------------------------------------------------------


def test_the_log_stream_sends_lines_then_the_end(client, people, shop, world, settings):
    settings.DEPLOY_LOG_STREAM_MAX_S = 5
    deployment = shop["deployment"]
    in_alpha(world, lambda: DeploymentLog.objects.create(
        deployment=deployment, stream="release", line="migrated"))  # fmt: skip
    response = get(
        client, people["viewer"], page(shop["app"], f"deployments/{deployment.pk}/stream/")
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    body = b"".join(response.streaming_content).decode()
    assert '"line": "built"' in body and '"line": "migrated"' in body
    assert body.rstrip().endswith('event: end\ndata: {"state": "live"}')
    first = in_alpha(
        world, lambda: DeploymentLog.objects.filter(deployment=deployment).order_by("id").first()
    )
    resumed = get(
        client,
        people["viewer"],
        page(shop["app"], f"deployments/{deployment.pk}/stream/"),
        HTTP_LAST_EVENT_ID=str(first.id),
    )
    body = b"".join(resumed.streaming_content).decode()
    assert '"line": "built"' not in body and '"line": "migrated"' in body


def test_the_log_stream_refuses_outsiders_and_other_tenants(client, people, shop, world):
    path = page(shop["app"], f"deployments/{shop['deployment'].pk}/stream/")
    assert get(client, people["bob"], path).status_code == 404
    assert get(client, people["bob"], path, host="bravo.localhost").status_code == 404
    client.logout()
    signed_out = client.get(path, HTTP_HOST=HOST)
    assert signed_out.status_code == 302 and "login" in signed_out["Location"]


def test_runtime_logs_page_searches(client, people, shop):
    html = get(
        client, people["viewer"], page(shop["app"], "logs/?q=error&lines=100")
    ).content.decode()
    assert 'value="error"' in html and 'id="runtime-log"' in html
    lines = get(client, people["viewer"], page(shop["app"], "logs/lines/?q=error")).json()
    assert lines == {"lines": [], "q": "error"}  # nothing runs here: no output
