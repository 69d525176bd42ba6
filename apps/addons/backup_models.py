"""Backups of add-ons and restores from them (tenant schema; apps/addons/backups/).

A backup row outlives its add-on (a final backup is taken before an add-on is destroyed): it
keeps the add-on's id, name and kind, and its `addon` link becomes empty. The object itself is in
the backup storage under `storage_key`, encrypted (apps/addons/backups/crypto.py)."""

from __future__ import annotations

from django.db import models

from apps.core.models import TimeStampedModel


class BackupKind(models.TextChoices):
    SCHEDULED = "scheduled"
    MANUAL = "manual"
    FINAL = "final"


class BackupStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Backup(TimeStampedModel):
    app = models.ForeignKey("deploy.App", on_delete=models.CASCADE, related_name="addon_backups")
    addon = models.ForeignKey(
        "addons.Addon", on_delete=models.SET_NULL, null=True, blank=True, related_name="backups"
    )
    addon_ref = models.UUIDField(db_index=True, help_text="The add-on's id, kept after it goes.")
    addon_name = models.CharField(max_length=63)
    addon_kind = models.CharField(max_length=10)
    kind = models.CharField(max_length=10, choices=BackupKind.choices)
    status = models.CharField(
        max_length=10, choices=BackupStatus.choices, default=BackupStatus.QUEUED, db_index=True
    )
    storage_key = models.CharField(max_length=512, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True, help_text="Stored (encrypted).")
    data_bytes = models.BigIntegerField(null=True, blank=True, help_text="The dump itself.")
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of what is stored.")
    key_id = models.CharField(max_length=16, blank=True, help_text="The encryption key's id.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["addon_ref", "-created_at"], name="backup_addon_recent")]

    def __str__(self) -> str:
        return f"{self.kind} backup of {self.addon_kind}:{self.addon_name}"


class RestoreStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class BackupRestore(TimeStampedModel):
    """One restore of a backup: into its own add-on (replacing the data) or into a new one."""

    backup = models.ForeignKey(Backup, on_delete=models.CASCADE, related_name="restores")
    target = models.ForeignKey(
        "addons.Addon", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    into_new = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=RestoreStatus.choices, default=RestoreStatus.QUEUED, db_index=True
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"restore of {self.backup_id}"
