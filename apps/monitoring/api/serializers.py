"""Output and input shapes of /api/v1/monitors… and /api/v1/incidents… (docs/monitoring.md)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.api.versioning import version_field
from apps.core.timestamps import api_time

from ..models import (
    HTTP_FIELDS,
    SOCKET_FIELDS,
    HttpMethod,
    IncidentStatus,
    JsonOperator,
    KeywordMode,
    MonitorKind,
    MonitorStatus,
)


class HttpConfig(serializers.Serializer):
    url = serializers.CharField(
        max_length=2000,
        help_text=(
            "Basic credentials may be given in the URL (https://user:password@host/…): they are "
            "stored encrypted and shown masked (https://***@host/…). On update, the masked URL "
            "sent back unchanged keeps them; any other URL replaces them."
        ),
    )
    method = serializers.ChoiceField(choices=HttpMethod.choices, default=HttpMethod.GET)
    expected_status = serializers.ListField(
        child=serializers.CharField(max_length=7),
        max_length=20,
        default=list,
        help_text='Codes or ranges, e.g. ["200-299", "301"]; empty means 200-299.',
    )
    keyword = serializers.CharField(max_length=500, allow_blank=True, default="")
    keyword_mode = serializers.ChoiceField(choices=KeywordMode.choices, default=KeywordMode.PRESENT)
    json_path = serializers.CharField(
        max_length=200, allow_blank=True, default="", help_text="Dotted path, e.g. data.0.state"
    )
    json_operator = serializers.ChoiceField(choices=JsonOperator.choices, default=JsonOperator.EQ)
    json_value = serializers.CharField(max_length=500, allow_blank=True, default="")
    max_response_ms = serializers.IntegerField(
        min_value=1,
        max_value=settings.MONITORING_MAX_TIMEOUT_S * 1000,  # a slower answer times out anyway
        allow_null=True,
        default=None,
    )
    verify_tls = serializers.BooleanField(default=True)
    follow_redirects = serializers.BooleanField(default=True)


class SocketConfig(serializers.Serializer):
    host = serializers.CharField(max_length=253)
    port = serializers.IntegerField(min_value=1, max_value=65535, allow_null=True, default=None)
    tls_expiry_days = serializers.IntegerField(
        min_value=0, max_value=365, default=14, help_text="TLS: down this many days before expiry."
    )
    verify_tls = serializers.BooleanField(default=True)


class HeartbeatInput(serializers.Serializer):
    period_s = serializers.IntegerField(min_value=60, max_value=31 * 86400)
    grace_s = serializers.IntegerField(min_value=10, max_value=31 * 86400, allow_null=True,
                                       default=None)  # fmt: skip


class HeartbeatOutput(serializers.Serializer):
    ping_url = serializers.SerializerMethodField(
        help_text="GET or POST; append /start or /fail. The URL is the credential: keep it secret."
    )
    period_s = serializers.IntegerField()
    grace_s = serializers.IntegerField()
    last_ping_at = serializers.DateTimeField(allow_null=True)

    def get_ping_url(self, monitor) -> str:
        return f"{settings.ROOT_URL}/ping/{monitor.ping_token}"


class StateOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=MonitorStatus.choices)
    since = serializers.DateTimeField(source="status_changed_at", allow_null=True)
    last_checked_at = serializers.DateTimeField(allow_null=True)
    last_response_ms = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()


class MonitorOutput(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=MonitorKind.choices)
    interval_s = serializers.IntegerField()
    timeout_s = serializers.IntegerField()
    failures_before_down = serializers.IntegerField()
    successes_before_up = serializers.IntegerField()
    state = serializers.SerializerMethodField()
    http = serializers.SerializerMethodField()
    socket = serializers.SerializerMethodField()
    heartbeat = serializers.SerializerMethodField()
    channel_ids = serializers.SerializerMethodField()
    version = version_field()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    # The nested blocks are built as plain dicts: instantiating a nested serializer per row
    # cost more than the rest of the list (measured); the classes above document the shapes.
    @extend_schema_field(StateOutput)
    def get_state(self, monitor) -> dict:
        return {
            "status": monitor.status,
            "since": api_time(monitor.status_changed_at),
            "last_checked_at": api_time(monitor.last_checked_at),
            "last_response_ms": monitor.last_response_ms,
            "last_error": monitor.last_error,
        }

    @extend_schema_field(HttpConfig(allow_null=True))
    def get_http(self, monitor) -> dict | None:
        if monitor.kind != MonitorKind.HTTP:
            return None
        shown = {field: getattr(monitor, field) for field in HTTP_FIELDS}
        shown["url"] = monitor.url_masked  # never the credentials (url_credentials.py)
        return shown

    @extend_schema_field(SocketConfig(allow_null=True))
    def get_socket(self, monitor) -> dict | None:
        if monitor.kind not in (MonitorKind.TCP, MonitorKind.TLS):
            return None
        return {field: getattr(monitor, field) for field in SOCKET_FIELDS}

    @extend_schema_field(HeartbeatOutput(allow_null=True))
    def get_heartbeat(self, monitor) -> dict | None:
        if monitor.kind != MonitorKind.HEARTBEAT:
            return None
        return {
            "ping_url": f"{settings.ROOT_URL}/ping/{monitor.ping_token}",
            "period_s": monitor.period_s,
            "grace_s": monitor.grace_s,
            "last_ping_at": api_time(monitor.last_ping_at),
        }

    def get_channel_ids(self, monitor) -> list[str]:
        return [str(channel.pk) for channel in monitor.channels.all()]


class _MonitorWrite(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    interval_s = serializers.IntegerField(min_value=1, max_value=86400, required=False)
    timeout_s = serializers.IntegerField(min_value=1, max_value=600, required=False)
    failures_before_down = serializers.IntegerField(min_value=1, max_value=100, required=False)
    successes_before_up = serializers.IntegerField(min_value=1, max_value=100, required=False)
    http = HttpConfig(required=False)
    socket = SocketConfig(required=False)
    heartbeat = HeartbeatInput(required=False)
    channel_ids = serializers.ListField(
        child=serializers.UUIDField(), max_length=50, required=False,
        help_text="The alert channels this monitor's alerts go to (the tenant's own).",
    )  # fmt: skip

    def flat(self) -> dict:
        """The validated data with the nested kind-specific block flattened."""
        data = dict(self.validated_data)
        for block in ("http", "socket", "heartbeat"):
            data.update(data.pop(block, None) or {})
        return data


class MonitorCreateInput(_MonitorWrite):
    kind = serializers.ChoiceField(choices=MonitorKind.choices)

    def validate(self, attrs):
        block = {"http": "http", "tcp": "socket", "tls": "socket", "heartbeat": "heartbeat"}
        needed = block[attrs["kind"]]
        if needed not in attrs:
            raise serializers.ValidationError({needed: f"Required for {attrs['kind']} monitors."})
        for other in {"http", "socket", "heartbeat"} - {needed}:
            if other in attrs:
                raise serializers.ValidationError(
                    {other: f"Does not apply to {attrs['kind']} monitors."}
                )
        return attrs


class MonitorUpdateInput(_MonitorWrite):
    name = serializers.CharField(max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Partial updates of the nested blocks: only the fields sent change.
        for block in ("http", "socket", "heartbeat"):
            self.fields[block].partial = True
            for field in self.fields[block].fields.values():
                field.required = False
                field.default = serializers.empty


class ResultOutput(serializers.Serializer):
    id = serializers.IntegerField()
    checked_at = serializers.DateTimeField()
    ok = serializers.BooleanField()
    source = serializers.CharField(help_text="check, ping, ping_start, ping_fail or late")
    response_ms = serializers.IntegerField(allow_null=True)
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    lag_ms = serializers.IntegerField(allow_null=True, help_text="Scheduling lag of a check.")


class UptimeWindow(serializers.Serializer):
    uptime_pct = serializers.FloatField(allow_null=True, help_text="null: no data")
    up_s = serializers.FloatField()
    down_s = serializers.FloatField()
    maintenance_s = serializers.FloatField()


class SeriesPoint(serializers.Serializer):
    hour = serializers.DateTimeField()
    avg_response_ms = serializers.FloatField(allow_null=True)
    checks = serializers.IntegerField()
    failures = serializers.IntegerField()
    uptime_pct = serializers.FloatField(allow_null=True)


class UptimeOutput(serializers.Serializer):
    monitor_id = serializers.UUIDField()
    windows = serializers.DictField(child=UptimeWindow(), help_text="Keys: 24h, 7d, 30d.")
    series = SeriesPoint(many=True, help_text="Hourly points of the last 24 hours.")


class MonitorRef(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=MonitorKind.choices)


class IncidentOutput(serializers.Serializer):
    id = serializers.UUIDField()
    monitor = MonitorRef()
    status = serializers.ChoiceField(choices=IncidentStatus.choices)
    started_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    duration_s = serializers.IntegerField(allow_null=True)
    cause = serializers.CharField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_by_id = serializers.UUIDField(allow_null=True)
    acknowledge_note = serializers.CharField()
    resolved_by_id = serializers.UUIDField(
        allow_null=True, help_text="Set when a person resolved it; null when an up check did."
    )
    resolve_note = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class IncidentNoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
