"""The operations registry over REST: list, show, execute; confirmation of high and critical
operations (single use, expiry, bound to input and caller); roles; audit; and the coverage of
every non-GET endpoint by an operation or a listed exclusion."""

from __future__ import annotations

import time

import pytest
from django_tenants.utils import schema_context

from apps.core.models import AuditEvent
from apps.deploy.models import App
from apps.operations import coverage, registry
from apps.operations.endpoints import known_endpoints
from apps.tenants.models import TenantStatus
from tests.assertions import counted_get
from tests.operations.factories import execute, people

pytestmark = pytest.mark.django_db

PROBLEM = "/problems/confirmation-required"


def _make_app(client, name: str = "shop") -> str:
    answer = execute(client, "app.create", {"name": name})
    assert answer.status_code == 200, answer.content
    return answer.json()["result"]["id"]


def test_every_non_get_endpoint_is_an_operation_or_an_exclusion_with_a_reason():
    assert coverage.uncovered() == []
    endpoints = known_endpoints()
    for endpoint, reason in coverage.EXCLUSIONS.items():
        assert endpoint in endpoints, f"excluded {endpoint} is no endpoint"
        assert len(reason) > 20
    for operation in registry.all_operations():
        for endpoint in operation.rest_endpoints():
            assert endpoint in endpoints, (operation.name, endpoint)
        assert operation.resolved_description
        assert operation.resolved_schema["type"] == "object"


def test_named_operations_exist_with_their_risks():
    expected = {
        "app.deploy": "medium",
        "app.rollback": "high",
        "app.scale": "medium",
        "app.restart": "medium",
        "app.stop": "high",
        "app.start": "low",
        "app.env.set": "medium",
        "app.env.unset": "medium",
        "app.domain.add": "low",
        "monitor.create": "low",
        "monitor.pause": "medium",
        "member.invite": "medium",
        "billing.change_plan": "high",
        "tenant.suspend": "critical",
        "app.delete": "critical",
        "provision-database": "medium",
        "addon.backup": "low",
        "addon.restore": "high",
        "addon.delete": "critical",
    }
    assert {name: registry.get(name).risk for name in expected} == expected
    with pytest.raises(ValueError):
        registry.register_operation("app.deploy", endpoint=("app-deploy", "POST"), risk="low")


def test_list_filter_and_show(client_for, world):
    alice = client_for(world["alice"], world["tenant_a"])
    names = [op["name"] for op in alice.get("/api/v1/operations").json()["results"]]
    assert "app.deploy" in names and "app.list" in names
    assert "tenant.suspend" not in names  # operators only

    critical = alice.get("/api/v1/operations?risk=critical").json()["results"]
    assert {op["risk"] for op in critical} == {"critical"}
    assert "app.delete" in {op["name"] for op in critical}
    reads = alice.get("/api/v1/operations?read_only=true&q=app.").json()["results"]
    assert reads and all(op["read_only"] and op["name"].startswith("app.") for op in reads)

    shown = alice.get("/api/v1/operations/app.rollback").json()
    assert shown["risk"] == "high" and shown["needs_confirmation"] is True
    assert shown["role"] == "member"
    assert shown["rest"] == "POST /api/v1/apps/{app_id}/releases/{release_id}/rollback"
    assert set(shown["input_schema"]["required"]) == {"app_id", "release_id"}
    assert alice.get("/api/v1/operations/tenant.suspend").status_code == 404
    assert alice.get("/api/v1/operations/no.such").status_code == 404


def test_execute_a_low_risk_write_and_a_read_audits_the_write_only(client_for, world):
    alice = client_for(world["alice"], world["tenant_a"])
    answer = execute(alice, "app.create", {"name": "shop"})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["operation"], body["risk"]) == ("app.create", "low")
    app_id = body["result"]["id"]

    listed = execute(alice, "app.list")
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()["result"]["results"]] == [app_id]

    events = AuditEvent.objects.filter(action="operation.executed")
    assert [(e.metadata["operation"], e.metadata["risk"], e.actor_user_id) for e in events] == [
        ("app.create", "low", world["alice"].pk)
    ]
    assert events[0].metadata["via"] == "rest"
    # The service's own event is there too: the operation went through it.
    assert AuditEvent.objects.filter(action="app.created", target_id=app_id).exists()


def test_invalid_input_is_a_400_naming_the_field(client_for, world):
    alice = client_for(world["alice"], world["tenant_a"])
    answer = execute(alice, "app.create", {"name": "shop", "colour": "red"})
    assert answer.status_code == 400
    assert answer.json()["type"] == "/problems/validation-error"
    answer = execute(alice, "app.scale", {"app_id": "x"})
    assert answer.status_code == 400
    assert "formation" in str(answer.json()["errors"])
    # The endpoint's own validation answers as the endpoint does.
    answer = execute(alice, "app.create", {"name": "Not A Slug!"})
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "name"


def test_critical_operation_needs_a_confirmation_then_runs_once(client_for, world):
    alice = client_for(world["alice"], world["tenant_a"])
    app_id = _make_app(alice)

    first = execute(alice, "app.delete", {"app_id": app_id})
    assert first.status_code == 409
    problem = first.json()
    assert problem["type"] == PROBLEM
    assert app_id in problem["summary"] and "Delete app" in problem["summary"]
    assert problem["confirmation_token"].startswith("qsc_") and problem["expires_at"]
    assert App.objects.filter(pk=app_id).exists()
    assert not AuditEvent.objects.filter(metadata__operation="app.delete").exists()

    token = problem["confirmation_token"]
    done = execute(alice, "app.delete", {"app_id": app_id}, token=token)
    assert done.status_code == 200, done.content
    assert done.json()["risk"] == "critical"
    assert not App.objects.filter(pk=app_id).exists()
    event = AuditEvent.objects.get(action="operation.executed", metadata__operation="app.delete")
    assert event.metadata["risk"] == "critical"

    again = execute(alice, "app.delete", {"app_id": app_id}, token=token)
    assert again.status_code == 409 and "not valid" in again.json()["detail"]
    assert again.json()["confirmation_token"] != token


def test_a_token_is_bound_to_the_input_and_the_caller(client_for, world):
    team = people(world)
    alice = client_for(team.owner, team.alpha)
    dana = client_for(team.admin, team.alpha)
    shop, shed = _make_app(alice, "shop"), _make_app(alice, "shed")
    token = execute(alice, "app.delete", {"app_id": shop}).json()["confirmation_token"]

    other_input = execute(alice, "app.delete", {"app_id": shed}, token=token)
    assert other_input.status_code == 409
    other_caller = execute(dana, "app.delete", {"app_id": shop}, token=token)
    assert other_caller.status_code == 409
    other_operation = execute(alice, "app.stop", {"app_id": shop}, token=token)
    assert other_operation.status_code == 409
    assert App.objects.filter(pk__in=[shop, shed]).count() == 2
    # Still good for what it was made for: the wrong tries did not use it up.
    assert execute(alice, "app.delete", {"app_id": shop}, token=token).status_code == 200


def test_an_expired_token_is_refused(client_for, world, settings):
    settings.OPERATIONS_CONFIRMATION_TTL_S = 1
    alice = client_for(world["alice"], world["tenant_a"])
    app_id = _make_app(alice)
    token = execute(alice, "app.delete", {"app_id": app_id}).json()["confirmation_token"]
    time.sleep(1.1)
    assert execute(alice, "app.delete", {"app_id": app_id}, token=token).status_code == 409
    assert App.objects.filter(pk=app_id).exists()


def test_roles_are_the_endpoints_roles(client_for, world):
    team = people(world)
    alice = client_for(team.owner, team.alpha)
    app_id = _make_app(alice)
    viewer = client_for(team.viewer, team.alpha)
    member = client_for(team.member, team.alpha)

    assert execute(viewer, "app.list").status_code == 200
    refused = execute(viewer, "app.create", {"name": "nope"})
    assert refused.status_code == 403 and "member" in refused.json()["detail"]
    # No token is handed to someone who may not run it anyway.
    refused = execute(member, "app.delete", {"app_id": app_id})
    assert refused.status_code == 403 and "confirmation_token" not in refused.json()
    assert not AuditEvent.objects.filter(action="operation.executed", actor_user_id=team.viewer.pk)


def test_other_tenants_and_outsiders_get_404(client_for, world):
    alice = client_for(world["alice"], world["tenant_a"])
    app_id = _make_app(alice)
    bob_in_alpha = client_for(world["bob"], world["tenant_a"])
    assert execute(bob_in_alpha, "app.list").status_code == 404
    bob = client_for(world["bob"], world["tenant_b"])
    answer = execute(bob, "app.delete", {"app_id": app_id})
    assert answer.status_code == 409  # bob may delete his own apps: asked to confirm
    token = answer.json()["confirmation_token"]
    assert execute(bob, "app.delete", {"app_id": app_id}, token=token).status_code == 404
    with schema_context(world["tenant_a"].schema_name):
        assert App.objects.filter(pk=app_id).exists()
    no_tenant = client_for(world["alice"])
    assert execute(no_tenant, "app.list").status_code == 404


def test_operator_operations_for_operators_only(client_for, world):
    operator = client_for(world["operator"])
    names = [op["name"] for op in operator.get("/api/v1/operations").json()["results"]]
    assert "tenant.suspend" in names and "app.deploy" not in names
    data = {"tenant_id": str(world["tenant_b"].pk), "reason": "abuse"}
    first = execute(operator, "tenant.suspend", data)
    assert first.status_code == 409 and "Suspend tenant" in first.json()["summary"]
    done = execute(operator, "tenant.suspend", data, token=first.json()["confirmation_token"])
    assert done.status_code == 200, done.content
    world["tenant_b"].refresh_from_db()
    assert world["tenant_b"].status == TenantStatus.SUSPENDED
    assert execute(client_for(world["alice"]), "tenant.suspend", data).status_code == 404


def test_odd_ids_are_404_not_errors(client_for, world):
    alice = client_for(world["alice"], world["tenant_a"])
    for odd in ("a/b", "../apps", "x?y=1", "%2F"):
        answer = execute(alice, "app.status", {"app_id": odd})
        assert answer.status_code == 404, (odd, answer.content)
        assert answer.json()["type"] == "/problems/not-found"


def test_the_list_costs_the_same_few_queries_whatever_the_registry_holds(client_for, world):
    alice = client_for(world["alice"], world["tenant_a"])
    alice.get("/api/v1/operations")  # the OpenAPI document is read once per process
    before, body = counted_get(alice, "/api/v1/operations")
    registry.register_operation(
        "test.noop",
        risk="low",
        description="Does nothing (a test's).",
        input_schema={"type": "object", "properties": {}},
        role="viewer",
        handler=lambda caller, data: {"ok": True},
    )
    try:
        after, grown = counted_get(alice, "/api/v1/operations")
        assert execute(alice, "test.noop").json()["result"] == {"ok": True}
    finally:
        registry.unregister_operation("test.noop")
    assert len(grown["results"]) == len(body["results"]) + 1
    assert after == before <= 6


def test_provision_database_gives_an_app_a_postgres_addon(client_for, world):
    """MCTL's `provision-database`: the add-on API's create with the kind fixed."""
    from apps.addons.models import Addon

    alice = client_for(world["alice"], world["tenant_a"])
    app_id = _make_app(alice)
    answer = execute(alice, "provision-database", {"app_id": app_id, "name": "main"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["result"]["kind"] == "postgres"
    with schema_context(world["tenant_a"].schema_name):
        addon = Addon.objects.get(app_id=app_id)
    assert (addon.kind, addon.name, addon.env_var) == ("postgres", "main", "DATABASE_URL")
    refused = execute(alice, "provision-database", {"app_id": app_id, "kind": "redis"})
    assert refused.status_code == 400  # the kind is not an input
