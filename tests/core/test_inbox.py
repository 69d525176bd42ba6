"""The per-user inbox: inbox_send() and /api/v1/inbox."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.inbox import inbox_send
from apps.core.models import InboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def messages(world):
    alice = world["alice"]
    first = inbox_send(
        user=alice,
        kind="member.invited",
        title="You are invited to join Bravo",
        body="bob@example.com invited you.",
        tenant=world["tenant_b"],
        data={"role": "member"},
    )
    second = inbox_send(user=alice, kind="invoice.paid", title="Invoice INV-000001 paid")
    inbox_send(user=world["bob"], kind="member.removed", title="Not Alice's")
    return first, second


def test_list_shows_my_messages_newest_first_with_their_tenant(client_for, world, messages):
    response = client_for(world["alice"]).get("/api/v1/inbox")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "next", "previous"}
    assert [m["kind"] for m in body["results"]] == ["invoice.paid", "member.invited"]
    invited = body["results"][1]
    assert invited["tenant"] == {"id": str(world["tenant_b"].pk), "slug": "bravo", "name": "Bravo"}
    assert invited["data"] == {"role": "member"}
    assert invited["read"] is False and invited["read_at"] is None
    assert body["results"][0]["tenant"] is None


def test_the_inbox_is_the_same_on_a_tenant_host(client_for, world, messages):
    client = client_for(world["alice"])
    on_root = client.get("/api/v1/inbox").json()["results"]
    on_tenant = client.get("/api/v1/inbox", HTTP_HOST="alpha.localhost").json()["results"]
    assert on_root == on_tenant and len(on_root) == 2


def test_unread_count_read_and_read_all(client_for, world, messages):
    client = client_for(world["alice"])
    assert client.get("/api/v1/inbox/unread-count").json() == {"unread": 2}

    first, _ = messages
    read = client.post(f"/api/v1/inbox/{first.pk}/read")
    assert read.status_code == 200
    assert read.json()["read"] is True and read.json()["read_at"]
    again = client.post(f"/api/v1/inbox/{first.pk}/read")
    assert again.json()["read_at"] == read.json()["read_at"]  # idempotent
    assert client.get("/api/v1/inbox/unread-count").json() == {"unread": 1}
    unread = client.get("/api/v1/inbox", {"unread": "true"}).json()["results"]
    assert [m["kind"] for m in unread] == ["invoice.paid"]
    read_only = client.get("/api/v1/inbox", {"unread": "false"}).json()["results"]
    assert [m["kind"] for m in read_only] == ["member.invited"]

    assert client.post("/api/v1/inbox/read-all").json() == {"marked": 1}
    assert client.post("/api/v1/inbox/read-all").json() == {"marked": 0}
    assert client.get("/api/v1/inbox/unread-count").json() == {"unread": 0}
    # Bob's message is untouched.
    assert InboxMessage.objects.get(user=world["bob"]).read_at is None


def test_another_users_message_answers_404(client_for, world, messages):
    bobs = InboxMessage.objects.get(user=world["bob"])
    response = client_for(world["alice"]).post(f"/api/v1/inbox/{bobs.pk}/read")
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"
    bobs.refresh_from_db()
    assert bobs.read_at is None


def test_filter_by_kind_and_bad_filters(client_for, world, messages):
    client = client_for(world["alice"])
    rows = client.get("/api/v1/inbox", {"kind": "invoice.paid"}).json()["results"]
    assert [m["title"] for m in rows] == ["Invoice INV-000001 paid"]
    assert client.get("/api/v1/inbox", {"unread": "perhaps"}).status_code == 400


def test_without_credentials_401(api_client, world):
    assert api_client.get("/api/v1/inbox").status_code == 401
    assert api_client.get("/api/v1/inbox/unread-count").status_code == 401
    assert api_client.post("/api/v1/inbox/read-all").status_code == 401


def test_list_costs_the_same_queries_for_1_or_20_messages(client_for, world):
    client = client_for(world["outsider"])
    inbox_send(user=world["outsider"], kind="test.sent", title="0")
    client.get("/api/v1/inbox")
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/inbox").json()["results"]) == 1
    for index in range(1, 20):
        inbox_send(
            user=world["outsider"], kind="test.sent", title=str(index), tenant=world["tenant_a"]
        )
    with CaptureQueriesContext(connection) as twenty:
        assert len(client.get("/api/v1/inbox").json()["results"]) == 20
    assert len(twenty) == len(one)


def test_long_titles_are_cut_to_fit(world):
    message = inbox_send(user=world["alice"], kind="test.sent", title="x" * 500)
    assert len(message.title) == 200
