"""Reads of add-on backups (in the current tenant's schema)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from ..backup_models import Backup, BackupRestore


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def backups_list(*, app, addon_ref) -> QuerySet[Backup]:
    """The backups of one add-on of `app`, newest first; also those of an add-on that is gone
    (its final backup), found by the add-on's id."""
    ref = _uuid(addon_ref)
    if ref is None:
        return Backup.objects.none()
    return Backup.objects.filter(app=app, addon_ref=ref).order_by("-created_at")


def backup_get(*, app, addon_ref, backup_id) -> Backup | None:
    pk = _uuid(backup_id)
    if pk is None:
        return None
    return backups_list(app=app, addon_ref=addon_ref).select_related("addon").filter(pk=pk).first()


def restore_get(*, app, addon_ref, restore_id) -> BackupRestore | None:
    pk, ref = _uuid(restore_id), _uuid(addon_ref)
    if pk is None or ref is None:
        return None
    return (
        BackupRestore.objects.select_related("backup", "target")
        .filter(pk=pk, backup__app=app, backup__addon_ref=ref)
        .first()
    )


def backups_kept_of(*, addon_ref) -> QuerySet[Backup]:
    """Backups retention counts: scheduled and manual ones (final backups age by date)."""
    return Backup.objects.filter(addon_ref=addon_ref, kind__in=("scheduled", "manual"))
