"""Git push webhooks: GitHub (HMAC-SHA256 of the body) and GitLab (token) deliveries start a
deployment of the pushed commit on the app's branch; forged ones are 401; redeliveries are
recognised by their delivery id, and replayed pushes by their body, and do nothing."""

import hashlib
import hmac
import json
import uuid

import pytest
from django_tenants.utils import tenant_context

from apps.deploy.models import Deployment, WebhookDelivery
from apps.tenants.models import Tenant, TenantStatus

from .factories import deployed_app

pytestmark = pytest.mark.django_db
SHA = "b" * 40


@pytest.fixture
def objs(world):
    return deployed_app(world["tenant_a"], world["alice"])


def _github(client, objs, payload, *, secret=None, event="push", delivery=None):
    body = json.dumps(payload).encode()
    signature = hmac.new((secret or objs["secret"]).encode(), body, hashlib.sha256).hexdigest()
    return client.post(
        f"/webhooks/git/{objs['app'].pk}/",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=f"sha256={signature}",
        HTTP_X_GITHUB_EVENT=event,
        HTTP_X_GITHUB_DELIVERY=delivery or str(uuid.uuid4()),
    )


def _deployments(world, objs):
    with tenant_context(world["tenant_a"]):
        return list(Deployment.objects.filter(app=objs["app"], kind="deploy", state="queued"))


def test_a_signed_github_push_to_the_branch_queues_a_deployment(world, client, objs):
    response = _github(client, objs, {"ref": "refs/heads/main", "after": SHA}, delivery="d-1")
    assert response.status_code == 202, response.content
    queued = _deployments(world, objs)
    assert [d.ref for d in queued] == [SHA]
    assert str(queued[0].pk) == response.json()["deployment_id"]
    assert queued[0].started_by_label == "github webhook"

    again = _github(client, objs, {"ref": "refs/heads/main", "after": SHA}, delivery="d-1")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert len(_deployments(world, objs)) == 1


def test_forged_or_unsigned_deliveries_are_401(world, client, objs):
    forged = _github(client, objs, {"ref": "refs/heads/main", "after": SHA}, secret="guess")
    assert forged.status_code == 401
    assert forged["Content-Type"] == "application/problem+json"
    assert forged.json()["type"] == "/problems/not-authenticated"
    unsigned = client.post(
        f"/webhooks/git/{objs['app'].pk}/", data=b"{}", content_type="application/json"
    )
    assert unsigned.status_code == 401
    gitlab = client.post(
        f"/webhooks/git/{objs['app'].pk}/",
        data=json.dumps({"ref": "refs/heads/main", "after": SHA}),
        content_type="application/json",
        HTTP_X_GITLAB_TOKEN="wrong",
        HTTP_X_GITLAB_EVENT="Push Hook",
    )
    assert gitlab.status_code == 401
    assert _deployments(world, objs) == []
    with tenant_context(world["tenant_a"]):
        assert not WebhookDelivery.objects.exists()


def test_other_branches_and_events_are_ignored(world, client, objs):
    other = _github(client, objs, {"ref": "refs/heads/feature", "after": SHA})
    assert other.status_code == 200 and other.json()["status"].startswith("ignored")
    ping = _github(client, objs, {"zen": "hi"}, event="ping")
    assert ping.status_code == 200 and ping.json()["status"] == "pong"
    deleted = _github(client, objs, {"ref": "refs/heads/main", "after": "0" * 40})
    assert deleted.json()["status"] == "ignored: branch deleted"
    assert _deployments(world, objs) == []


def test_a_gitlab_push_with_the_token_queues_a_deployment(world, client, objs):
    response = client.post(
        f"/webhooks/git/{objs['app'].pk}/",
        data=json.dumps({"ref": "refs/heads/main", "checkout_sha": SHA}),
        content_type="application/json",
        HTTP_X_GITLAB_TOKEN=objs["secret"],
        HTTP_X_GITLAB_EVENT="Push Hook",
        HTTP_X_GITLAB_EVENT_UUID="gl-1",
    )
    assert response.status_code == 202, response.content
    assert [d.ref for d in _deployments(world, objs)] == [SHA]


def test_unknown_apps_and_bad_bodies(client, objs):
    assert client.post(f"/webhooks/git/{uuid.uuid4()}/", data=b"{}",
                       content_type="application/json").status_code == 404  # fmt: skip
    body = b"not json"
    signature = hmac.new(objs["secret"].encode(), body, hashlib.sha256).hexdigest()
    response = client.post(
        f"/webhooks/git/{objs['app'].pk}/", data=body, content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=f"sha256={signature}", HTTP_X_GITHUB_EVENT="push",
    )  # fmt: skip
    assert response.status_code == 400
    assert client.get(f"/webhooks/git/{objs['app'].pk}/").status_code == 405


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_GITLAB_TOKEN": "\xe9", "HTTP_X_GITLAB_EVENT": "Push Hook"},
        {"HTTP_X_HUB_SIGNATURE_256": "sha256=\xe9\xe9", "HTTP_X_GITHUB_EVENT": "push"},
    ],
)
def test_secrets_and_signatures_outside_ascii_are_401_not_500(world, client, objs, headers):
    response = client.post(
        f"/webhooks/git/{objs['app'].pk}/",
        data=json.dumps({"ref": "refs/heads/main", "after": SHA}),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/not-authenticated"
    assert _deployments(world, objs) == []


def test_a_replayed_push_under_a_new_delivery_id_does_not_deploy_again(world, client, objs):
    """The delivery id is not signed: an old push sent again under a fresh id is a replay and
    must not roll the app back to its commit."""
    old = {"ref": "refs/heads/main", "before": "a" * 40, "after": SHA}
    assert _github(client, objs, old, delivery="d-old").status_code == 202
    newer = {"ref": "refs/heads/main", "before": SHA, "after": "c" * 40}
    assert _github(client, objs, newer, delivery="d-new").status_code == 202

    replay = _github(client, objs, old, delivery="d-forged")
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    assert [d.ref for d in _deployments(world, objs)].count(SHA) == 1


def test_a_replayed_gitlab_push_under_a_new_uuid_does_not_deploy_again(world, client, objs):
    body = json.dumps({"ref": "refs/heads/main", "checkout_sha": SHA})

    def send(uuid_):
        return client.post(
            f"/webhooks/git/{objs['app'].pk}/", data=body, content_type="application/json",
            HTTP_X_GITLAB_TOKEN=objs["secret"], HTTP_X_GITLAB_EVENT="Push Hook",
            HTTP_X_GITLAB_EVENT_UUID=uuid_,
        )  # fmt: skip

    assert send("gl-1").status_code == 202
    again = send("gl-2")
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert len(_deployments(world, objs)) == 1


def test_pings_and_other_events_with_the_same_body_are_not_replays(world, client, objs):
    assert _github(client, objs, {"zen": "hi"}, event="ping").json()["status"] == "pong"
    assert _github(client, objs, {"zen": "hi"}, event="ping").json()["status"] == "pong"


def test_a_push_to_a_suspended_tenants_app_is_ignored_not_deployed(world, client, objs):
    """2xx, not 423: git hosts count 4xx answers as failures (GitLab disables such hooks)."""
    Tenant.objects.filter(pk=world["tenant_a"].pk).update(status=TenantStatus.SUSPENDED)
    response = _github(client, objs, {"ref": "refs/heads/main", "after": SHA})
    assert response.status_code == 200
    assert response.json()["status"] == "ignored: tenant suspended"
    assert _deployments(world, objs) == []
    forged = _github(client, objs, {"ref": "refs/heads/main", "after": SHA}, secret="guess")
    assert forged.status_code == 401
