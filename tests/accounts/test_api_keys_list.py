"""The list: newest first, filterable, paginated, and as cheap for 20 keys as for 1."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_create, api_key_revoke
from apps.core.actor import Actor

pytestmark = pytest.mark.django_db


def _queries_for_list(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/v1/api-keys")
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["results"])


def _make_keys(tenant, count: int, tag: str) -> None:
    """`count` keys, each made by a user of its own (so the creators cannot share a cache)."""
    for i in range(count):
        user = get_user_model().objects.create_user(
            username=f"{tag}{i}@x.test", email=f"{tag}{i}@x.test"
        )
        api_key_create(tenant=tenant, name=f"{tag}{i}", authority="member", actor=Actor(user=user))


def test_the_list_costs_the_same_queries_for_1_or_20_keys(client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    _make_keys(world["tenant_a"], 1, "a")
    one_queries, one_rows = _queries_for_list(client)
    _make_keys(world["tenant_a"], 19, "b")
    twenty_queries, twenty_rows = _queries_for_list(client)

    assert (one_rows, twenty_rows) == (1, 20)
    assert one_queries == twenty_queries


def test_newest_first_with_cursor_pages(client_for, world):
    for i in range(3):
        api_key_create(tenant=world["tenant_a"], name=f"k{i}", authority="member")
    client = client_for(world["alice"], world["tenant_a"])
    page = client.get("/api/v1/api-keys?page_size=2").json()
    assert [row["name"] for row in page["results"]] == ["k2", "k1"]
    rest = client.get(page["next"]).json()
    assert [row["name"] for row in rest["results"]] == ["k0"]


def test_filters_by_status_and_authority(client_for, world):
    tenant = world["tenant_a"]
    api_key_create(tenant=tenant, name="active", authority="admin")
    revoked, _ = api_key_create(tenant=tenant, name="revoked", authority="member")
    api_key_revoke(api_key=revoked)
    expired, _ = api_key_create(
        tenant=tenant,
        name="expired",
        authority="member",
        expires_at=timezone.now() + dt.timedelta(1),
    )
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(1))
    client = client_for(world["alice"], tenant)

    def names(query: str) -> set[str]:
        return {row["name"] for row in client.get(f"/api/v1/api-keys?{query}").json()["results"]}

    assert names("") == {"active", "revoked", "expired"}
    assert names("status=active") == {"active"}
    assert names("status=revoked") == {"revoked"}
    assert names("status=expired") == {"expired"}
    assert names("authority=member") == {"revoked", "expired"}
    rows = {row["name"]: row for row in client.get("/api/v1/api-keys").json()["results"]}
    assert {name: row["status"] for name, row in rows.items()} == {
        "active": "active",
        "revoked": "revoked",
        "expired": "expired",
    }


def test_list_rows_carry_the_documented_fields_only(client_for, world):
    api_key_create(tenant=world["tenant_a"], name="k", authority="member")
    row = client_for(world["alice"], world["tenant_a"]).get("/api/v1/api-keys").json()["results"][0]
    assert set(row) == {
        "id",
        "name",
        "prefix",
        "last8",
        "authority",
        "status",
        "created_by",
        "created_at",
        "updated_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "allowed_operations",
    }
    assert row["created_at"].endswith("Z")
