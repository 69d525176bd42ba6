"""The tenant console's add-on pages: viewers read, admins change (a forged POST from a viewer
or member is 403 and changes nothing), refusals are messages or form errors, strangers 404."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from apps.addons import services
from apps.addons.models import Addon
from apps.core.actor import Actor

from .conftest import app_in

pytestmark = pytest.mark.django_db
HOST = "alpha.localhost"
BASE = "/console/addons/addon/"


def call(client, user, method: str, path: str, data=None, host=HOST):
    client.force_login(user)
    return getattr(client, method)(path, data or {}, HTTP_HOST=host)


def test_console_roles_and_refusals(client, world, roles):
    alpha = world["tenant_a"]
    app = app_in(alpha, world["alice"])
    with tenant_context(alpha):
        addon = services.addon_create(
            app=app, tenant=alpha, actor=Actor(user=world["alice"]), kind="redis", name="cache"
        )
    assert call(client, roles["viewer"], "get", BASE).status_code == 200
    page = call(client, roles["viewer"], "get", f"{BASE}{addon.pk}/")
    assert page.status_code == 200 and b"cache" in page.content and b"Rotate" not in page.content
    for who in ("viewer", "member"):
        forged = call(client, roles[who], "post", f"{BASE}{addon.pk}/",
                      {"action": "destroy", "confirm": "cache"})  # fmt: skip
        assert forged.status_code == 403
        assert call(client, roles[who], "get", f"{BASE}add/").status_code == 403
    wrong = call(client, roles["admin"], "post", f"{BASE}{addon.pk}/",
                 {"action": "destroy", "confirm": "nope"})  # fmt: skip
    assert wrong.status_code == 400
    with tenant_context(alpha):
        assert Addon.objects.get(pk=addon.pk).status == "provisioning"
    added = call(client, roles["admin"], "post", f"{BASE}add/",
                 {"app": str(app.pk), "kind": "postgres", "name": "main"})  # fmt: skip
    assert added.status_code == 302, added.content
    with tenant_context(alpha):
        assert Addon.objects.filter(app=app, name="main", kind="postgres").exists()
    assert call(client, world["bob"], "get", f"{BASE}{addon.pk}/", host="bravo.localhost"
                ).status_code == 404  # fmt: skip


def test_console_list_costs_the_same_whatever_its_length(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    alpha, alice = world["tenant_a"], world["alice"]
    app = app_in(alpha, alice)

    def add(n: int) -> int:
        with tenant_context(alpha):
            for i in range(n):
                services.addon_create(app=app, tenant=alpha, actor=Actor(user=alice),
                                      kind="redis", env_var=f"R{n}_{i}")  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            assert call(client, alice, "get", BASE).status_code == 200
        return len(queries)

    call(client, alice, "get", BASE)  # the first request of a session costs more (login)
    assert add(1) == add(4)
