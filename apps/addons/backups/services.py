"""Writes of add-on backups: take one, keep as many as the plan says, restore, download.

backup_create   a row (queued), the backup task after commit (on demand or scheduled)
backup_run      the task's work: dump → encrypt → storage, streamed; succeeded or failed
                (outbox addon.backup_succeeded / addon.backup_failed), then retention
backup_final    before an add-on is destroyed, inline (services.addon_final_backup)
backups_prune   retention: the tenant's `addon_backups_kept` newest scheduled and manual
                backups of an add-on stay; final backups stay ADDONS_BACKUP_FINAL_KEEP_DAYS
backup_restore  a restore job (queued): into the same add-on (confirmed by its name) or into
                a new add-on of the app
restore_run     the task's work: the app's processes stopped (deploy's app_stop, reconciled
                now), the data replaced, the app started again (app_start); addon.restored
backup_download the decrypted stream, audited
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import logging
import re
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core.actor import SYSTEM, Actor
from apps.core.audit import audit_as
from apps.core.problems import Conflict, InvalidInput
from apps.deploy import reconcile as deploy_reconcile
from apps.deploy import services as deploy_services
from apps.deploy.models import App, AppStatus

from .. import selectors as addon_selectors
from .. import services as addon_services
from ..backup_models import Backup, BackupKind, BackupRestore, BackupStatus, RestoreStatus
from ..models import Addon, AddonStatus
from . import crypto, events, selectors, targets
from .storage import backup_storage

logger = logging.getLogger(__name__)
IN_PROGRESS = (BackupStatus.QUEUED, BackupStatus.RUNNING)


def _package():
    import sys

    return sys.modules[__name__]


def enqueue_backup(backup_id) -> None:
    """Send the backup task (in the current schema); tests replace it."""
    from .tasks import backup_run_task

    try:
        backup_run_task.delay(str(backup_id))
    except Exception:
        logger.exception("Could not enqueue backup %s", backup_id)


def enqueue_restore(restore_id) -> None:
    from .tasks import restore_run_task

    try:
        restore_run_task.delay(str(restore_id))
    except Exception:
        logger.exception("Could not enqueue restore %s", restore_id)


def _schema() -> str:
    return getattr(connection, "schema_name", "public")


# --- Backups ---------------------------------------------------------------------------------


@transaction.atomic
def backup_create(*, addon: Addon, tenant, actor: Actor, kind: str = BackupKind.MANUAL) -> Backup:
    """A backup of `addon`, taken by a task after commit. One at a time per add-on."""
    addon = Addon.objects.select_for_update().select_related("app").get(pk=addon.pk)
    if addon.status != AddonStatus.AVAILABLE:
        raise Conflict(f"The add-on is {addon.status}.")
    if Backup.objects.filter(addon_ref=addon.pk, status__in=IN_PROGRESS).exists():
        raise Conflict("A backup of this add-on is under way.")
    backup = _backup_row(addon, kind)
    audit_as(actor, "addon.backup_requested", tenant=tenant, target=addon.app,
             addon=str(addon.pk), backup=str(backup.pk), kind=kind)  # fmt: skip
    transaction.on_commit(functools.partial(_package().enqueue_backup, backup.pk))
    return backup


def _backup_row(addon: Addon, kind: str) -> Backup:
    backup = Backup(
        app=addon.app,
        addon=addon,
        addon_ref=addon.pk,
        addon_name=addon.name,
        addon_kind=addon.kind,
        kind=kind,
    )
    backup.storage_key = f"{_schema()}/{addon.pk.hex}/{backup.pk.hex}.qsbk"
    backup.save()
    return backup


class _Measured:
    """Counts the bytes (and hashes them) of a stream as it passes."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = chunks
        self.size = 0
        self.sha256 = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.size += len(chunk)
            self.sha256.update(chunk)
            yield chunk


def backup_run(*, backup_id, tenant) -> Backup | None:
    """Take the backup (the task). Claims the row first, so a second run does nothing."""
    claimed = Backup.objects.filter(pk=backup_id, status=BackupStatus.QUEUED).update(
        status=BackupStatus.RUNNING, started_at=timezone.now()
    )
    backup = Backup.objects.select_related("app", "addon").filter(pk=backup_id).first()
    if not claimed or backup is None:
        return backup
    addon = backup.addon
    storage = backup_storage()
    try:
        if addon is None or addon.status not in (AddonStatus.AVAILABLE, AddonStatus.DELETING):
            raise Conflict("The add-on is not available.")
        plain = _Measured(targets.dump(addon, compress=settings.ADDONS_BACKUP_PG_COMPRESS))
        stored = _Measured(crypto.encrypt_stream(plain))
        storage.write(backup.storage_key, stored)
    except Exception as exc:
        logger.warning("Backup %s of add-on %s failed: %s", backup.pk, backup.addon_ref, exc)
        try:
            storage.delete(backup.storage_key)
        except Exception:
            logger.exception("Could not delete what backup %s left", backup.pk)
        return _finish(backup, tenant, error=str(exc) or type(exc).__name__)
    return _finish(
        backup,
        tenant,
        size=stored.size,
        data_bytes=plain.size,
        checksum=stored.sha256.hexdigest(),
    )


def _finish(backup: Backup, tenant, *, error: str = "", size=None, data_bytes=None, checksum=""):
    failed = bool(error)
    with transaction.atomic():
        Backup.objects.filter(pk=backup.pk).update(
            status=BackupStatus.FAILED if failed else BackupStatus.SUCCEEDED,
            finished_at=timezone.now(),
            error=error[:1000],
            size_bytes=size,
            data_bytes=data_bytes,
            checksum=checksum,
            key_id=crypto.current_key_id(),
        )
        backup.refresh_from_db()
        kind = "addon.backup_failed" if failed else "addon.backup_succeeded"
        events.backup_event(kind, backup, tenant=tenant)
        audit_as(SYSTEM, kind, tenant=tenant, target=backup.app, addon=str(backup.addon_ref),
                 backup=str(backup.pk), error=error[:200])  # fmt: skip
    if not failed and backup.kind != BackupKind.FINAL:
        backups_prune(addon_ref=backup.addon_ref, tenant=tenant)
    return backup


def backup_final(*, addon: Addon, tenant=None) -> Backup:
    """The last backup of an add-on about to be destroyed, taken inline. Raises if it failed:
    the data is not removed without it."""
    tenant = tenant if tenant is not None else getattr(connection, "tenant", None)
    backup = _backup_row(Addon.objects.select_related("app").get(pk=addon.pk), BackupKind.FINAL)
    backup = backup_run(backup_id=backup.pk, tenant=tenant)
    if backup is None or backup.status != BackupStatus.SUCCEEDED:
        raise Conflict(f"The final backup failed: {backup.error if backup else 'gone'}")
    return backup


def backups_prune(*, addon_ref, tenant) -> int:
    """Delete (object, then row) what retention no longer keeps for one add-on."""
    kept = addon_selectors.backups_kept(tenant=tenant)
    finished = selectors.backups_kept_of(addon_ref=addon_ref).exclude(status__in=IN_PROGRESS)
    doomed = list(finished.order_by("-created_at")[kept:])
    return _delete(doomed)


def _delete(backups: list[Backup]) -> int:
    storage = backup_storage()
    deleted = 0
    for backup in backups:
        try:
            storage.delete(backup.storage_key)
        except Exception:
            logger.exception("Could not delete backup object %s", backup.storage_key)
            continue
        backup.delete()
        deleted += 1
    return deleted


def backups_final_expire(*, now=None) -> int:
    """Final backups older than ADDONS_BACKUP_FINAL_KEEP_DAYS (current schema)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.ADDONS_BACKUP_FINAL_KEEP_DAYS)
    return _delete(list(Backup.objects.filter(kind=BackupKind.FINAL, created_at__lt=cutoff)))


def backups_schedule(*, tenant, now=None) -> int:
    """A scheduled backup of each available add-on of the current tenant whose last one is
    older than ADDONS_BACKUP_INTERVAL_H (the beat task runs hourly; missed days catch up)."""
    now = now or timezone.now()
    due_before = now - dt.timedelta(hours=settings.ADDONS_BACKUP_INTERVAL_H)
    made = 0
    for addon in addon_selectors.addons_all().filter(status=AddonStatus.AVAILABLE):
        recent = Backup.objects.filter(addon_ref=addon.pk, kind=BackupKind.SCHEDULED).filter(
            created_at__gte=due_before
        )
        if recent.exists():
            continue
        try:
            backup_create(addon=addon, tenant=tenant, actor=SYSTEM, kind=BackupKind.SCHEDULED)
            made += 1
        except Conflict:
            continue  # one is under way
    return made


def backups_reap(*, tenant, now=None) -> dict[str, int]:
    """Jobs a crashed worker left (current schema): backups and restores `running` for longer
    than ADDONS_BACKUP_STALE_H fail (addon.backup_failed for a backup); backups still `queued`
    after 15 minutes (their task was never sent) are sent again."""
    now = now or timezone.now()
    stale = now - dt.timedelta(hours=settings.ADDONS_BACKUP_STALE_H)
    failed = 0
    for backup in Backup.objects.select_related("app").filter(
        status=BackupStatus.RUNNING, started_at__lt=stale
    ):
        with contextlib.suppress(Exception):
            backup_storage().delete(backup.storage_key)
        _finish(backup, tenant, error="The backup's worker stopped before it ended.")
        failed += 1
    restores = BackupRestore.objects.filter(
        status=RestoreStatus.RUNNING, started_at__lt=stale
    ).update(
        status=RestoreStatus.FAILED,
        finished_at=now,
        error="The restore's worker stopped before it ended.",
    )
    requeued = 0
    for backup_id in Backup.objects.filter(
        status=BackupStatus.QUEUED, created_at__lt=now - dt.timedelta(minutes=15)
    ).values_list("pk", flat=True):
        _package().enqueue_backup(backup_id)
        requeued += 1
    return {"backups_failed": failed, "restores_failed": restores, "requeued": requeued}


# --- Restores --------------------------------------------------------------------------------


def _default_env_var(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") + "_URL"


@transaction.atomic
def backup_restore(
    *,
    backup: Backup,
    tenant,
    actor: Actor,
    into_new: bool = False,
    confirm: str = "",
    name: str = "",
    env_var: str = "",
) -> BackupRestore:
    """A restore of `backup`, run by a task after commit: into its own add-on (`confirm` is the
    add-on's name: its data is replaced, the app stopped meanwhile) or into a new add-on of the
    app (`name`, `env_var`: its URL's variable, default <NAME>_URL)."""
    backup = Backup.objects.select_for_update().select_related("app").get(pk=backup.pk)
    if backup.status != BackupStatus.SUCCEEDED:
        raise Conflict(f"The backup is {backup.status}: only a succeeded backup can be restored.")
    if into_new:
        name = name or f"{backup.addon_name[:50]}-restored"
        target = addon_services.addon_create(
            app=backup.app,
            tenant=tenant,
            actor=actor,
            kind=backup.addon_kind,
            name=name,
            env_var=env_var or _default_env_var(name),
        )
    else:
        target = Addon.objects.select_for_update().filter(pk=backup.addon_ref).first()
        if target is None:
            raise Conflict("The add-on is gone: restore this backup into a new add-on.")
        if confirm != target.name:
            raise InvalidInput(
                f"Type the add-on's name ({target.name}) to confirm: its data is replaced.",
                field="confirm",
            )
        if target.status != AddonStatus.AVAILABLE:
            raise Conflict(f"The add-on is {target.status}.")
        app = App.objects.get(pk=backup.app_id)
        if app.active_deployment_id is not None:
            raise Conflict("A deployment of this app is running: wait for it or cancel it.")
    busy = BackupRestore.objects.filter(
        target=target, status__in=(RestoreStatus.QUEUED, RestoreStatus.RUNNING)
    )
    if busy.exists():
        raise Conflict("A restore into this add-on is under way.")
    restore = BackupRestore.objects.create(backup=backup, target=target, into_new=into_new)
    audit_as(actor, "addon.restore_requested", tenant=tenant, target=backup.app,
             addon=str(target.pk), backup=str(backup.pk), into_new=into_new)  # fmt: skip
    transaction.on_commit(functools.partial(_package().enqueue_restore, restore.pk))
    return restore


class ChecksumMismatch(Exception):
    pass


def _verified(chunks: Iterable[bytes], expected: str) -> Iterator[bytes]:
    """The stored bytes, checked against the backup's checksum once they are all read (a
    consumer that restores in one transaction then rolls back)."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if expected and digest.hexdigest() != expected:
        raise ChecksumMismatch("The stored backup does not match its checksum.")


def _processes_stop(app: App, tenant) -> bool:
    """Stop the app's processes now (deploy's app_stop, then its reconciler at once rather
    than in a task). False when none were running."""
    if app.live_deployment_id is None or app.status == AppStatus.STOPPED:
        return False
    deploy_services.app_stop(app=app, tenant=tenant, actor=SYSTEM)
    deploy_reconcile.reconcile_app(app.pk)
    return True


class NotYet(Exception):
    """The new add-on to restore into is still being provisioned by its own task."""


def restore_run(*, restore_id, tenant, provision: bool = True) -> BackupRestore | None:
    """Run a restore (the task). Claims the row first; a second run does nothing.

    Into a new add-on that is still `provisioning`: with `provision` it is provisioned here
    (idempotent), otherwise NotYet is raised before anything is claimed (the task tries again
    a little later, leaving the work to the add-on's own provisioning task)."""
    if not provision:
        waiting = BackupRestore.objects.filter(
            pk=restore_id, status=RestoreStatus.QUEUED, target__status=AddonStatus.PROVISIONING
        )
        if waiting.exists():
            raise NotYet
    claimed = BackupRestore.objects.filter(pk=restore_id, status=RestoreStatus.QUEUED).update(
        status=RestoreStatus.RUNNING, started_at=timezone.now()
    )
    restore = (
        BackupRestore.objects.select_related("backup__app", "target").filter(pk=restore_id).first()
    )
    if not claimed or restore is None:
        return restore
    backup, target = restore.backup, restore.target
    stopped = False
    try:
        if target is None:
            raise Conflict("The add-on to restore into is gone.")
        if target.status == AddonStatus.PROVISIONING:  # its own task has not run (yet)
            target = addon_services.addon_provision(addon_id=target.pk, tenant=tenant)
        if target.status != AddonStatus.AVAILABLE:
            raise Conflict(f"The add-on is {target.status}: {target.status_detail}")
        if not restore.into_new:
            stopped = _processes_stop(App.objects.get(pk=backup.app_id), tenant)
        stored = _verified(backup_storage().read(backup.storage_key), backup.checksum)
        targets.restore(target, crypto.decrypt_stream(stored), fresh=restore.into_new)
    except Exception as exc:
        logger.warning("Restore %s failed: %s", restore.pk, exc)
        error = str(exc) or type(exc).__name__
    else:
        error = ""
    finally:
        if stopped:
            _processes_start(backup.app_id, tenant)
    with transaction.atomic():
        BackupRestore.objects.filter(pk=restore.pk).update(
            status=RestoreStatus.FAILED if error else RestoreStatus.SUCCEEDED,
            finished_at=timezone.now(),
            error=error[:1000],
        )
        restore.refresh_from_db()
        action = "addon.restore_failed" if error else "addon.restored"
        if not error:
            events.restored_event(restore, tenant=tenant)
        audit_as(SYSTEM, action, tenant=tenant, target=backup.app, backup=str(backup.pk),
                 addon=str(restore.target_id), error=error[:200])  # fmt: skip
    return restore


def _processes_start(app_id, tenant) -> None:
    try:
        deploy_services.app_start(app=App.objects.get(pk=app_id), tenant=tenant, actor=SYSTEM)
    except Exception:
        logger.exception("Could not start app %s again after a restore", app_id)


# --- Download --------------------------------------------------------------------------------


def backup_download(*, backup: Backup, tenant, actor: Actor) -> Iterator[bytes]:
    """The backup's dump (pg_restore's custom format, or an RDB file), decrypted as it is
    streamed. Audited: it is all of the add-on's data."""
    if backup.status != BackupStatus.SUCCEEDED:
        raise Conflict(f"The backup is {backup.status}.")
    storage = backup_storage()
    if not storage.exists(backup.storage_key):
        raise Conflict("The backup's data is missing from the backup storage.")
    audit_as(actor, "addon.backup_downloaded", tenant=tenant, target=backup.app,
             addon=str(backup.addon_ref), backup=str(backup.pk))  # fmt: skip
    return crypto.decrypt_stream(storage.read(backup.storage_key))


def download_filename(backup: Backup) -> str:
    stamp = backup.created_at.strftime("%Y%m%d-%H%M%S")
    suffix = "dump" if backup.addon_kind == "postgres" else "rdb"
    return f"{backup.addon_name}-{stamp}.{suffix}"
