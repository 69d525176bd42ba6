"""Inputs that used to answer 500 or slip through validation: Last-Event-ID values that are
digits to `str.isdigit` but not to `int`, env var names and health check paths with control
characters or a trailing newline, and a claimed deployment whose runner cannot be made (it must
fail and free the app, not hold its slot for ever). No runtime needed."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.core import crypto
from apps.deploy import pipeline, services
from apps.deploy.models import App, Deployment, EnvVar
from apps.deploy.runtime import RuntimeProblem
from apps.deploy.runtime.local_inspect import probe as _probe

from .factories import deployed_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(world, client_for):
    return client_for(world["alice"], world["tenant_a"])


@pytest.fixture
def objs(world):
    return deployed_app(world["tenant_a"], world["alice"])


@pytest.mark.parametrize("value", ["²", "9" * 5000, "-1", " 1", "1\n", "0x10"])
def test_a_last_event_id_that_is_no_cursor_is_ignored(alice, objs, value):
    url = f"/api/v1/apps/{objs['app'].pk}/deployments/{objs['deployment'].pk}/logs"
    response = alice.get(url, HTTP_LAST_EVENT_ID=value)
    assert response.status_code == 200
    assert [line["line"] for line in response.json()["results"]] == ["built"]


def test_a_last_event_id_cursor_still_resumes(alice, objs):
    url = f"/api/v1/apps/{objs['app'].pk}/deployments/{objs['deployment'].pk}/logs"
    after = alice.get(url).json()["next_after"]
    assert alice.get(url, HTTP_LAST_EVENT_ID=str(after)).json()["results"] == []


@pytest.mark.parametrize("key", ["PATH\n", "OK\n", "A" * 255 + "\n", "A\nB", "A" * 256])
def test_env_var_names_are_checked_to_their_end(world, alice, objs, key):
    app = objs["app"]
    response = alice.patch(f"/api/v1/apps/{app.pk}/env-vars", {"vars": {key: "1"}}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == f"vars.{key}"
    with tenant_context(world["tenant_a"]):
        assert not EnvVar.objects.filter(app=app, key=key).exists()


def test_a_bad_name_stored_before_the_check_can_be_unset(world, alice, objs):
    app = objs["app"]
    with tenant_context(world["tenant_a"]):
        EnvVar.objects.create(app=app, key="OLD\n", value_encrypted=crypto.encrypt("x"))
    response = alice.patch(
        f"/api/v1/apps/{app.pk}/env-vars", {"vars": {"OLD\n": None}, "restart": False},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    with tenant_context(world["tenant_a"]):
        assert not EnvVar.objects.filter(app=app, key="OLD\n").exists()


def test_names_and_hostnames_do_not_end_in_a_newline():
    assert services.ENV_KEY.fullmatch("PATH\n") is None
    assert services.APP_NAME.fullmatch("shop\n") is None
    assert services.HOSTNAME.fullmatch("www.example.com\n") is None
    assert services.HOSTNAME.fullmatch("www.example.com")


@pytest.mark.parametrize(
    "path", ["/\x7f", "/\x01x", "/a\tb", "/caf\xe9", "/" + "a" * 200, "healthz", "/a b"]
)
def test_health_check_paths_are_printable_ascii(alice, objs, path):
    created = alice.post(
        "/api/v1/apps", {"name": "probe", "health_check_path": path}, format="json"
    )
    assert created.status_code == 400, created.content
    assert created.json()["errors"][0]["field"] == "health_check_path"
    updated = alice.patch(
        f"/api/v1/apps/{objs['app'].pk}", {"health_check_path": path}, format="json"
    )
    assert updated.status_code == 400, updated.content


def test_good_health_check_paths_are_kept(alice):
    path = "/healthz?full=1&x=%20~"
    created = alice.post(
        "/api/v1/apps", {"name": "probe", "health_check_path": path}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["health_check_path"] == path


def test_the_probe_reports_an_invalid_url_instead_of_raising(tmp_path):
    socket = tmp_path / "web.sock"
    socket.touch()
    assert _probe(socket, "shop.apps.localhost", "/\x7f") == "InvalidURL"


def _queued(world, objs):
    with tenant_context(world["tenant_a"]):
        return services.deployment_create(
            app=objs["app"], tenant=world["tenant_a"],
            actor=services.Actor(user=world["alice"]), ref="main",
        )  # fmt: skip


def _undecryptable(app):
    raise crypto.DecryptionError("No configured key decrypts this value.")


def _no_provider(name=None):
    raise RuntimeProblem("No runtime here.")


@pytest.mark.parametrize(
    "target, failure, reason",
    [
        ("config_of", _undecryptable, "cannot be decrypted"),
        ("get_provider", _no_provider, "No runtime here."),
    ],
)
def test_a_deployment_whose_runner_cannot_be_made_fails_and_frees_the_app(
    world, objs, monkeypatch, target, failure, reason
):
    deployment = _queued(world, objs)
    if target == "config_of":
        monkeypatch.setattr(services, "config_of", failure)
    else:
        monkeypatch.setattr(pipeline, "get_provider", failure)
    with tenant_context(world["tenant_a"]):
        assert pipeline.deployment_execute(deployment.pk) == "failed"
        deployment.refresh_from_db()
        app = App.objects.get(pk=objs["app"].pk)
    assert deployment.state == "failed" and deployment.finished_at is not None
    assert deployment.failure_reason.startswith("The deployment could not start: ")
    assert reason in deployment.failure_reason
    assert "keeps serving" in deployment.failure_reason
    assert app.active_deployment_id is None
    assert app.live_deployment_id == objs["deployment"].pk


def test_a_reaped_deployment_whose_runner_cannot_be_made_fails_and_frees_the_app(
    world, objs, monkeypatch
):
    deployment = _queued(world, objs)
    stale = timezone.now() - dt.timedelta(hours=1)
    with tenant_context(world["tenant_a"]):
        Deployment.objects.filter(pk=deployment.pk).update(
            state="building", started_at=stale, heartbeat_at=stale, worker="gone:1"
        )
        App.objects.filter(pk=objs["app"].pk).update(active_deployment=deployment)
        monkeypatch.setattr(services, "config_of", _undecryptable)
        assert pipeline.deployment_reap(deployment.pk) == "failed"
        deployment.refresh_from_db()
        app = App.objects.get(pk=objs["app"].pk)
    assert deployment.state == "failed"
    assert "cannot be decrypted" in deployment.failure_reason
    assert app.active_deployment_id is None
