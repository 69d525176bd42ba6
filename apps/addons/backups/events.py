"""Outbox events of backups: addon.backup_succeeded, addon.backup_failed, addon.restored.

Payloads are the backup (or restore) as the API renders it, with its app. Consumers: outgoing
webhooks (any endpoint subscribed to `addon.*`) and whatever settings.OUTBOX_CONSUMERS names,
such as an alert route for addon.backup_failed (docs/addons-backups.md)."""

from __future__ import annotations

from apps.core.outbox import event_emit

from ..backup_models import Backup, BackupRestore


def backup_data(backup: Backup) -> dict:
    from ..api.backup_serializers import BackupOutput

    data = dict(BackupOutput(backup).data)
    data["app"] = {"id": str(backup.app_id), "name": backup.app.name}
    return data


def backup_event(type: str, backup: Backup, *, tenant) -> None:
    event_emit(type=type, tenant=tenant, data=backup_data(backup))


def restored_event(restore: BackupRestore, *, tenant) -> None:
    from ..api.backup_serializers import RestoreOutput

    data = dict(RestoreOutput(restore).data)
    data["backup"] = backup_data(restore.backup)
    event_emit(type="addon.restored", tenant=tenant, data=data)
