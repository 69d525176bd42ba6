"""Backups and restores of real add-ons (the add-ons' own PostgreSQL cluster and redis-servers
on the session's runtime): rows and keys written, a backup taken, data deleted, a restore brings
it back (into the same add-on, or into a new one); a failed backup emits addon.backup_failed;
retention keeps what the plan says; destroying an add-on takes a final backup first.

Backups go to a local directory of each test's own; the S3 backend has its own tests
(test_backup_storage.py, on moto's S3 server)."""

from __future__ import annotations

from unittest import mock

import psycopg
import pytest
import redis
from django_tenants.utils import tenant_context

from apps.addons import connection as addon_connection
from apps.addons import services as addon_services
from apps.addons.backup_models import Backup
from apps.addons.backups import services, targets
from apps.addons.backups.storage import backup_storage
from apps.addons.engines import postgres as pg_engine
from apps.addons.engines import redis as redis_engine
from apps.core.actor import Actor
from apps.core.models import OutboxEvent
from apps.deploy.models import Deployment

from .conftest import app_in, probe_repo

pytestmark = [pytest.mark.runtime, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _backups_inline(monkeypatch, settings, tmp_path):
    """Each test's own backup directory; what services would send to Celery is recorded."""
    settings.ADDONS_BACKUP_STORAGE = "local"
    settings.ADDONS_BACKUP_DIR = str(tmp_path / "backups")
    sent: list = []
    monkeypatch.setattr(services, "enqueue_backup", lambda pk: sent.append(("backup", pk)))
    monkeypatch.setattr(services, "enqueue_restore", lambda pk: sent.append(("restore", pk)))
    return sent


@pytest.fixture
def alpha(world, runtime):
    tenant = world["tenant_a"]
    with tenant_context(tenant):
        yield tenant


def provisioned(tenant, app, user, kind: str, **kwargs):
    addon = addon_services.addon_create(
        app=app, tenant=tenant, actor=Actor(user=user), kind=kind, **kwargs
    )
    addon = addon_services.addon_provision(addon_id=addon.pk, tenant=tenant)
    assert addon.status == "available", addon.status_detail
    return addon


def pg_conn(addon):
    creds = addon_connection.credentials(addon)
    info = pg_engine.app_conninfo(
        db_name=addon.db_name, role=creds["user"], password=creds["password"]
    )
    return psycopg.connect(**info, autocommit=True)


def redis_client(addon) -> redis.Redis:
    creds = addon_connection.credentials(addon)
    return redis.Redis(
        unix_socket_path=redis_engine.socket_path(addon.db_name), password=creds["password"]
    )


def backed_up(addon, tenant, user):
    backup = services.backup_create(addon=addon, tenant=tenant, actor=Actor(user=user))
    backup = services.backup_run(backup_id=backup.pk, tenant=tenant)
    assert backup.status == "succeeded", backup.error
    return backup


def restored(backup, tenant, user, **kwargs):
    restore = services.backup_restore(
        backup=backup, tenant=tenant, actor=Actor(user=user), **kwargs
    )
    restore = services.restore_run(restore_id=restore.pk, tenant=tenant)
    assert restore.status == "succeeded", restore.error
    return restore


def events(type_: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(type=type_).order_by("id"))


def test_postgres_rows_deleted_come_back_in_the_same_and_in_a_new_addon(alpha, world):
    alice = world["alice"]
    app = app_in(alpha, alice)
    addon = provisioned(alpha, app, alice, "postgres", name="main-db")
    with pg_conn(addon) as conn:
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text)")
        conn.execute("INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, 200) g")

    backup = backed_up(addon, alpha, alice)
    assert backup.size_bytes > backup.data_bytes > 0 and len(backup.checksum) == 64
    stored = b"".join(backup_storage().read(backup.storage_key))
    assert b"note 1" not in stored and not stored.startswith(b"PGDMP")  # encrypted at rest
    [succeeded] = events("addon.backup_succeeded")
    assert succeeded.data["id"] == str(backup.pk) and succeeded.data["addon_name"] == "main-db"

    with pg_conn(addon) as conn:
        conn.execute("DELETE FROM notes")
    with pytest.raises(Exception, match="confirm"):
        services.backup_restore(backup=backup, tenant=alpha, actor=Actor(user=alice))
    restored(backup, alpha, alice, confirm="main-db")
    with pg_conn(addon) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 200
        conn.execute("INSERT INTO notes (body) VALUES ('the app still owns it')")
    assert events("addon.restored")[0].data["backup"]["id"] == str(backup.pk)

    # Into a new add-on: its own role reads and writes the rows.
    restore = restored(backup, alpha, alice, into_new=True, name="copy-db")
    copy = restore.target
    copy.refresh_from_db()
    assert copy.kind == "postgres" and copy.env_var == "COPY_DB_URL"
    with pg_conn(copy) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 200
        conn.execute("INSERT INTO notes (body) VALUES ('mine')")

    # Downloaded: the plain custom-format dump, and the download is audited.
    chunks = services.backup_download(backup=backup, tenant=alpha, actor=Actor(user=alice))
    assert b"".join(chunks).startswith(b"PGDMP")


def test_redis_keys_deleted_come_back_the_app_stopped_meanwhile(
    alpha, world, deployer, runtime, tmp_path
):
    alice = world["alice"]
    app = deployer.create(probe_repo(tmp_path / "app", clients=False))
    addon = provisioned(alpha, app, alice, "redis", name="cache")
    assert deployer.deploy(app).state == "live"
    client = redis_client(addon)
    client.mset({f"key:{i}": i for i in range(300)})
    backup = backed_up(addon, alpha, alice)
    client.flushall()
    client.set("after", "1")

    stopped_during = []
    real_restore = targets.restore

    def observed(target, chunks, *, fresh):
        app.refresh_from_db()
        running = {app_key for app_key, _ in runtime.provider.program_keys()}
        stopped_during.append((app.status, app.pk.hex in running))
        return real_restore(target, chunks, fresh=fresh)

    with mock.patch.object(targets, "restore", observed):
        restored(backup, alpha, alice, confirm="cache")
    assert stopped_during == [("stopped", False)]  # no process of the app ran meanwhile
    client = redis_client(addon)
    assert client.dbsize() == 300 and client.get("key:299") == b"299"
    assert client.get("after") is None
    # Started again afterwards: a start deployment, which goes live.
    start = Deployment.objects.filter(app=app, kind="start").get()
    assert deployer.run(start).state == "live"


def test_a_failed_backup_emits_addon_backup_failed(alpha, world, settings):
    alice = world["alice"]
    app = app_in(alpha, alice)
    addon = provisioned(alpha, app, alice, "postgres")
    settings.ADDONS_BACKUP_PG_COMPRESS = 99  # pg_dump refuses it: a real failure of the tool
    backup = services.backup_create(addon=addon, tenant=alpha, actor=Actor(user=alice))
    backup = services.backup_run(backup_id=backup.pk, tenant=alpha)
    assert backup.status == "failed" and "pg_dump failed" in backup.error
    [failed] = events("addon.backup_failed")
    assert failed.data["id"] == str(backup.pk) and failed.data["app"]["id"] == str(app.pk)
    assert failed.tenant_id == alpha.pk
    assert not backup_storage().exists(backup.storage_key)
    with pytest.raises(Exception, match="only a succeeded backup"):
        services.backup_restore(backup=backup, tenant=alpha, actor=Actor(user=alice), confirm="x")


def test_retention_by_plan_and_a_final_backup_before_destroy(alpha, world):
    alice = world["alice"]
    alpha.entitlements = {**(alpha.entitlements or {}), "addon_backups_kept": 2}
    alpha.save(update_fields=["entitlements"])
    app = app_in(alpha, alice)
    addon = provisioned(alpha, app, alice, "redis", name="kept")
    first = backed_up(addon, alpha, alice)
    second = backed_up(addon, alpha, alice)
    third = backed_up(addon, alpha, alice)
    assert set(Backup.objects.filter(addon_ref=addon.pk)) == {second, third}
    assert not backup_storage().exists(first.storage_key)

    addon_services.addon_destroy(addon=addon, tenant=alpha, actor=Actor(user=alice), confirm="kept")
    addon_services.addon_destroy_execute(addon_id=addon.pk)
    final = Backup.objects.get(addon_ref=addon.pk, kind="final")
    assert final.status == "succeeded" and final.addon is None
    assert backup_storage().exists(final.storage_key)
    # The add-on is gone; its final backup restores into a new one.
    restore = restored(final, alpha, alice, into_new=True, name="revived")
    assert restore.target.kind == "redis"


def test_a_rotation_that_fails_takes_its_new_credentials_back(alpha, world, monkeypatch):
    """The server has the new credentials before the rotation's transaction commits: when it
    rolls back (here the env var update fails), they are withdrawn, not left valid unseen."""
    from apps.addons import services as addon_services
    from apps.deploy import services as deploy_services

    alice = world["alice"]
    app = app_in(alpha, alice)
    pg = provisioned(alpha, app, alice, "postgres", name="rot-db")
    rd = provisioned(alpha, app, alice, "redis", name="rot-cache")
    before_pg = addon_connection.credentials(pg)

    def broken(**kwargs):
        raise RuntimeError("the env var update failed")

    monkeypatch.setattr(deploy_services, "env_vars_update", broken)
    for addon in (pg, rd):
        with tenant_context(alpha), pytest.raises(RuntimeError):
            addon_services.addon_rotate(addon=addon, tenant=alpha, actor=Actor(user=alice))
    with pg_conn(pg) as conn:  # the old credentials still work; no second login role exists
        roles = conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", [pg.db_name + "\\_%"]
        ).fetchall()
    assert [r[0] for r in roles if r[0] != pg.db_name + "_lock"] == [before_pg["user"]]
    assert redis_client(rd).ping()
    admin = redis.Redis(
        unix_socket_path=redis_engine.socket_path(rd.db_name),
        username=redis_engine.ADMIN_USER,
        password=addon_connection.credentials(rd)["admin_password"],
    )
    user = admin.acl_getuser("default")
    assert len(user["passwords"]) == 1  # the app's own; the rotation's second one is gone
    with tenant_context(alpha):
        pg.refresh_from_db()
    assert pg.credentials_version == 1 and pg.previous_credentials_encrypted == ""
