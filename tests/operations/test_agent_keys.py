"""Agent keys: an API key with `allowed_operations` may call its operations' REST endpoints and
run them through /execute, and nothing else; refusals are 403 problems saying why, and audited."""

from __future__ import annotations

import pytest

from apps.accounts.models import ApiKey
from apps.core.models import AuditEvent
from tests.operations.factories import execute, key_client, make_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(world):
    key, raw = make_key(world["tenant_a"], world["alice"], allowed=["app.list", "app.create"])
    return key, key_client(raw, world["tenant_a"])


def test_keys_are_made_with_an_allow_list_of_known_operations(client_for, world):
    alice = client_for(world["alice"], world["tenant_a"])
    made = alice.post(
        "/api/v1/api-keys",
        {"name": "bot", "authority": "member", "allowed_operations": ["app.list", "app.deploy"]},
        format="json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["allowed_operations"] == ["app.deploy", "app.list"]
    shown = alice.get(f"/api/v1/api-keys/{made.json()['id']}").json()
    assert shown["allowed_operations"] == ["app.deploy", "app.list"]

    unknown = alice.post(
        "/api/v1/api-keys",
        {"name": "bot", "authority": "member", "allowed_operations": ["app.explode"]},
        format="json",
    )
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "allowed_operations"
    assert "app.explode" in unknown.json()["errors"][0]["message"]


def test_rest_endpoints_of_its_operations_only(agent):
    key, client = agent
    assert client.get("/api/v1/apps").status_code == 200
    created = client.post("/api/v1/apps", {"name": "shop"}, format="json")
    assert created.status_code == 201, created.content

    for method, path in (
        ("get", "/api/v1/monitors"),
        ("post", "/api/v1/monitors"),
        ("get", f"/api/v1/apps/{created.json()['id']}"),
        ("post", f"/api/v1/apps/{created.json()['id']}/deploy"),
        ("get", "/api/v1/api-keys"),
        ("get", "/api/v1/audit-events"),
    ):
        answer = getattr(client, method)(path, {}, format="json")
        assert answer.status_code == 403, (method, path, answer.content)
        problem = answer.json()
        assert problem["type"] == "/problems/permission-denied"
        assert "may run only these operations: app.create, app.list" in problem["detail"]
    refused = AuditEvent.objects.filter(action="operation.refused", actor_api_key_id=key.pk)
    assert refused.count() == 6


def test_execute_its_operations_only(agent, world):
    key, client = agent
    listed = client.get("/api/v1/operations")  # the registry itself is open to it
    assert listed.status_code == 200
    assert execute(client, "app.create", {"name": "shop"}).status_code == 200
    assert execute(client, "app.list").status_code == 200

    refused = execute(client, "monitor.create", {"name": "m", "kind": "heartbeat"})
    assert refused.status_code == 403
    assert "may not run monitor.create" in refused.json()["detail"]
    assert "confirmation_token" not in refused.json()
    assert execute(client, "app.delete", {"app_id": key.pk.hex}).status_code == 403
    executed = AuditEvent.objects.filter(action="operation.executed", actor_api_key_id=key.pk)
    assert [e.metadata["operation"] for e in executed] == ["app.create"]


def test_an_operation_sharing_an_endpoint_needs_all_of_them_over_rest(world):
    _, raw = make_key(world["tenant_a"], world["alice"], allowed=["app.env.set", "app.create"])
    client = key_client(raw, world["tenant_a"])
    app_id = execute(client, "app.create", {"name": "shop"}).json()["result"]["id"]
    patch = client.patch(
        f"/api/v1/apps/{app_id}/env-vars", {"vars": {"A": "1"}, "restart": False}, format="json"
    )
    assert patch.status_code == 403  # PATCH env-vars also unsets: app.env.unset is not allowed
    answer = execute(
        client, "app.env.set", {"app_id": app_id, "vars": {"A": "1"}, "restart": False}
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["result"]["release"]["version"] >= 1
    assert execute(client, "app.env.unset", {"app_id": app_id, "names": ["A"]}).status_code == 403


def test_a_limited_key_cannot_make_a_wider_one(world):
    _, raw = make_key(world["tenant_a"], world["alice"], allowed=["api_key.create", "app.list"])
    client = key_client(raw, world["tenant_a"])
    wider = client.post("/api/v1/api-keys", {"name": "x", "authority": "member"}, format="json")
    assert wider.status_code == 403
    narrower = client.post(
        "/api/v1/api-keys",
        {"name": "x", "authority": "member", "allowed_operations": ["app.list"]},
        format="json",
    )
    assert narrower.status_code == 201, narrower.content


def test_an_unrestricted_key_is_unchanged(world):
    _, raw = make_key(world["tenant_a"], world["alice"])
    client = key_client(raw, world["tenant_a"])
    assert client.get("/api/v1/monitors").status_code == 200
    assert client.get("/api/v1/audit-events").status_code == 200
    assert execute(client, "app.list").status_code == 200


def test_a_key_of_another_tenant_sees_nothing(agent, world):
    _, raw = make_key(world["tenant_b"], world["bob"], allowed=["app.list"])
    client = key_client(raw, world["tenant_a"])
    assert client.get("/api/v1/apps").status_code == 404
    assert execute(client, "app.list").status_code == 404


def test_the_console_makes_agent_keys_and_refuses_unknown_operations(client, world):
    client.force_login(world["alice"])
    add = "/console/accounts/apikey/add/"
    made = client.post(
        add,
        {"name": "bot", "authority": "member", "operations": "app.list, app.deploy"},
        HTTP_HOST="alpha.localhost",
    )
    assert made.status_code == 200
    key = ApiKey.objects.get(tenant=world["tenant_a"], name="bot")
    assert key.allowed_operations == ["app.deploy", "app.list"]
    refused = client.post(
        add,
        {"name": "bad", "authority": "member", "operations": "app.explode"},
        HTTP_HOST="alpha.localhost",
    )
    assert "app.explode" in refused.content.decode()
    assert not ApiKey.objects.filter(name="bad").exists()


def test_an_alias_is_not_needed_beside_its_endpoints_operation(world):
    """`provision-database` is addon.create of a PostgreSQL add-on by MCTL's name: a key allowed
    addon.create creates add-ons over REST without it, and a key allowed only the alias runs
    it through /execute but not the REST endpoint (which would let it pick Redis)."""
    from django_tenants.utils import schema_context

    from apps.addons.models import Addon

    _, raw = make_key(world["tenant_a"], world["alice"], allowed=["app.create", "addon.create"])
    client = key_client(raw, world["tenant_a"])
    app_id = execute(client, "app.create", {"name": "shop"}).json()["result"]["id"]
    made = client.post(f"/api/v1/apps/{app_id}/addons", {"kind": "redis"}, format="json")
    assert made.status_code == 202, made.content

    _, raw = make_key(world["tenant_a"], world["alice"], allowed=["provision-database"])
    alias_only = key_client(raw, world["tenant_a"])
    answer = execute(alias_only, "provision-database", {"app_id": app_id, "name": "main"})
    assert answer.status_code == 200, answer.content
    rest = alias_only.post(f"/api/v1/apps/{app_id}/addons", {"kind": "redis"}, format="json")
    assert rest.status_code == 403
    with schema_context(world["tenant_a"].schema_name):
        assert sorted(Addon.objects.values_list("kind", flat=True)) == ["postgres", "redis"]
