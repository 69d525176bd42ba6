"""Backups and restores of apps' own data, end to end on the real runtime: a Python app (a
PostgreSQL and a Redis add-on) and a Node.js app (a PostgreSQL add-on, through the `pg` package)
write rows and keys through HTTP requests to them (through Caddy); a backup of each add-on is
taken through the API; the apps delete what they wrote; a restore through the API (into the same
add-on, confirmed by its name) brings it back, the app stopped meanwhile and serving again after.

The Celery tasks the API sends are run here, inline, as the worker would (the tasks themselves,
in the tenant's schema); backups go to a local directory of each test's own."""

from __future__ import annotations

import functools
import json
from unittest import mock

import pytest
from django_tenants.utils import tenant_context

from apps.addons import services as addon_services
from apps.addons.backups import services, targets
from apps.addons.backups.tasks import backup_run_task, restore_run_task
from apps.core.actor import Actor
from apps.deploy.models import Deployment

from .conftest import node_pg_repo, probe_repo

pytestmark = [pytest.mark.runtime, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _backups_inline(monkeypatch, settings, tmp_path):
    """Each test's own backup directory; the tasks the API would send are recorded (and run by
    the test itself)."""
    settings.ADDONS_BACKUP_STORAGE = "local"
    settings.ADDONS_BACKUP_DIR = str(tmp_path / "backups")
    monkeypatch.setattr(services, "enqueue_backup", lambda pk: None)
    monkeypatch.setattr(services, "enqueue_restore", lambda pk: None)


def provisioned(helper, app, kind: str, name: str):
    tenant = helper.tenant
    with tenant_context(tenant):
        addon = addon_services.addon_create(
            app=app, tenant=tenant, actor=Actor(user=helper.world["alice"]), kind=kind, name=name
        )
        addon = addon_services.addon_provision(addon_id=addon.pk, tenant=tenant)
    assert addon.status == "available", addon.status_detail
    return addon


def deployed(helper, app):
    deployment = helper.deploy(app)
    if deployment.state != "live":
        pytest.fail(f"{deployment.failure_reason}\n{helper.logs(deployment)[-3000:]}")
    return deployment


def asker(runtime, helper, app):
    """GET a path of the app through Caddy; its JSON answer."""

    def ask(path: str):
        response = runtime.get(helper.hostname(app), path)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        return json.loads(response.text)

    return ask


def base(app, addon) -> str:
    return f"/api/v1/apps/{app.pk}/addons/{addon.pk}/backups"


def backed_up(api, helper, app, addon) -> str:
    """A backup through the API (an admin's POST), its task run inline; the backup's id."""
    response = api.post(base(app, addon))
    assert response.status_code == 202, response.content
    backup_id = response.json()["id"]
    with tenant_context(helper.tenant):
        assert backup_run_task(backup_id) == "succeeded"
    shown = api.get(f"{base(app, addon)}/{backup_id}").json()
    assert shown["status"] == "succeeded" and shown["size_bytes"] > 0, shown
    return backup_id


def restored(api, helper, runtime, app, addon, backup_id) -> None:
    """A restore into the same add-on through the API, its task run inline. While the data is
    replaced the app is stopped and none of its processes runs (asking Caddy instead costs 3 s
    of its retries before a 502); after, the restore's start deployment (what deploy's
    app_start sends) goes live and the app serves again."""
    url = f"{base(app, addon)}/{backup_id}/restore"
    assert api.post(url, {"confirm": "wrong"}).status_code == 400
    response = api.post(url, {"confirm": addon.name})
    assert response.status_code == 202, response.content
    restore_id = response.json()["id"]

    during: list[tuple] = []
    real_restore = targets.restore

    def observed(target, chunks, *, fresh):
        app.refresh_from_db()
        running = {key for key, _ in runtime.provider.program_keys()}
        during.append((app.status, app.pk.hex in running))
        return real_restore(target, chunks, fresh=fresh)

    with tenant_context(helper.tenant), mock.patch.object(targets, "restore", observed):
        assert restore_run_task(restore_id) == "succeeded"
        start = Deployment.objects.filter(app=app, kind="start").order_by("-created_at").first()
    assert during == [("stopped", False)]  # no process of the app ran while its data was replaced
    assert api.get(response["Location"]).json()["status"] == "succeeded"
    assert start is not None and start.state != "live"
    assert helper.run(start).state == "live", helper.logs(start)[-3000:]


def test_python_app_rows_and_keys_deleted_come_back(deployer, runtime, tmp_path, roles, client_for):
    app = deployer.create(probe_repo(tmp_path / "py", clients=True))
    pg = provisioned(deployer, app, "postgres", "py-db")  # DATABASE_URL
    rd = provisioned(deployer, app, "redis", "py-cache")  # REDIS_URL
    deployed(deployer, app)
    ask = asker(runtime, deployer, app)
    assert ask("/pg/write?n=40") == 40
    assert ask("/redis/write?n=25") == 25

    admin = client_for(roles["admin"], deployer.tenant)
    pg_backup = backed_up(admin, deployer, app, pg)
    rd_backup = backed_up(admin, deployer, app, rd)

    # The app deletes what it wrote, then writes what the backups never saw.
    assert ask("/pg/delete") == 0 and ask("/pg/write?n=3") == 3
    assert ask("/redis/flush") == 0 and ask("/redis/write?n=2") == 2

    restore = functools.partial(restored, admin, deployer, runtime, app)
    restore(pg, pg_backup)
    assert ask("/pg/count") == 40  # the backup's rows, not the 3 written after it
    assert ask("/redis/count") == 2  # the other add-on is untouched
    restore(rd, rd_backup)
    assert ask("/redis/count") == 25 and ask("/pg/count") == 40
    # The app's role still owns and writes its table and keys.
    assert ask("/pg/write?n=1") == 41 and ask("/redis/write?n=30") == 30


def test_node_app_rows_and_keys_deleted_come_back(deployer, runtime, tmp_path, roles, client_for):
    app = deployer.create(node_pg_repo(tmp_path / "node"))
    pg = provisioned(deployer, app, "postgres", "node-db")
    rd = provisioned(deployer, app, "redis", "node-cache")
    deployed(deployer, app)
    ask = asker(runtime, deployer, app)
    assert ask("/pg/write?n=30") == 30
    assert ask("/redis/write?n=12") == 12

    admin = client_for(roles["admin"], deployer.tenant)
    pg_backup = backed_up(admin, deployer, app, pg)
    rd_backup = backed_up(admin, deployer, app, rd)
    assert ask("/pg/delete") == 0 and ask("/pg/write?n=2") == 2
    assert ask("/redis/flush") == 0

    restore = functools.partial(restored, admin, deployer, runtime, app)
    restore(pg, pg_backup)
    assert ask("/pg/count") == 30
    restore(rd, rd_backup)
    assert ask("/redis/count") == 12 and ask("/pg/count") == 30
    assert ask("/pg/write?n=1") == 31
