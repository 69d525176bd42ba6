"""/api/v1/apps/{id}/addons/{addon_id}/backups and …/restores: roles (a forged POST by a viewer
or member is refused), strangers get 404, problems for mistakes, the list at a constant number of
queries, the download audited.

No add-on servers here (test_backups.py runs them): an add-on made through the services is
marked available by hand, and a backup's dump fails with an engine error (no server to dump),
which the services record as a failed backup like any other."""

from __future__ import annotations

import datetime as dt
import uuid
from unittest import mock

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.addons import services as addon_services
from apps.addons.backup_models import Backup
from apps.addons.backups import selectors, services, targets
from apps.addons.backups.engines import EngineError
from apps.addons.models import Addon
from apps.core.actor import SYSTEM, Actor
from apps.core.models import AuditEvent, OutboxEvent
from tests.assertions import assert_problem, counted_get

from .conftest import app_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_backup_tasks(monkeypatch, settings, tmp_path):
    settings.ADDONS_BACKUP_STORAGE = "local"
    settings.ADDONS_BACKUP_DIR = str(tmp_path / "backups")
    sent: list = []
    monkeypatch.setattr(services, "enqueue_backup", lambda pk: sent.append(("backup", pk)))
    monkeypatch.setattr(services, "enqueue_restore", lambda pk: sent.append(("restore", pk)))
    return sent


def _addon(world, name="main-db"):
    alpha, alice = world["tenant_a"], world["alice"]
    app = app_in(alpha, alice)
    with tenant_context(alpha):
        addon = addon_services.addon_create(
            app=app, tenant=alpha, actor=Actor(user=alice), kind="postgres", name=name
        )
        Addon.objects.filter(pk=addon.pk).update(status="available")  # no server here
        addon.refresh_from_db()
    return app, addon


def _failed_backup(world, addon) -> Backup:
    alpha = world["tenant_a"]
    with tenant_context(alpha), mock.patch.object(targets, "dump", side_effect=EngineError("x")):
        backup = services.backup_create(addon=addon, tenant=alpha, actor=SYSTEM)
        return services.backup_run(backup_id=backup.pk, tenant=alpha)


def base(app, addon) -> str:
    return f"/api/v1/apps/{app.pk}/addons/{addon.pk}/backups"


def test_roles_member_backs_up_admin_restores_and_downloads(world, roles, client_for):
    alpha = world["tenant_a"]
    app, addon = _addon(world)
    viewer, member, admin = (client_for(roles[r], alpha) for r in ("viewer", "member", "admin"))
    assert viewer.post(base(app, addon)).status_code == 403
    response = member.post(base(app, addon))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["kind"] == "manual"
    assert response["Location"].endswith(f"/backups/{body['id']}")
    # One at a time.
    assert member.post(base(app, addon)).status_code == 409
    with tenant_context(alpha), mock.patch.object(targets, "dump", side_effect=EngineError("x")):
        services.backup_run(backup_id=body["id"], tenant=alpha)
    shown = viewer.get(f"{base(app, addon)}/{body['id']}").json()
    assert shown["status"] == "failed" and shown["error"] == "x"

    backup_url = f"{base(app, addon)}/{body['id']}"
    for who in (viewer, member):
        assert who.post(f"{backup_url}/restore", {"confirm": "main-db"}).status_code == 403
        assert who.get(f"{backup_url}/download").status_code == 403
    # A failed backup is neither restored nor downloaded.
    assert admin.post(f"{backup_url}/restore", {"confirm": "main-db"}).status_code == 409
    assert admin.get(f"{backup_url}/download").status_code == 409

    with tenant_context(alpha):
        Backup.objects.filter(pk=body["id"]).update(status="succeeded")  # stands in for a dump
    assert_problem(admin.post(f"{backup_url}/restore", {"confirm": "wrong"}), "confirm")
    response = admin.post(f"{backup_url}/restore", {"confirm": "main-db"})
    assert response.status_code == 202, response.content
    restore = response.json()
    assert restore["status"] == "queued" and restore["target_addon_id"] == str(addon.pk)
    status_url = response["Location"]
    assert viewer.get(status_url).json()["id"] == restore["id"]
    # Nothing stored for it: the download is a conflict, not a server error.
    assert admin.get(f"{backup_url}/download").status_code == 409


def test_strangers_and_unknown_ids_get_404(world, client_for):
    alpha, bravo = world["tenant_a"], world["tenant_b"]
    app, addon = _addon(world)
    backup = _failed_backup(world, addon)
    _other_app, other = _addon(world, name="other-db")
    bob = client_for(world["bob"], bravo)
    alice = client_for(world["alice"], alpha)
    url = f"{base(app, addon)}/{backup.pk}"
    for path in (base(app, addon), url, f"{url}/download"):
        assert bob.get(path).status_code == 404, path
    assert bob.post(base(app, addon)).status_code == 404
    assert bob.post(f"{url}/restore", {"confirm": "main-db"}).status_code == 404
    # Another add-on's path, unknown and malformed ids.
    assert alice.get(f"{base(app, other)}/{backup.pk}").status_code == 404
    assert alice.get(f"/api/v1/apps/{app.pk}/addons/{uuid.uuid4()}/backups").status_code == 404
    assert alice.get(f"/api/v1/apps/{app.pk}/addons/nope/backups").status_code == 404
    assert alice.get(f"{base(app, addon)}/nope").status_code == 404
    assert alice.get(f"/api/v1/apps/{app.pk}/addons/{addon.pk}/restores/nope").status_code == 404


def test_list_costs_the_same_queries_for_one_or_many(world, client_for):
    alpha = world["tenant_a"]
    app, addon = _addon(world)
    client = client_for(world["alice"], alpha)
    _failed_backup(world, addon)
    one, body = counted_get(client, base(app, addon))
    assert len(body["results"]) == 1
    for _ in range(4):
        _failed_backup(world, addon)
    many, body = counted_get(client, base(app, addon))
    assert len(body["results"]) == 5
    assert many == one


def test_download_is_audited(world, client_for, settings):
    """A backup with stored data: what `backup_run` writes, here from a stand-in dump."""
    alpha = world["tenant_a"]
    app, addon = _addon(world)
    with tenant_context(alpha), mock.patch.object(targets, "dump", return_value=[b"PGDMP..."]):
        backup = services.backup_create(addon=addon, tenant=alpha, actor=SYSTEM)
        backup = services.backup_run(backup_id=backup.pk, tenant=alpha)
    assert backup.status == "succeeded"
    response = client_for(world["alice"], alpha).get(f"{base(app, addon)}/{backup.pk}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"PGDMP..."
    assert response["Content-Disposition"].startswith('attachment; filename="main-db-')
    with tenant_context(alpha):
        assert AuditEvent.objects.filter(action="addon.backup_downloaded").count() == 1


def test_jobs_left_by_a_crashed_worker_fail_and_say_so(world, _no_backup_tasks):
    """The hourly task's reaper: a backup `running` for hours fails (addon.backup_failed); one
    still `queued` is sent again."""
    alpha = world["tenant_a"]
    _app, addon = _addon(world)
    with tenant_context(alpha):
        stuck = services.backup_create(addon=addon, tenant=alpha, actor=SYSTEM)
        long_ago = timezone.now() - dt.timedelta(days=1)
        # Claimed by a worker that died a day ago (the row as backup_run leaves it).
        Backup.objects.filter(pk=stuck.pk).update(status="running", started_at=long_ago)
        _other, second = _addon(world, name="second-db")
        waiting = services.backup_create(addon=second, tenant=alpha, actor=SYSTEM)
        Backup.objects.filter(pk=waiting.pk).update(created_at=long_ago)
        _no_backup_tasks.clear()
        outcome = services.backups_reap(tenant=alpha)
        assert outcome == {"backups_failed": 1, "restores_failed": 0, "requeued": 1}
        stuck.refresh_from_db()
        assert stuck.status == "failed" and "worker stopped" in stuck.error
        assert OutboxEvent.objects.filter(type="addon.backup_failed").count() == 1
        assert _no_backup_tasks == [("backup", waiting.pk)]


def test_a_restore_into_a_new_addon_waits_for_its_provisioning(world, client_for):
    alpha = world["tenant_a"]
    app, addon = _addon(world)
    backup = _failed_backup(world, addon)
    with tenant_context(alpha):
        Backup.objects.filter(pk=backup.pk).update(status="succeeded")  # stands in for a dump
    response = client_for(world["alice"], alpha).post(
        f"{base(app, addon)}/{backup.pk}/restore", {"into_new": True, "name": "copy-db"}
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["into_new"] is True and body["target_addon_id"] != str(addon.pk)
    with tenant_context(alpha):
        copy = Addon.objects.get(pk=body["target_addon_id"])
        assert copy.status == "provisioning" and copy.env_var == "COPY_DB_URL"
        with pytest.raises(services.NotYet):
            services.restore_run(restore_id=body["id"], tenant=alpha, provision=False)
        assert (
            selectors.restore_get(app=app, addon_ref=addon.pk, restore_id=body["id"]).status
            == "queued"
        )


def test_scheduled_backups_once_per_interval(
    world, _no_backup_tasks, settings, django_capture_on_commit_callbacks
):
    alpha = world["tenant_a"]
    _app, addon = _addon(world)
    with tenant_context(alpha):
        _no_backup_tasks.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.backups_schedule(tenant=alpha) == 1
        scheduled = Backup.objects.get(addon_ref=addon.pk, kind="scheduled")
        assert _no_backup_tasks == [("backup", scheduled.pk)]
        Backup.objects.filter(pk=scheduled.pk).update(status="succeeded")
        assert services.backups_schedule(tenant=alpha) == 0  # the last one is recent
        later = timezone.now() + dt.timedelta(hours=settings.ADDONS_BACKUP_INTERVAL_H, minutes=1)
        assert services.backups_schedule(tenant=alpha, now=later) == 1
