"""/api/v1/apps/{id}/addons: roles as for env vars, strangers get 404, problems for mistakes,
lists at a constant number of queries. No servers here: provisioning is not run (the runtime
tests do that)."""

from __future__ import annotations

import uuid

import pytest
from django_tenants.utils import tenant_context

from apps.addons import services
from apps.core.actor import Actor
from apps.core.outbox import OutboxEvent
from tests.assertions import assert_problem, counted_get

from .conftest import app_in

pytestmark = pytest.mark.django_db


def base(app) -> str:
    return f"/api/v1/apps/{app.pk}/addons"


def test_admin_creates_viewer_reads_member_and_viewer_cannot_write(world, roles, client_for):
    alpha = world["tenant_a"]
    app = app_in(alpha, world["alice"])
    for who in ("viewer", "member"):
        response = client_for(roles[who], alpha).post(
            base(app), {"kind": "postgres"}, format="json"
        )
        assert response.status_code == 403, (who, response.content)
    response = client_for(roles["admin"], alpha).post(
        base(app), {"kind": "postgres", "name": "main-db"}, format="json"
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "provisioning"
    assert body["env_var"] == "DATABASE_URL" and body["size_mb"] >= 1
    assert not any(
        "password" in key or "credential" in key for key in body if key != "credentials_version"
    )
    with tenant_context(alpha):
        assert OutboxEvent.objects.filter(type="addon.created").exists()
    viewer = client_for(roles["viewer"], alpha)
    assert viewer.get(base(app)).json()["results"][0]["name"] == "main-db"
    shown = viewer.get(f"{base(app)}/{body['id']}")
    assert shown.status_code == 200 and shown.json()["kind"] == "postgres"
    for action in ("reveal", "rotate", "detach", "sessions"):
        response = client_for(roles["member"], alpha).post(f"{base(app)}/{body['id']}/{action}")
        assert response.status_code == 403, (action, response.content)
    forged = client_for(roles["viewer"], alpha).delete(
        f"{base(app)}/{body['id']}", {"confirm": "main-db"}, format="json"
    )
    assert forged.status_code == 403


def test_mistakes_are_problems(world, client_for):
    alpha = world["tenant_a"]
    app = app_in(alpha, world["alice"])
    owner = client_for(world["alice"], alpha)
    assert_problem(owner.post(base(app), {"kind": "mysql"}, format="json"), "kind")
    assert_problem(
        owner.post(base(app), {"kind": "redis", "env_var": "PORT"}, format="json"), "env_var"
    )
    assert_problem(
        owner.post(base(app), {"kind": "redis", "name": "Bad Name"}, format="json"), "name"
    )
    created = owner.post(base(app), {"kind": "redis", "name": "cache"}, format="json").json()
    again = owner.post(base(app), {"kind": "postgres", "name": "cache"}, format="json")
    assert again.status_code == 409 and again["Content-Type"] == "application/problem+json"
    clash = owner.post(base(app), {"kind": "postgres", "env_var": "REDIS_URL"}, format="json")
    assert clash.status_code == 409
    not_ready = owner.post(f"{base(app)}/{created['id']}/reveal")
    assert not_ready.status_code == 409, not_ready.content
    wrong = owner.delete(f"{base(app)}/{created['id']}", {"confirm": "nope"}, format="json")
    assert_problem(wrong, "confirm")
    session = owner.post(f"{base(app)}/{created['id']}/sessions", {}, format="json")
    assert_problem(session, "kind")


def test_strangers_get_404(world, client_for):
    alpha, bravo = world["tenant_a"], world["tenant_b"]
    app = app_in(alpha, world["alice"])
    with tenant_context(alpha):
        addon = services.addon_create(
            app=app, tenant=alpha, actor=Actor(user=world["alice"]), kind="postgres"
        )
    bob = client_for(world["bob"], bravo)
    assert bob.get(base(app)).status_code == 404
    assert bob.get(f"{base(app)}/{addon.pk}").status_code == 404
    assert bob.post(f"{base(app)}/{addon.pk}/reveal").status_code == 404
    other = app_in(bravo, world["bob"])
    assert bob.get(f"{base(other)}/{addon.pk}").status_code == 404
    assert bob.post(f"{base(other)}/{addon.pk}/rotate").status_code == 404
    assert client_for(world["bob"], alpha).get(base(app)).status_code == 404
    assert client_for(world["alice"], alpha).get(f"{base(app)}/not-a-uuid").status_code == 404


def test_list_costs_the_same_whatever_its_length(world, client_for):
    alpha = world["tenant_a"]
    app = app_in(alpha, world["alice"])
    owner = client_for(world["alice"], alpha)

    def add(n: int) -> None:
        with tenant_context(alpha):
            for _ in range(n):
                services.addon_create(
                    app=app,
                    tenant=alpha,
                    actor=Actor(user=world["alice"]),
                    kind="redis",
                    env_var=f"R_{uuid.uuid4().hex[:6].upper()}",
                )

    add(1)
    few, body = counted_get(owner, base(app))
    assert len(body["results"]) == 1
    add(4)
    many, body = counted_get(owner, base(app))
    assert len(body["results"]) == 5
    assert many == few


def test_kubernetes_apps_need_an_operator_configured_server(world, client_for, settings):
    from apps.deploy.models import App

    alpha = world["tenant_a"]
    app = app_in(alpha, world["alice"])
    with tenant_context(alpha):
        App.objects.filter(pk=app.pk).update(provider="kubernetes")
    owner = client_for(world["alice"], alpha)
    settings.ADDONS_POSTGRES_ADMIN_URL = ""
    for kind in ("postgres", "redis"):
        refused = owner.post(base(app), {"kind": kind}, format="json")
        assert refused.status_code == 409, refused.content
        assert "ADDONS_POSTGRES_ADMIN_URL" in refused.json()["detail"]
    settings.ADDONS_POSTGRES_ADMIN_URL = "postgresql://admin:pw@db.internal:5432/postgres"
    created = owner.post(base(app), {"kind": "postgres"}, format="json")
    assert created.status_code == 202 and created.json()["server"] == "external"
    assert owner.post(base(app), {"kind": "redis"}, format="json").status_code == 409
