"""Add-ons on the real local runtime: a Python app deployed with a PostgreSQL and a Redis add-on
writes rows and keys through the sockets bind-mounted into its sandbox; another tenant's app
cannot reach them; an add-on's credentials open nothing else; rotation keeps the app working
and revokes the old credentials."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from apps.addons import connection as addon_connection
from apps.addons import orphans, services
from apps.addons.engines import postgres as pg_engine
from apps.addons.engines import redis as redis_engine
from apps.addons.models import Addon
from apps.core.actor import Actor
from apps.core.models import AuditEvent
from tests.deploy.conftest import Load

from .conftest import node_repo, probe_repo

pytestmark = [pytest.mark.runtime, pytest.mark.django_db]


def provisioned(helper, app, kind: str, **kwargs):
    tenant = helper.tenant
    with tenant_context(tenant):
        addon = services.addon_create(
            app=app, tenant=tenant, actor=Actor(user=helper.world["alice"]), kind=kind, **kwargs
        )
        addon = services.addon_provision(addon_id=addon.pk, tenant=tenant)
    assert addon.status == "available", addon.status_detail
    return addon


def get(runtime, helper, app, path: str):
    response = runtime.get(helper.hostname(app), path)
    assert response.status_code == 200, response.text
    return json.loads(response.text)


def deployed(helper, app):
    deployment = helper.deploy(app)
    if deployment.state != "live":
        pytest.fail(f"{deployment.failure_reason}\n{helper.logs(deployment)[-3000:]}")
    return deployment


def refused(conninfo: dict) -> bool:
    try:
        with psycopg.connect(**conninfo, connect_timeout=3):
            return False
    except psycopg.OperationalError:
        return True


def test_app_writes_rows_and_keys_strangers_reach_nothing(
    deployer, deployer_b, runtime, tmp_path, world
):
    app = deployer.create(probe_repo(tmp_path / "a", clients=True))
    pg = provisioned(deployer, app, "postgres")
    rd = provisioned(deployer, app, "redis")
    deployed(deployer, app)

    assert get(runtime, deployer, app, "/pg/write?n=5") == 5
    assert get(runtime, deployer, app, "/redis/write?n=3") == 3
    assert get(runtime, deployer, app, "/env?name=DATABASE_URL").startswith("postgresql://")
    # The app's sandbox reaches its add-ons by socket only: not Quayside's database by TCP.
    db_port = settings.DATABASES["default"].get("PORT") or 5432
    assert get(runtime, deployer, app, f"/probe?kind=tcp&target=127.0.0.1:{db_port}").startswith(
        "refused"
    )

    # Another tenant's app, in Node.js, writes keys to its own Redis add-on and sees neither
    # socket of alpha's.
    stranger = deployer_b.create(node_repo(tmp_path / "b"))
    other_rd = provisioned(deployer_b, stranger, "redis")
    other_pg = provisioned(deployer_b, deployer_b.create(), "postgres")  # another app's
    deployed(deployer_b, stranger)
    assert get(runtime, deployer_b, stranger, "/redis/write?n=4") == 4
    with tenant_context(deployer.tenant):
        redis_socket = f"{addon_connection.redis_mount(rd)}/{redis_engine.SOCKET}"
    with tenant_context(deployer_b.tenant):
        their_socket = f"{addon_connection.redis_mount(other_rd)}/{redis_engine.SOCKET}"
    assert get(runtime, deployer_b, stranger, f"/probe?target={their_socket}") == "connected"
    assert get(runtime, deployer, app, f"/probe?kind=unix&target={redis_socket}") == "connected"
    for target in (redis_socket, "/run/addons/postgres/.s.PGSQL.5432"):
        assert get(runtime, deployer_b, stranger, f"/probe?target={target}").startswith(
            "refused"
        ), target
    assert get(runtime, deployer, app, f"/probe?kind=unix&target={their_socket}").startswith(
        "refused"
    )

    # Credentials open their own add-on only: not another add-on, not Quayside's database.
    with tenant_context(deployer.tenant):
        mine = addon_connection.credentials(pg)
        my_redis = addon_connection.credentials(rd)
    with tenant_context(deployer_b.tenant):
        theirs = addon_connection.credentials(other_pg)
    own = pg_engine.app_conninfo(db_name=pg.db_name, role=mine["user"], password=mine["password"])
    assert not refused(own)
    assert refused({**own, "dbname": other_pg.db_name})
    assert refused({**own, "dbname": "postgres"})
    assert refused({**own, "user": theirs["user"]})  # my password, their role
    quayside = connection.settings_dict
    assert refused({"host": quayside.get("HOST") or "127.0.0.1", "port": db_port,
                    "dbname": quayside["NAME"], "user": mine["user"],
                    "password": mine["password"]})  # fmt: skip
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(
            unix_socket_path=redis_engine.socket_path(other_rd.db_name),
            password=my_redis["password"],
        ).ping()
    # The app's Redis user cannot make its server (on the host, outside the sandbox) connect
    # elsewhere: MIGRATE to Quayside's own Redis, and raw RESTORE payloads, are refused.
    own_redis = redis.Redis(
        unix_socket_path=redis_engine.socket_path(rd.db_name), password=my_redis["password"]
    )
    own_redis.set("k", "v")
    for command in (("MIGRATE", "127.0.0.1", "6379", "k", "0", "1000"),
                    ("RESTORE", "k2", "0", "x")):  # fmt: skip
        with pytest.raises(redis.exceptions.NoPermissionError):
            own_redis.execute_command(*command)
    assert own_redis.get("k") == b"v"

    # Rotation under load (every request reads the database): the new credentials are deployed,
    # the old ones revoked after, and no request fails meanwhile.
    with Load(runtime, deployer.hostname(app), threads=2) as load:
        with tenant_context(deployer.tenant):
            rotated, deployment = services.addon_rotate(
                addon=pg, tenant=deployer.tenant, actor=Actor(user=world["alice"])
            )
            assert deployment is not None
        assert deployer.run(deployment).state == "live"
        with tenant_context(deployer.tenant):
            assert services.addon_rotation_finish(addon_id=pg.pk)
            new = addon_connection.credentials(rotated)
        time.sleep(0.3)
    assert load.failures == [] and load.requests > 20, load.failures[:3]
    assert set(load.bodies) == {"5"}
    assert refused(own)
    assert not refused({**own, "user": new["user"], "password": new["password"]})


def test_size_limit_warns_then_read_only_the_role_cannot_undo(
    deployer, runtime, settings, client_for
):
    tenant, alice = deployer.tenant, deployer.world["alice"]
    app = deployer.create()
    pg = provisioned(deployer, app, "postgres")
    with tenant_context(tenant):
        creds = addon_connection.credentials(pg)
    conninfo = pg_engine.app_conninfo(db_name=pg.db_name, role=creds["user"],
                                      password=creds["password"])  # fmt: skip
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int)")
        conn.execute("INSERT INTO t VALUES (1)")

    # The URL, revealed through the API, is the app's and audited.
    assert pg.size_used_bytes and pg.size_checked_at  # measured when it became available
    revealed = client_for(alice, tenant).post(f"/api/v1/apps/{app.pk}/addons/{pg.pk}/reveal")
    assert revealed.status_code == 200, revealed.content
    assert revealed.json()["url"].endswith(f"@/{pg.db_name}?host=/run/addons/postgres")
    assert AuditEvent.objects.filter(action="addon.revealed", tenant_id=tenant.pk).exists()

    tenant.entitlement_overrides = {"addon_postgres_mb": 1}  # an empty database is ~7 MB
    tenant.save(update_fields=["entitlement_overrides"])
    settings.ADDONS_READ_ONLY_AFTER_S = 0
    with tenant_context(tenant):
        warned = services.addon_size_check(addon=pg, tenant=tenant)
        assert warned.warned_at and not warned.read_only and warned.size_used_bytes > 1024**2
        locked = services.addon_size_check(addon=warned, tenant=tenant)
        assert locked.read_only
        from apps.core.outbox import OutboxEvent

        types = set(OutboxEvent.objects.values_list("type", flat=True))
        assert {"addon.size_exceeded", "addon.locked"} <= types
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 1  # nothing lost
        conn.execute("SET default_transaction_read_only = off")  # the role tries to undo it
        conn.execute("RESET ROLE")
        for statement in ("INSERT INTO t VALUES (2)", "CREATE TABLE u (id int)",
                          "DROP TABLE t", "ALTER TABLE t ADD COLUMN x int"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)

    tenant.entitlement_overrides = {"addon_postgres_mb": 100}
    tenant.save(update_fields=["entitlement_overrides"])
    with tenant_context(tenant):
        unlocked = services.addon_size_check(addon=locked, tenant=tenant)
        assert not unlocked.read_only and unlocked.warned_at is None
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute("INSERT INTO t VALUES (2)")
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 2

    # One-off session credentials: a role of the add-on that expires; the server's version.
    with tenant_context(tenant):
        session = services.addon_session_create(
            addon=unlocked, tenant=tenant, actor=Actor(user=alice), minutes=5
        )
        services.addon_destroy(
            addon=unlocked, tenant=tenant, actor=Actor(user=alice), confirm=unlocked.name
        )
    assert session["server_version"].split(".")[0].isdigit()
    password = session["url"].split(":")[2].split("@")[0]
    with psycopg.connect(**{**conninfo, "user": session["user"], "password": password}) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 2
    with tenant_context(tenant):
        services.addon_destroy_execute(addon_id=unlocked.pk)
    assert refused(conninfo)

    # An add-on whose row is gone (its app was deleted) is swept from the servers.
    with tenant_context(tenant):
        leftover = provisioned(deployer, deployer.create(), "redis")
        gone = provisioned(deployer, leftover.app, "postgres")
        Addon.objects.filter(pk__in=[leftover.pk, gone.pk]).delete()
    dropped = orphans.addons_orphans_sweep()
    assert gone.db_name in dropped["postgres"] and leftover.db_name in dropped["redis"]
    assert not Path(redis_engine.socket_path(leftover.db_name)).exists()
