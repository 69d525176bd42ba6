"""Shapes of /api/v1/alert-channels, /alert-logs, /maintenance-windows and /silences
(docs/monitoring.md, "Alerts, routing, maintenance and silences")."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.versioning import version_field

from ..models import MAX_EMAIL_RECIPIENTS, ChannelKind
from ..selectors import span_status

SPAN_STATUSES = ("scheduled", "active", "completed")


class ChannelConfigInput(serializers.Serializer):
    to = serializers.ListField(
        child=serializers.EmailField(),
        min_length=1,
        max_length=MAX_EMAIL_RECIPIENTS,
        required=False,
        help_text=f"email: 1 to {MAX_EMAIL_RECIPIENTS} addresses.",
    )
    url = serializers.CharField(
        max_length=2000,
        required=False,
        help_text="webhook, slack: the http(s) URL to POST to. A secret: stored encrypted, "
        "never shown again (answers carry url_masked).",
    )

    def to_internal_value(self, data):
        if isinstance(data, dict):
            extra = sorted(set(data) - set(self.fields))
            if extra:
                raise serializers.ValidationError({extra[0]: "Unknown field."})
        return super().to_internal_value(data)


class ChannelConfigOutput(serializers.Serializer):
    to = serializers.ListField(child=serializers.EmailField(), required=False,
                               help_text="email channels")  # fmt: skip
    url_masked = serializers.CharField(
        required=False, help_text="webhook and slack channels: scheme, host and last 4 characters"
    )


class AlertChannelOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    enabled = serializers.BooleanField()
    config = ChannelConfigOutput()
    version = version_field()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AlertChannelCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    config = ChannelConfigInput()
    enabled = serializers.BooleanField(default=True)


class AlertChannelUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    config = ChannelConfigInput(required=False, help_text="Replaced whole.")
    enabled = serializers.BooleanField(required=False)


class Ref(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ChannelRef(Ref):
    kind = serializers.ChoiceField(choices=ChannelKind.choices)


class AlertLogOutput(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    event = serializers.CharField(help_text="monitor.down, monitor.up or alert.test")
    channel = ChannelRef(allow_null=True, help_text="null once the channel is deleted")
    monitor = Ref(allow_null=True)
    incident_id = serializers.UUIDField(allow_null=True)
    ok = serializers.BooleanField()
    skipped = serializers.CharField(help_text='"", "maintenance" or "silenced"')
    error = serializers.CharField()
    duration_ms = serializers.IntegerField(allow_null=True)


class MaintenanceWindowOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    monitor_ids = serializers.SerializerMethodField(help_text="Empty: every monitor.")
    status = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_monitor_ids(self, window) -> list[str]:
        return [str(monitor.pk) for monitor in window.monitors.all()]

    @extend_schema_field(serializers.ChoiceField(choices=SPAN_STATUSES))
    def get_status(self, window) -> str:
        return span_status(window.starts_at, window.ends_at, timezone.now())


class MaintenanceWindowCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    monitor_ids = serializers.ListField(
        child=serializers.UUIDField(), max_length=1000, default=list,
        help_text="The monitors it covers; empty: every monitor.",
    )  # fmt: skip


class MaintenanceWindowUpdateInput(MaintenanceWindowCreateInput):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class SilenceOutput(serializers.Serializer):
    id = serializers.UUIDField()
    monitor = Ref(allow_null=True, help_text="null: every monitor")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField()
    status = serializers.SerializerMethodField()
    created_by_id = serializers.UUIDField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ChoiceField(choices=("scheduled", "active", "expired")))
    def get_status(self, silence) -> str:
        status = span_status(silence.starts_at, silence.ends_at, timezone.now())
        return "expired" if status == "completed" else status


class SilenceCreateInput(serializers.Serializer):
    monitor_id = serializers.UUIDField(required=False, allow_null=True,
                                       help_text="Absent or null: every monitor.")  # fmt: skip
    starts_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    ends_at = serializers.DateTimeField(required=False)
    duration_s = serializers.IntegerField(
        min_value=60, max_value=90 * 86400, required=False,
        help_text="Instead of ends_at: how long from starts_at.",
    )  # fmt: skip
    reason = serializers.CharField(max_length=500, allow_blank=True, default="")

    def validate(self, attrs):
        if ("ends_at" in attrs) == ("duration_s" in attrs):
            raise serializers.ValidationError({"ends_at": "Send ends_at or duration_s (one)."})
        if "duration_s" in attrs:
            start = attrs.get("starts_at") or timezone.now()
            attrs["starts_at"] = start
            try:
                attrs["ends_at"] = start + dt.timedelta(seconds=attrs.pop("duration_s"))
            except OverflowError:
                raise serializers.ValidationError(
                    {"duration_s": "Ends after the year 9999: choose a shorter silence."}
                ) from None
        return attrs
