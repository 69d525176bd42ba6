"""Creating and revoking keys is audited, naming who did it: a user, a key, or an operator."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.services import api_key_create, api_key_revoke
from apps.core.actor import Actor
from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def _events(action: str, target_id: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, target_id=target_id))


def test_a_user_creating_and_revoking_is_named(client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    created = client.post("/api/v1/api-keys", {"name": "CI", "authority": "member"}).json()
    client.post(f"/api/v1/api-keys/{created['id']}/revoke")

    for action in ("api_key.created", "api_key.revoked"):
        [event] = _events(action, created["id"])
        assert event.actor_user_id == world["alice"].pk
        assert event.actor_api_key_id is None
        assert event.actor_label == "alice@example.com"
        assert event.tenant_id == world["tenant_a"].pk
        assert event.tenant_label == "alpha"
        assert event.target_type == "accounts.apikey"
        assert event.metadata["prefix"] == created["prefix"]
        assert event.request_id


def test_a_key_creating_and_revoking_is_named(world):
    actor, raw_key = api_key_create(tenant=world["tenant_a"], name="robot", authority="admin")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}", HTTP_X_TENANT_ID="alpha")
    created = client.post("/api/v1/api-keys", {"name": "CI", "authority": "member"}).json()
    client.post(f"/api/v1/api-keys/{created['id']}/revoke")

    for action in ("api_key.created", "api_key.revoked"):
        [event] = _events(action, created["id"])
        assert event.actor_user_id is None
        assert event.actor_api_key_id == actor.pk
        assert event.actor_label == f"robot ({actor.prefix}…)"


def test_the_creator_is_recorded_on_the_key(client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    created = client.post("/api/v1/api-keys", {"name": "CI", "authority": "member"}).json()
    assert created["created_by"] == {"id": str(world["alice"].pk), "email": "alice@example.com"}


def test_revoking_twice_changes_and_audits_once(world):
    api_key, _ = api_key_create(tenant=world["tenant_a"], name="k", authority="member")
    first = api_key_revoke(api_key=api_key, actor=Actor(user=world["alice"])).revoked_at
    second = api_key_revoke(api_key=api_key, actor=Actor(user=world["alice"])).revoked_at
    assert first is not None and first == second
    assert len(_events("api_key.revoked", str(api_key.pk))) == 1


def test_revoking_twice_over_the_api_answers_200_both_times(client_for, world):
    client = client_for(world["alice"], world["tenant_a"])
    key_id = client.post("/api/v1/api-keys", {"name": "k", "authority": "member"}).json()["id"]
    first = client.post(f"/api/v1/api-keys/{key_id}/revoke")
    second = client.post(f"/api/v1/api-keys/{key_id}/revoke")
    assert first.status_code == second.status_code == 200
    assert first.json()["revoked_at"] == second.json()["revoked_at"]
    assert second.json()["status"] == "revoked"
