"""Shapes of /api/v1/status-pages… (docs/monitoring.md, "Status pages")."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from apps.core.api.versioning import version_field


class StatusPageOutput(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    announcement = serializers.CharField(help_text="Maintenance notes or any announcement.")
    public = serializers.BooleanField()
    monitor_ids = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="The public page (HTML); append json.")
    version = version_field()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_monitor_ids(self, page) -> list[str]:
        return [str(entry.monitor_id) for entry in page.entries.all()]

    def get_url(self, page) -> str:
        return f"{settings.ROOT_URL}/status/{page.slug}/"


class _StatusPageWrite(serializers.Serializer):
    slug = serializers.CharField(
        max_length=50,
        help_text="3-50 lowercase letters, digits and hyphens; unique across Quayside.",
    )
    title = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    announcement = serializers.CharField(max_length=2000, allow_blank=True, required=False)
    public = serializers.BooleanField(required=False)
    monitor_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        help_text="Monitors of this tenant, in the order the page shows them.",
    )


class StatusPageCreateInput(_StatusPageWrite):
    pass


class StatusPageUpdateInput(_StatusPageWrite):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
