"""The /api/v1/apps API: shapes, status codes, roles and problem details (no runtime needed:
deployments are queued, not run)."""

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import tenant_context

from apps.core.models import AuditEvent
from apps.deploy.models import Deployment, EnvVar, Release
from apps.tenants.models import Membership

from .factories import deployed_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(world, client_for):
    return client_for(world["alice"], world["tenant_a"])


def _member(world, client_for, role):
    user = get_user_model().objects.create_user(
        username=f"{role}@example.com", email=f"{role}@example.com", password="x"
    )
    Membership.objects.create(tenant=world["tenant_a"], user=user, role=role)
    return client_for(user, world["tenant_a"])


def test_create_list_read_update_delete(world, alice, settings):
    settings.DEPLOY_ALLOW_LOCAL_GIT = False
    response = alice.post(
        "/api/v1/apps",
        {"name": "web-shop", "git_url": "https://bot:tok3n-xyz@github.com/acme/shop.git"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == f"/api/v1/apps/{body['id']}"
    assert body["webhook_secret"]
    assert body["git_url"] == "https://***@github.com/acme/shop.git"
    assert body["hostname"] == f"web-shop-alpha.{settings.APPS_DOMAIN}"
    assert body["status"] == "new" and body["current_release"] is None

    listed = alice.get("/api/v1/apps").json()
    assert [a["name"] for a in listed["results"]] == ["web-shop"]
    assert "webhook_secret" not in listed["results"][0]
    assert "tok3n" not in str(listed)

    updated = alice.patch(f"/api/v1/apps/{body['id']}", {"branch": "release"}, format="json")
    assert updated.status_code == 200 and updated.json()["branch"] == "release"
    assert alice.delete(f"/api/v1/apps/{body['id']}").status_code == 204
    assert alice.get(f"/api/v1/apps/{body['id']}").status_code == 404


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"name": "Bad Name"}, "name"),
        ({"name": "x"}, "name"),
        ({"name": "a--b"}, "name"),
        ({"name": "ok-name", "git_url": "ext::sh -c id"}, "git_url"),
        ({"name": "ok-name", "git_url": "/srv/local/repo"}, "git_url"),
        ({"name": "ok-name", "branch": "-x"}, "branch"),
        ({"name": "ok-name", "health_check_path": "healthz"}, "health_check_path"),
        ({}, "name"),
    ],
)
def test_create_rejects_bad_input_with_problem_details(alice, payload, field, settings):
    settings.DEPLOY_ALLOW_LOCAL_GIT = False
    response = alice.post("/api/v1/apps", payload, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field


def test_names_are_unique_per_tenant_and_hostnames_across_tenants(world, alice, client_for):
    assert alice.post("/api/v1/apps", {"name": "blog"}, format="json").status_code == 201
    assert alice.post("/api/v1/apps", {"name": "blog"}, format="json").status_code == 400
    bob = client_for(world["bob"], world["tenant_b"])
    assert bob.post("/api/v1/apps", {"name": "blog"}, format="json").status_code == 201


def test_malformed_json_is_a_400_problem(alice):
    response = alice.generic("POST", "/api/v1/apps", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["type"] == "/problems/malformed-request"


def test_deploy_answers_202_with_location_and_queues_one(
    world, alice, _no_broker_from_deploy_tests
):
    objs = deployed_app(world["tenant_a"], world["alice"])
    app = objs["app"]
    response = alice.post(f"/api/v1/apps/{app.pk}/deploy", {"ref": "v1.2"}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"] == f"/api/v1/apps/{app.pk}/deployments/{body['id']}"
    assert body["state"] == "queued" and body["ref"] == "v1.2" and body["kind"] == "deploy"
    assert body["started_by"] == "alice@example.com"
    detail = alice.get(response["Location"]).json()
    assert detail["id"] == body["id"]
    listed = alice.get(f"/api/v1/apps/{app.pk}/deployments").json()["results"]
    assert listed[0]["id"] == body["id"]
    assert (
        alice.post(f"/api/v1/apps/{app.pk}/deploy", {"ref": "../x"}, format="json").status_code
        == 400
    )


def test_deploy_without_a_git_url_is_409(alice):
    app_id = alice.post("/api/v1/apps", {"name": "nogit"}, format="json").json()["id"]
    response = alice.post(f"/api/v1/apps/{app_id}/deploy", {}, format="json")
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/conflict"


def test_cancel_a_queued_deployment_and_not_a_finished_one(world, alice):
    objs = deployed_app(world["tenant_a"], world["alice"])
    app = objs["app"]
    queued = alice.post(f"/api/v1/apps/{app.pk}/deploy", {}, format="json").json()
    canceled = alice.post(f"/api/v1/apps/{app.pk}/deployments/{queued['id']}/cancel")
    assert canceled.status_code == 202 and canceled.json()["state"] == "canceled"
    again = alice.post(f"/api/v1/apps/{app.pk}/deployments/{queued['id']}/cancel")
    assert again.status_code == 409
    live = alice.post(f"/api/v1/apps/{app.pk}/deployments/{objs['deployment'].pk}/cancel")
    assert live.status_code == 409


def test_a_new_deploy_can_supersede_queued_ones(world, alice):
    app = deployed_app(world["tenant_a"], world["alice"])["app"]
    first = alice.post(f"/api/v1/apps/{app.pk}/deploy", {}, format="json").json()
    second = alice.post(
        f"/api/v1/apps/{app.pk}/deploy", {"cancel_running": True}, format="json"
    ).json()
    with tenant_context(world["tenant_a"]):
        assert Deployment.objects.get(pk=first["id"]).state == "canceled"
        assert Deployment.objects.get(pk=second["id"]).state == "queued"


def test_env_vars_list_has_no_values_and_reveal_is_audited(world, alice, client_for):
    objs = deployed_app(world["tenant_a"], world["alice"])
    app = objs["app"]
    listed = alice.get(f"/api/v1/apps/{app.pk}/env-vars")
    assert listed.status_code == 200
    assert listed.json()["results"][0]["key"] == "SECRET_KEY"
    assert "very-secret-value" not in listed.content.decode()

    revealed = alice.post(f"/api/v1/apps/{app.pk}/env-vars/SECRET_KEY/reveal")
    assert revealed.json() == {"key": "SECRET_KEY", "value": "very-secret-value"}
    event = AuditEvent.objects.filter(action="env_var.revealed").latest("created_at")
    assert event.metadata == {"key": "SECRET_KEY"} and event.actor_label == "alice@example.com"
    assert alice.post(f"/api/v1/apps/{app.pk}/env-vars/NOPE/reveal").status_code == 404
    with tenant_context(world["tenant_a"]):
        stored = EnvVar.objects.get(app=app, key="SECRET_KEY").value_encrypted
    assert "very-secret-value" not in stored


def test_env_var_changes_make_a_release_and_a_config_deployment(world, alice):
    app = deployed_app(world["tenant_a"], world["alice"])["app"]
    response = alice.patch(
        f"/api/v1/apps/{app.pk}/env-vars",
        {"vars": {"NEW_ONE": "v", "SECRET_KEY": None}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["release"]["version"] == 2
    assert body["release"]["config_keys"] == ["NEW_ONE"]
    assert body["release"]["description"] == "Set NEW_ONE; Unset SECRET_KEY"
    assert body["deployment"]["kind"] == "config"
    assert body["deployment"]["release"]["version"] == 2
    keys = [v["key"] for v in alice.get(f"/api/v1/apps/{app.pk}/env-vars").json()["results"]]
    assert keys == ["NEW_ONE"]
    bad = alice.patch(f"/api/v1/apps/{app.pk}/env-vars", {"vars": {"PORT": "1"}}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "vars.PORT"
    bad = alice.patch(f"/api/v1/apps/{app.pk}/env-vars", {"vars": {"1X": "1"}}, format="json")
    assert bad.status_code == 400


def test_releases_list_and_rollback_to_a_failed_release_is_409(world, alice):
    objs = deployed_app(world["tenant_a"], world["alice"])
    app = objs["app"]
    with tenant_context(world["tenant_a"]):
        failed = Release.objects.create(
            app=app,
            version=2,
            build=objs["build"],
            config_encrypted=objs["release"].config_encrypted,
            status="failed",
        )
    releases = alice.get(f"/api/v1/apps/{app.pk}/releases").json()["results"]
    assert [r["version"] for r in releases] == [2, 1]
    assert releases[1]["current"] is True and releases[1]["config_keys"] == ["SECRET_KEY"]
    assert alice.post(f"/api/v1/apps/{app.pk}/releases/{failed.pk}/rollback").status_code == 409
    ok = alice.post(f"/api/v1/apps/{app.pk}/releases/{objs['release'].pk}/rollback")
    assert ok.status_code == 202 and ok.json()["kind"] == "rollback"
    assert ok.json()["release"]["version"] == 3


def test_deployment_logs_as_json_and_as_server_sent_events(world, alice):
    objs = deployed_app(world["tenant_a"], world["alice"])
    url = f"/api/v1/apps/{objs['app'].pk}/deployments/{objs['deployment'].pk}/logs"
    page = alice.get(url).json()
    assert [line["line"] for line in page["results"]] == ["built"]
    assert page["finished"] is True
    assert alice.get(url, {"after": page["next_after"]}).json()["results"] == []

    stream = alice.get(url, HTTP_ACCEPT="text/event-stream")
    assert stream.status_code == 200 and stream["Content-Type"] == "text/event-stream"
    text = b"".join(stream.streaming_content).decode()
    assert f"id: {page['next_after']}\nevent: log\n" in text
    assert text.rstrip().endswith('data: {"state": "live"}')
    resumed = alice.get(url, {"follow": "true"}, HTTP_LAST_EVENT_ID=str(page["next_after"]))
    text = b"".join(resumed.streaming_content).decode()
    assert "event: log" not in text and "event: end" in text


def test_status_formation_and_webhook_secret(world, alice):
    objs = deployed_app(world["tenant_a"], world["alice"])
    app = objs["app"]
    status = alice.get(f"/api/v1/apps/{app.pk}/status").json()
    assert status["status"] == "running"
    assert status["current_release"]["version"] == 1
    assert status["formation"] == {"web": 1, "worker": 0}
    assert alice.get(f"/api/v1/apps/{app.pk}/formation").json() == {
        "formation": {"web": 1, "worker": 0}
    }
    rotated = alice.post(f"/api/v1/apps/{app.pk}/webhook-secret").json()
    assert rotated["webhook_secret"] and rotated["webhook_secret"] != objs["secret"]


def test_roles_viewers_read_members_operate_admins_manage(world, client_for):
    objs = deployed_app(world["tenant_a"], world["alice"])
    base = f"/api/v1/apps/{objs['app'].pk}"
    viewer = _member(world, client_for, "viewer")
    member = _member(world, client_for, "member")
    assert viewer.get(base).status_code == 200
    assert viewer.get(f"{base}/env-vars").status_code == 200
    assert viewer.post(f"{base}/deploy", {}, format="json").status_code == 403
    assert viewer.post(f"{base}/restart").status_code == 403
    assert member.post(f"{base}/restart").status_code == 202
    assert member.post(f"{base}/env-vars/SECRET_KEY/reveal").status_code == 403
    assert member.patch(f"{base}/env-vars", {"vars": {"A": "b"}}, format="json").status_code == 403
    assert (
        member.post(f"{base}/domains", {"hostname": "a.example.com"}, format="json").status_code
        == 403
    )
    assert member.delete(base).status_code == 403
    assert member.patch(base, {"branch": "x"}, format="json").status_code == 403
    forbidden = viewer.post(f"{base}/deploy", {}, format="json")
    assert forbidden["Content-Type"] == "application/problem+json"


def _running_logs_url(world):
    objs = deployed_app(world["tenant_a"], world["alice"])
    with tenant_context(world["tenant_a"]):
        Deployment.objects.filter(pk=objs["deployment"].pk).update(state="building")
    return f"/api/v1/apps/{objs['app'].pk}/deployments/{objs['deployment'].pk}/logs"


def test_log_streams_per_user_are_capped_and_an_ended_one_frees_its_slot(world, alice, settings):
    """A stream holds a web worker: one caller may hold DEPLOY_LOG_STREAMS_PER_USER at once."""
    settings.DEPLOY_LOG_STREAMS_PER_USER = 1
    settings.DEPLOY_LOG_STREAM_MAX_S = 0.5
    url = _running_logs_url(world)
    first = alice.get(url, {"follow": "true"})
    assert first.status_code == 200
    events = iter(first.streaming_content)
    assert "event: log" in next(events).decode()  # open, mid-stream
    second = alice.get(url, {"follow": "true"})
    assert second.status_code == 429
    assert second.json()["type"] == "/problems/rate-limited"
    assert int(second["Retry-After"]) >= 1
    assert alice.get(url).status_code == 200  # the JSON pages are not streams
    assert "event: reconnect" in b"".join(events).decode()  # the first one ends
    third = alice.get(url, HTTP_ACCEPT="text/event-stream")
    assert third.status_code == 200
    b"".join(third.streaming_content)


def test_a_stream_closed_by_the_client_gives_its_slot_back_even_unstarted(settings):
    from apps.deploy.api.views import _Stream, _StreamSlot

    settings.DEPLOY_LOG_STREAMS_PER_USER = 1

    def events():
        yield "one"
        yield "two"

    for started in (False, True):
        slot = _StreamSlot.take("user:slot-test")
        stream = _Stream(events(), slot.release)
        if started:
            next(stream)
        stream.close()  # what the WSGI server does when the client goes away
        stream.close()
        _StreamSlot.take("user:slot-test").release()  # free again, and given back only once
    slot = _StreamSlot.take("user:slot-test")
    with pytest.raises(Exception, match="log streams at once"):
        _StreamSlot.take("user:slot-test")
    slot.release()


def test_a_log_stream_ends_after_its_maximum_and_tells_the_client_to_reconnect(
    world, alice, settings
):
    settings.DEPLOY_LOG_STREAM_MAX_S = 0.2
    settings.DEPLOY_LOG_STREAMS_PER_USER = 1
    url = _running_logs_url(world)
    stream = alice.get(url, {"follow": "true"})
    text = b"".join(stream.streaming_content).decode()  # ends by itself: the deployment doesn't
    last_id = text.split("id: ")[1].split("\n")[0]
    assert "event: end" not in text
    assert text.endswith(
        f'retry: 1000\nid: {last_id}\nevent: reconnect\ndata: {{"after": {last_id}}}\n\n'
    )
    resumed = alice.get(url, {"follow": "true"}, HTTP_LAST_EVENT_ID=last_id)  # slot given back
    assert resumed.status_code == 200
    assert "event: log" not in b"".join(resumed.streaming_content).decode()


def test_a_log_stream_holds_no_database_connection_between_polls(
    world, alice, settings, monkeypatch
):
    from apps.deploy.api import deployment_views as views

    settings.DEPLOY_LOG_STREAM_MAX_S = 1.2
    released = []
    monkeypatch.setattr(views, "SSE_POLL_S", 0.3)
    monkeypatch.setattr(views, "_release_db_connection", lambda: released.append(1))
    b"".join(alice.get(_running_logs_url(world), {"follow": "true"}).streaming_content)
    assert len(released) >= 3  # once after every poll


def test_the_schema_declares_log_events_apart_from_the_json_page(api_client):
    """The stream's answer is server-sent events, not a LogPageOutput (issue 11, defect 3)."""
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    logs = schema["paths"]["/api/v1/apps/{app_pk}/deployments/{id}/logs/"]["get"]
    content = logs["responses"]["200"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/LogPageOutput"}
    events = content["text/event-stream"]
    assert events["schema"] == {"type": "string"}
    assert "event: log" in events["examples"]["Events"]["value"]
    assert "event: reconnect" in logs["description"] and "event: end" in logs["description"]


def test_release_rollback_of_is_declared_nullable(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    field = schema["components"]["schemas"]["ReleaseOutput"]["properties"]["rollback_of"]
    assert field["type"] == "integer" and field["nullable"] is True
