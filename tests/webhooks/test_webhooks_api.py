"""/api/v1/webhook-endpoints…: CRUD, the secret shown once, roles (admins write, viewers read),
another tenant's endpoints and deliveries are 404, test send, deliveries with attempts, replay
one and since, enable, validation, and constant query counts on the lists."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from standardwebhooks import Webhook

from apps.core.models import AuditEvent
from apps.tenants.models import Membership
from apps.webhooks.due.models import WebhookDue
from apps.webhooks.models import WebhookMessage
from tests.webhooks.webhook_support import (
    deliver,
    emit,
    endpoint_create,
    in_tenant,
    make_due,
    messages,
)

BASE = "/api/v1/webhook-endpoints"


@pytest.fixture
def alice(client_for, world):
    return client_for(world["alice"], world["tenant_a"])


def _member(client_for, world, role):
    user = world["outsider"]
    Membership.objects.create(tenant=world["tenant_a"], user=user, role=role)
    return client_for(user, world["tenant_a"])


def test_create_shows_the_secret_once(alice, receiver):
    response = alice.post(BASE, {"url": receiver.url(), "description": "CI",
                                 "event_types": ["monitor.*", "deployment.failed"]})  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and body["secret_last8"] == secret[-8:]
    assert response["Location"] == f"{BASE}/{body['id']}"
    assert body["event_types"] == ["deployment.failed", "monitor.*"]
    listed = alice.get(BASE)
    shown = alice.get(f"{BASE}/{body['id']}")
    patched = alice.patch(f"{BASE}/{body['id']}", {"description": "CI hooks"})
    for answer in (listed, shown, patched):
        assert answer.status_code == 200
        assert secret not in answer.content.decode() and "secret" not in answer.json()
    assert patched.json()["description"] == "CI hooks"
    rotated = alice.post(f"{BASE}/{body['id']}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (secret, None)
    assert rotated.json()["previous_secret_expires_at"] is not None
    assert alice.delete(f"{BASE}/{body['id']}").status_code == 204
    assert alice.get(f"{BASE}/{body['id']}").status_code == 404
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"webhook_endpoint.created", "webhook_endpoint.secret_rotated",
            "webhook_endpoint.deleted"} <= actions  # fmt: skip


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "https://user:pw@example.com/x"}, "url"),
        ({"url": "http://10.1.2.3/x"}, "url"),
        ({"url": "https://example.com/x", "event_types": ["nope.happened"]}, "event_types"),
    ],
)
def test_validation(alice, body, field):
    response = alice.post(BASE, body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field


def test_roles_viewers_and_members_read_admins_write(client_for, world, receiver):
    endpoint, _ = endpoint_create(world["tenant_a"], receiver.url())
    viewer = _member(client_for, world, "viewer")
    assert viewer.get(BASE).status_code == 200
    assert viewer.get(f"{BASE}/{endpoint.pk}").status_code == 200
    # Deliveries carry whole payloads (invoices too): not for viewers or members.
    assert viewer.get(f"{BASE}/{endpoint.pk}/deliveries").status_code == 403
    assert viewer.post(BASE, {"url": receiver.url()}).status_code == 403
    for path in ("rotate-secret", "test", "enable"):
        assert viewer.post(f"{BASE}/{endpoint.pk}/{path}").status_code == 403
    assert viewer.delete(f"{BASE}/{endpoint.pk}").status_code == 403
    Membership.objects.filter(user=world["outsider"]).update(role="member")
    assert viewer.post(BASE, {"url": receiver.url()}).status_code == 403
    Membership.objects.filter(user=world["outsider"]).update(role="admin")
    assert viewer.post(BASE, {"url": receiver.url()}).status_code == 201


def test_another_tenants_endpoints_and_deliveries_are_404(client_for, world, receiver):
    endpoint, _ = endpoint_create(world["tenant_b"], receiver.url("/b"))
    emit(world["tenant_b"])
    deliver()
    [message] = messages(world["tenant_b"])
    alice = client_for(world["alice"], world["tenant_a"])
    one = f"{BASE}/{endpoint.pk}"
    assert alice.get(BASE).json()["results"] == []
    assert alice.get(one).status_code == 404
    assert alice.patch(one, {"description": "x"}).status_code == 404
    assert alice.delete(one).status_code == 404
    assert alice.get(f"{one}/deliveries").status_code == 404
    for path in ("rotate-secret", "test", "enable", f"deliveries/{message.msg_id}/replay"):
        assert alice.post(f"{one}/{path}").status_code == 404, path
    assert alice.post(f"{one}/replay", {"since": "2020-01-01T00:00:00Z"}).status_code == 404
    assert alice.get(f"{BASE}/not-a-uuid").status_code == 404
    # Alice's own endpoint does not reach bob's message either.
    own, _ = endpoint_create(world["tenant_a"], receiver.url())
    assert alice.post(f"{BASE}/{own.pk}/deliveries/{message.msg_id}/replay").status_code == 404
    assert len(receiver.got("/b")) == 1  # nothing was sent again


def test_test_send_returns_the_attempt(alice, receiver):
    created = alice.post(BASE, {"url": receiver.url("/t")}).json()
    response = alice.post(f"{BASE}/{created['id']}/test")
    assert response.status_code == 200, response.json()
    attempt = response.json()
    assert attempt["ok"] and attempt["status_code"] == 200 and attempt["trigger"] == "test"
    assert attempt["duration_ms"] >= 0 and attempt["response_excerpt"].startswith("answer 200")
    [(_, headers, body)] = receiver.got("/t")
    assert Webhook(created["secret"]).verify(body, headers)["type"] == "webhook.test"
    receiver.plan("/t", 500)
    failed = alice.post(f"{BASE}/{created['id']}/test").json()
    assert not failed["ok"] and failed["error"] == "HTTP 500"
    assert not WebhookDue.objects.exists()  # test sends are not retried
    assert alice.get(f"{BASE}/{created['id']}").json()["failing_since"] is None


def test_deliveries_replay_one_and_since(alice, world, receiver):
    tenant = world["tenant_a"]
    created = alice.post(BASE, {"url": receiver.url("/r")}).json()
    receiver.plan("/r", 500, 200)
    emit(tenant, "monitor.down")
    deliver()
    make_due()
    deliver()
    emit(tenant, "monitor.up")
    deliver()
    listed = alice.get(f"{BASE}/{created['id']}/deliveries")
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [r["event_type"] for r in rows] == ["monitor.up", "monitor.down"]
    down = rows[1]
    assert down["status"] == "succeeded" and down["attempts_count"] == 2
    assert [a["status_code"] for a in down["attempts"]] == [200, 500]
    assert down["payload"]["type"] == "monitor.down"
    assert alice.get(f"{BASE}/{created['id']}/deliveries?status=pending").json()["results"] == []

    replayed = alice.post(f"{BASE}/{created['id']}/deliveries/{down['id']}/replay")
    assert replayed.status_code == 202, replayed.json()
    assert replayed.json()["status"] == "pending"
    deliver()
    ids = [h["webhook-id"] for _, h, _ in receiver.got("/r")]
    assert ids.count(down["id"]) == 3  # 500, 200, replay: the same webhook-id
    assert alice.post(f"{BASE}/{created['id']}/deliveries/msg_nope/replay").status_code == 404

    since = (timezone.now() - dt.timedelta(minutes=5)).isoformat()
    response = alice.post(f"{BASE}/{created['id']}/replay", {"since": since})
    assert response.status_code == 202 and response.json()["messages"] == 2
    assert "deliveries?since=" in response["Location"]
    before = len(receiver.got("/r"))
    deliver()
    assert len(receiver.got("/r")) == before + 2
    only_failed = alice.post(f"{BASE}/{created['id']}/replay",
                             {"since": since, "only_failed": True})  # fmt: skip
    assert only_failed.json()["messages"] == 0
    assert alice.post(f"{BASE}/{created['id']}/replay", {}).status_code == 400


def test_enable_a_disabled_endpoint(alice, world, receiver):
    created = alice.post(BASE, {"url": receiver.url("/g")}).json()
    receiver.plan("/g", 410)
    emit(world["tenant_a"])
    deliver()
    shown = alice.get(f"{BASE}/{created['id']}").json()
    assert not shown["enabled"] and "410" in shown["disabled_reason"]
    conflict = alice.post(f"{BASE}/{created['id']}/replay", {"since": "2020-01-01T00:00:00Z"})
    assert conflict.status_code == 409
    enabled = alice.post(f"{BASE}/{created['id']}/enable")
    assert enabled.status_code == 200
    assert enabled.json()["enabled"] and enabled.json()["disabled_reason"] == ""
    receiver.plan("/g", 200)
    response = alice.post(f"{BASE}/{created['id']}/replay",
                          {"since": "2020-01-01T00:00:00Z", "only_failed": True})  # fmt: skip
    assert response.json()["messages"] == 1
    deliver()
    assert alice.get(f"{BASE}/{created['id']}/deliveries").json()["results"][0]["status"] == (
        "succeeded"
    )


def test_event_types_catalogue(alice):
    response = alice.get("/api/v1/webhook-event-types")
    assert response.status_code == 200
    types = {row["type"] for row in response.json()}
    assert {"monitor.down", "deployment.succeeded", "invoice.paid"} <= types


def _count(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries), response.json()


def test_lists_cost_constant_queries(alice, world):
    tenant = world["tenant_a"]
    endpoint, _ = endpoint_create(tenant, "https://example.com/hook")
    few, body = _count(alice, BASE)
    assert len(body["results"]) == 1
    deliveries = f"{BASE}/{endpoint.pk}/deliveries?page_size=200"
    with in_tenant(tenant):
        WebhookMessage.objects.create(msg_id="msg_a", endpoint=endpoint, event_type="x.y",
                                      body="{}", created_at=timezone.now())  # fmt: skip
    few_d, body = _count(alice, deliveries)
    assert len(body["results"]) == 1
    with in_tenant(tenant):
        for i in range(30):
            endpoint_create(tenant, f"https://example.com/hook{i}")
        rows = [
            WebhookMessage(msg_id=f"msg_{i}", endpoint=endpoint, event_type="x.y", body="{}",
                           created_at=timezone.now())
            for i in range(60)
        ]  # fmt: skip
        for message in WebhookMessage.objects.bulk_create(rows):
            message.attempts.create(attempted_at=timezone.now(), ok=True, status_code=200)
    many, body = _count(alice, f"{BASE}?page_size=200")
    assert len(body["results"]) == 31 and many == few
    many_d, body = _count(alice, deliveries)
    assert len(body["results"]) == 61 and many_d == few_d
