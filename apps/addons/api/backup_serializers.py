"""Shapes of add-on backups and restores in the API (and in their outbox events)."""

from __future__ import annotations

from rest_framework import serializers

from ..backup_models import Backup, BackupRestore


class BackupOutput(serializers.ModelSerializer):
    addon_id = serializers.UUIDField(source="addon_ref", read_only=True)
    app_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Backup
        fields = [
            "id",
            "app_id",
            "addon_id",
            "addon_name",
            "addon_kind",
            "kind",
            "status",
            "size_bytes",
            "data_bytes",
            "checksum",
            "started_at",
            "finished_at",
            "error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RestoreOutput(serializers.ModelSerializer):
    backup_id = serializers.UUIDField(read_only=True)
    target_addon_id = serializers.UUIDField(source="target_id", read_only=True, allow_null=True)

    class Meta:
        model = BackupRestore
        fields = [
            "id",
            "backup_id",
            "target_addon_id",
            "into_new",
            "status",
            "started_at",
            "finished_at",
            "error",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class RestoreInput(serializers.Serializer):
    into_new = serializers.BooleanField(
        default=False,
        help_text="false: replace the add-on's data (its app is stopped meanwhile); "
        "true: a new add-on of the app gets the data.",
    )
    confirm = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Into the same add-on: its name, to confirm that its data is replaced.",
    )
    name = serializers.CharField(required=False, allow_blank=True, default="", max_length=63)
    env_var = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=255,
        help_text="Into a new add-on: the variable its URL is set under (default <NAME>_URL).",
    )
