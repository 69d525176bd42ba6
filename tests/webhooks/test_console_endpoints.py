"""Outgoing webhook endpoints on the tenant console's team pages (/console/team/webhooks/):
adding one (its secret shown once), its delivery log, a test send and a replay to the local
receiver (loopback allowed by tests/webhooks/conftest.py), enable and disable; who sees which
controls, forged POSTs refused, another tenant's endpoint 404, constant queries."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.tenants.models import Membership, Role
from apps.webhooks.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from tests.webhooks.webhook_support import deliver, emit, endpoint_create, in_tenant, messages

pytestmark = pytest.mark.django_db

HOST = "alpha.localhost"
BASE = "/console/team/webhooks/"


_serial = itertools.count()


def _messages(endpoint, n: int, attempts_each: int) -> None:
    """`n` delivered messages with `attempts_each` attempts (the last one answered 200)."""
    now = timezone.now()
    made = WebhookMessage.objects.bulk_create(
        WebhookMessage(msg_id=f"msg_q{i}", endpoint=endpoint, event_type="monitor.down",
                       body='{"type": "monitor.down", "data": {}}', status="succeeded",
                       created_at=now - dt.timedelta(seconds=i), attempts_count=attempts_each)
        for i in (next(_serial) for _ in range(n))
    )  # fmt: skip
    WebhookAttempt.objects.bulk_create(
        WebhookAttempt(message=message, attempted_at=now - dt.timedelta(seconds=a), ok=a == 0,
                       status_code=200 if a == 0 else 503, duration_ms=40,
                       error="" if a == 0 else "HTTP 503")
        for message in made
        for a in range(attempts_each)
    )  # fmt: skip


@pytest.fixture
def people(world) -> dict:
    alpha = world["tenant_a"]
    found = {"owner": world["alice"]}
    for role in (Role.ADMIN, Role.MEMBER, Role.VIEWER):
        email = f"hooks-{role}@example.com"
        user = get_user_model().objects.create_user(username=email, email=email, password="pw")
        Membership.objects.create(tenant=alpha, user=user, role=role)
        found[role] = user
    return found


def get(client, user, path):
    client.force_login(user)
    return client.get(path, HTTP_HOST=HOST)


def post(client, user, path, data=None):
    client.force_login(user)
    return client.post(path, data or {}, HTTP_HOST=HOST)


def test_admin_adds_an_endpoint_and_sees_its_secret_once(client, people, world):
    form = {"url": "https://hooks.example.com/in", "event_types": "monitor.*, deployment.*"}
    response = post(client, people[Role.ADMIN], BASE, form)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    html = response.content.decode()
    secret = html.split('id="secret"')[1].split(">", 1)[1].split("<", 1)[0].strip()
    assert secret.startswith("whsec_") and 'id="copy-secret"' in html
    with in_tenant(world["tenant_a"]):
        endpoint = WebhookEndpoint.objects.get(url="https://hooks.example.com/in")
    assert endpoint.event_types == ["deployment.*", "monitor.*"]
    assert secret.endswith(endpoint.secret_last8)
    listing = get(client, people[Role.ADMIN], BASE).content.decode()
    page = get(client, people[Role.ADMIN], f"{BASE}{endpoint.pk}/").content.decode()
    assert (
        secret not in listing and secret not in page and "https://hooks.example.com/in" in listing
    )


def test_a_bad_url_or_event_is_told_not_a_500(client, people):
    for data in (
        {"url": "http://10.0.0.1/hook"},
        {"url": "https://ok.example.com", "event_types": "nope"},
    ):
        response = post(client, people["owner"], BASE, data)
        assert response.status_code == 400, data
    assert (
        "private, loopback or link-local"
        in post(client, people["owner"], BASE, {"url": "http://10.0.0.1/hook"}).content.decode()
    )


def test_test_send_and_replay_show_in_the_delivery_log(client, people, world, receiver):
    tenant = world["tenant_a"]
    endpoint, _ = endpoint_create(tenant, receiver.url("/console-hook"), event_types=["monitor.*"])
    admin = people[Role.ADMIN]
    sent = post(client, admin, f"{BASE}{endpoint.pk}/test/")
    assert sent.status_code == 302
    assert len(receiver.got("/console-hook")) == 1
    log = get(client, admin, f"{BASE}{endpoint.pk}/").content.decode()
    assert "webhook.test" in log and 'data-role="response">200' in log

    emit(tenant, "monitor.down", monitor_id="m-console")
    deliver()
    (message,) = messages(tenant, event_type="monitor.down")
    replayed = post(client, admin, f"{BASE}{endpoint.pk}/messages/{message.msg_id}/replay/")
    assert replayed.status_code == 302
    deliver()
    assert [g[1]["webhook-id"] for g in receiver.got("/console-hook")][-2:] == [message.msg_id] * 2
    log = get(client, admin, f"{BASE}{endpoint.pk}/").content.decode()
    row = log.split(f'id="msg-{message.msg_id}"')[1].split("</tr>")[0]
    assert "2 attempts" in row and 'data-trigger="replay"' in row
    # A test message is not replayed: no button for it, and a forged replay is told why.
    test_msg = messages(tenant, event_type="webhook.test")[0]
    assert f"messages/{test_msg.msg_id}/replay/" not in log
    refused = post(client, admin, f"{BASE}{endpoint.pk}/messages/{test_msg.msg_id}/replay/")
    assert refused.status_code == 302
    assert AuditEvent.objects.filter(action="webhook_message.replayed").count() == 1


def test_admin_disables_and_enables_an_endpoint(client, people, world):
    endpoint, _ = endpoint_create(world["tenant_a"], "https://hooks.example.com/toggle")
    path = f"{BASE}{endpoint.pk}/enabled/"
    assert post(client, people["owner"], path, {"enabled": "0"}).status_code == 302
    with in_tenant(world["tenant_a"]):
        endpoint.refresh_from_db()
        assert not endpoint.enabled and endpoint.disabled_reason == "Disabled by a person."
    assert post(client, people["owner"], path, {"enabled": "1"}).status_code == 302
    with in_tenant(world["tenant_a"]):
        endpoint.refresh_from_db()
        assert endpoint.enabled


@pytest.mark.parametrize("who", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_read_endpoints_without_controls_or_log(client, people, world, who):
    endpoint, _ = endpoint_create(world["tenant_a"], "https://hooks.example.com/read")
    with in_tenant(world["tenant_a"]):
        _messages(endpoint, 1, attempts_each=1)
    listing = get(client, people[who], BASE)
    page = get(client, people[who], f"{BASE}{endpoint.pk}/")
    assert listing.status_code == page.status_code == 200
    assert "https://hooks.example.com/read" in listing.content.decode()
    html = page.content.decode()
    assert 'id="endpoint-form"' not in listing.content.decode()
    for control in ('id="send-test"', 'id="toggle-endpoint"', "Replay", "msg_q"):
        assert control not in html, control
    assert "The owner and admins read the delivery log" in html
    forged = [
        (BASE, {"url": "https://evil.example.com/"}),
        (f"{BASE}{endpoint.pk}/test/", {}),
        (f"{BASE}{endpoint.pk}/enabled/", {"enabled": "0"}),
        (f"{BASE}{endpoint.pk}/delete/", {}),
        (f"{BASE}{endpoint.pk}/messages/msg_x/replay/", {}),
    ]
    for path, data in forged:
        assert post(client, people[who], path, data).status_code == 403, path
    with in_tenant(world["tenant_a"]):
        assert list(WebhookEndpoint.objects.values_list("url", "enabled")) == [
            ("https://hooks.example.com/read", True)
        ]


def test_another_tenants_endpoint_answers_404(client, people, world):
    theirs, _ = endpoint_create(world["tenant_b"], "https://hooks.example.com/bravo")
    owner = people["owner"]
    assert get(client, owner, f"{BASE}{theirs.pk}/").status_code == 404
    assert get(client, owner, f"{BASE}not-a-uuid/").status_code == 404
    for suffix in ("test/", "enabled/", "delete/", "messages/msg_x/replay/"):
        assert post(client, owner, f"{BASE}{theirs.pk}/{suffix}").status_code == 404, suffix
    with in_tenant(world["tenant_b"]):
        assert WebhookEndpoint.objects.get(pk=theirs.pk).enabled


def test_admin_deletes_an_endpoint_after_a_confirmation(client, people, world):
    endpoint, _ = endpoint_create(world["tenant_a"], "https://hooks.example.com/gone")
    confirm = get(client, people[Role.ADMIN], f"{BASE}{endpoint.pk}/delete/")
    assert confirm.status_code == 200 and 'id="confirm-button"' in confirm.content.decode()
    assert post(client, people[Role.ADMIN], f"{BASE}{endpoint.pk}/delete/").status_code == 302
    with in_tenant(world["tenant_a"]):
        assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def _counted(client, user, path) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, HTTP_HOST=HOST)
    assert response.status_code == 200
    return len(queries)


def test_the_list_and_the_log_cost_the_same_queries_as_they_grow(client, people, world):
    tenant, admin = world["tenant_a"], people[Role.ADMIN]
    endpoint, _ = endpoint_create(tenant, "https://hooks.example.com/q0")
    with in_tenant(tenant):
        _messages(endpoint, 2, attempts_each=1)
    list_few = _counted(client, admin, BASE)
    log_few = _counted(client, admin, f"{BASE}{endpoint.pk}/")
    for i in range(1, 8):
        endpoint_create(tenant, f"https://hooks.example.com/q{i}")
    with in_tenant(tenant):
        _messages(endpoint, 30, attempts_each=4)
    assert _counted(client, admin, BASE) == list_few
    assert _counted(client, admin, f"{BASE}{endpoint.pk}/") == log_few
