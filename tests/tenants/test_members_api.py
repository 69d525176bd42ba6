"""Listing a tenant's members, and what the list costs."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.tenants.models import Membership

pytestmark = pytest.mark.django_db


def test_members_are_listed_with_their_user_role_and_join_date(client_for, team):
    team.admin.first_name, team.admin.last_name = "Dave", "Admin"
    team.admin.save()
    response = client_for(team.viewer, team.alpha).get("/api/v1/members")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "next", "previous"}
    rows = {row["email"]: row for row in body["results"]}
    assert {email: row["role"] for email, row in rows.items()} == {
        "alice@example.com": "owner",
        "dave@example.com": "admin",
        "erin@example.com": "member",
        "frank@example.com": "viewer",
    }
    dave = rows["dave@example.com"]
    assert dave["id"] == str(team.memberships["admin"].pk)
    assert dave["user_id"] == str(team.admin.pk)
    assert dave["name"] == "Dave Admin"
    assert dave["joined_at"].endswith("Z")
    assert {"created_at", "updated_at"} <= set(dave)


def test_members_come_oldest_first_and_filter_by_role(client_for, team):
    client = client_for(team.owner, team.alpha)
    emails = [row["email"] for row in client.get("/api/v1/members").json()["results"]]
    assert emails[0] == "alice@example.com"
    admins = client.get("/api/v1/members", {"role": "admin"}).json()["results"]
    assert [row["email"] for row in admins] == ["dave@example.com"]
    assert client.get("/api/v1/members", {"role": "boss"}).status_code == 400


def test_members_page_with_a_cursor(client_for, team):
    client = client_for(team.owner, team.alpha)
    first = client.get("/api/v1/members", {"page_size": 3}).json()
    assert len(first["results"]) == 3 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None


def test_member_list_costs_the_same_queries_for_4_or_24_members(client_for, team, make_user):
    client = client_for(team.owner, team.alpha)
    client.get("/api/v1/members")  # warm up (operator-entry cache, content types)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get("/api/v1/members").json()["results"]) == 4
    for index in range(20):
        user = make_user(f"crew-{index}@example.com")
        Membership.objects.create(tenant=team.alpha, user=user, role="member")
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/members").json()["results"]) == 24
    assert len(many) == len(few)
