"""/api/v1/alert-channels…, /alert-logs, /maintenance-windows… and /silences… in the tenant the
request is routed to.

Roles: viewers read; members create, change, test and delete. Another tenant's object (or a
malformed id) is 404. A webhook or Slack URL is never answered back: `config.url_masked`."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from apps.core.api.versioning import VersionedViewMixin, without_version
from apps.tenants.models import Role

from .. import selectors, services
from ..models import AlertChannel, AlertLog, MaintenanceWindow, Silence
from . import alerting_serializers as s
from .views import ID, MONITOR_ID, _Base, _choice, crud_roles

_T = "2026-11-23T10:00:00.000000Z"
ALERT_EVENTS = ("monitor.down", "monitor.up", "alert.test")
CHANNEL_ID = "3c9d2f1e-7b6a-4c5d-8e9f-0a1b2c3d4e5f"
CHANNEL_EXAMPLE = {
    "id": CHANNEL_ID,
    "name": "#ops on Slack",
    "kind": "slack",
    "enabled": True,
    "config": {"url_masked": "https://hooks.slack.com/…Xy9z"},
    "version": 1,
    "created_at": _T,
    "updated_at": _T,
}
EMAIL_CHANNEL_EXAMPLE = {
    **CHANNEL_EXAMPLE,
    "name": "On-call",
    "kind": "email",
    "config": {"to": ["oncall@example.com"]},
}
LOG_EXAMPLE = {
    "id": 4711,
    "created_at": _T,
    "event": "monitor.down",
    "channel": {"id": CHANNEL_ID, "name": "#ops on Slack", "kind": "slack"},
    "monitor": {"id": MONITOR_ID, "name": "Website"},
    "incident_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "ok": True,
    "skipped": "",
    "error": "",
    "duration_ms": 182,
}
TEST_LOG_EXAMPLE = {**LOG_EXAMPLE, "event": "alert.test", "monitor": None, "incident_id": None}
WINDOW_EXAMPLE = {
    "id": "1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6",
    "name": "Database upgrade",
    "starts_at": "2026-11-24T02:00:00Z",
    "ends_at": "2026-11-24T03:00:00Z",
    "monitor_ids": [MONITOR_ID],
    "status": "scheduled",
    "created_at": _T,
    "updated_at": _T,
}
SILENCE_EXAMPLE = {
    "id": "6f5e4d3c-2b1a-4f9e-8d7c-6b5a4f3e2d1c",
    "monitor": {"id": MONITOR_ID, "name": "Website"},
    "starts_at": _T,
    "ends_at": "2026-11-23T12:00:00.000000Z",
    "reason": "Known outage at the provider",
    "status": "active",
    "created_by_id": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    "created_at": _T,
    "updated_at": _T,
}


def _bool(value: str | None) -> bool | None:
    return None if value is None else value.lower() in ("1", "true", "yes")


def _uuid_filter(params, name: str) -> str | None:
    value = params.get(name)
    if value and selectors._uuid(value) is None:
        raise ValidationError({name: f"Not a {name} id."})
    return value or None


@extend_schema_view(
    retrieve=extend_schema(parameters=[ID]),
    partial_update=extend_schema(parameters=[ID]),
    destroy=extend_schema(parameters=[ID]),
)
class AlertChannelViewSet(VersionedViewMixin, _Base):
    """Where alerts go: email, a webhook (JSON POST) or a Slack-compatible incoming webhook.
    Monitors choose their channels with `channel_ids`."""

    required_roles = crud_roles(write=("test",))
    serializer_class = s.AlertChannelOutput
    model = AlertChannel
    list_selector = staticmethod(selectors.alert_channels_list)
    get_selector = staticmethod(selectors.alert_channel_get)
    not_found = "No such alert channel."

    @extend_schema(
        responses=s.AlertChannelOutput(many=True),
        parameters=[
            OpenApiParameter("kind", str, description="email, webhook or slack"),
            OpenApiParameter("enabled", bool),
        ],
        examples=[
            OpenApiExample(
                "Channels", value=[CHANNEL_EXAMPLE, EMAIL_CHANNEL_EXAMPLE], response_only=True
            )
        ],
    )
    def list(self, request):
        params = request.query_params
        filters = {
            "kind": _choice(params, "kind", ("email", "webhook", "slack")),
            "enabled": _bool(params.get("enabled")),
        }
        page = self.paginate_queryset(selectors.alert_channels_list(filters=filters))
        return self.get_paginated_response(s.AlertChannelOutput(page, many=True).data)

    @extend_schema(
        request=s.AlertChannelCreateInput,
        responses={201: s.AlertChannelOutput},
        examples=[
            OpenApiExample(
                "Slack", request_only=True,
                value={"name": "#ops on Slack", "kind": "slack",
                       "config": {"url": "https://hooks.slack.com/services/T000/B000/Xy9z"}},
            ),
            OpenApiExample(
                "Email", request_only=True,
                value={"name": "On-call", "kind": "email",
                       "config": {"to": ["oncall@example.com"]}},
            ),
            OpenApiExample("Created", value=CHANNEL_EXAMPLE, response_only=True,
                           status_codes=["201"]),
        ],
    )  # fmt: skip
    def create(self, request):
        data = s.AlertChannelCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        channel = services.alert_channel_create(
            tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        return Response(
            s.AlertChannelOutput(channel).data,
            status=201,
            headers={"Location": f"/api/v1/alert-channels/{channel.pk}"},
        )

    @extend_schema(
        responses=s.AlertChannelOutput,
        examples=[OpenApiExample("Channel", value=CHANNEL_EXAMPLE, response_only=True)],
    )
    def retrieve(self, request, pk=None):
        return Response(s.AlertChannelOutput(self.get_object()).data)

    @extend_schema(
        request=s.AlertChannelUpdateInput,
        responses=s.AlertChannelOutput,
        examples=[
            OpenApiExample("Disable", value={"enabled": False}, request_only=True),
            OpenApiExample("Updated", value=CHANNEL_EXAMPLE, response_only=True),
        ],
    )
    def partial_update(self, request, pk=None):
        channel = self.get_object()
        data = s.AlertChannelUpdateInput(data=without_version(request.data))
        data.is_valid(raise_exception=True)
        channel = services.alert_channel_update(
            channel=channel,
            tenant=self.tenant,
            actor=self.actor(),
            expected_version=self.expected_version(),
            **data.validated_data,
        )
        return Response(s.AlertChannelOutput(channel).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.alert_channel_delete(
            channel=self.get_object(),
            tenant=self.tenant,
            actor=self.actor(),
            expected_version=self.expected_version(),
        )
        return Response(status=204)

    @extend_schema(
        request=None,
        responses=s.AlertLogOutput,
        parameters=[ID],
        description="Send a test notification now, in one attempt, and answer how it went "
        "(`ok`, `error`, `duration_ms`); the attempt is also in /alert-logs. A receiver that "
        "fails answers 200 with ok=false: the request worked, the channel did not.",
        examples=[
            OpenApiExample("Delivered", value=TEST_LOG_EXAMPLE, response_only=True),
            OpenApiExample("Refused", response_only=True,
                           value={**TEST_LOG_EXAMPLE, "ok": False, "error": "HTTP 404"}),
        ],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        log = services.alert_channel_test(
            channel=self.get_object(), tenant=self.tenant, actor=self.actor()
        )
        return Response(s.AlertLogOutput(log).data)


class AlertLogViewSet(_Base):
    """Every alert, sent or not, with its outcome."""

    required_roles = {"list": Role.VIEWER}
    serializer_class = s.AlertLogOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AlertLog.objects.none()
        return selectors.alert_logs_list()

    @extend_schema(
        responses=s.AlertLogOutput(many=True),
        parameters=[
            OpenApiParameter("channel", OpenApiTypes.UUID, description="A channel's id."),
            OpenApiParameter("monitor", OpenApiTypes.UUID, description="A monitor's id."),
            OpenApiParameter("event", str, enum=ALERT_EVENTS),
            OpenApiParameter("ok", bool, description="Only delivered (true) or not."),
        ],
        examples=[OpenApiExample("Alert logs", value=[LOG_EXAMPLE], response_only=True)],
    )
    def list(self, request):
        params = request.query_params
        filters = {
            "channel": _uuid_filter(params, "channel"),
            "monitor": _uuid_filter(params, "monitor"),
            "event": _choice(params, "event", ALERT_EVENTS),
            "ok": _bool(params.get("ok")),
        }
        page = self.paginate_queryset(selectors.alert_logs_list(filters=filters))
        return self.get_paginated_response(s.AlertLogOutput(page, many=True).data)


@extend_schema_view(
    retrieve=extend_schema(parameters=[ID]),
    partial_update=extend_schema(parameters=[ID]),
    destroy=extend_schema(parameters=[ID]),
)
class MaintenanceWindowViewSet(_Base):
    """Planned work: alerts of the covered monitors are skipped (logged as
    skipped="maintenance") and uptime leaves the time out."""

    required_roles = crud_roles()
    serializer_class = s.MaintenanceWindowOutput
    model = MaintenanceWindow
    list_selector = staticmethod(selectors.maintenance_windows_list)
    get_selector = staticmethod(selectors.maintenance_window_get)
    not_found = "No such maintenance window."

    @extend_schema(
        responses=s.MaintenanceWindowOutput(many=True),
        parameters=[
            OpenApiParameter(
                "status", str, description="scheduled (or upcoming), active or completed"
            )
        ],
        examples=[OpenApiExample("Windows", value=[WINDOW_EXAMPLE], response_only=True)],
    )
    def list(self, request):
        status = _choice(
            request.query_params, "status", ("scheduled", "upcoming", "active", "completed")
        )
        page = self.paginate_queryset(
            selectors.maintenance_windows_list(filters={"status": status})
        )
        return self.get_paginated_response(s.MaintenanceWindowOutput(page, many=True).data)

    @extend_schema(
        request=s.MaintenanceWindowCreateInput,
        responses={201: s.MaintenanceWindowOutput},
        examples=[
            OpenApiExample(
                "One monitor", request_only=True,
                value={"name": "Database upgrade", "starts_at": "2026-11-24T02:00:00Z",
                       "ends_at": "2026-11-24T03:00:00Z", "monitor_ids": [MONITOR_ID]},
            ),
            OpenApiExample("Created", value=WINDOW_EXAMPLE, response_only=True,
                           status_codes=["201"]),
        ],
    )  # fmt: skip
    def create(self, request):
        data = s.MaintenanceWindowCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        window = services.maintenance_window_create(
            tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        return Response(
            s.MaintenanceWindowOutput(window).data,
            status=201,
            headers={"Location": f"/api/v1/maintenance-windows/{window.pk}"},
        )

    @extend_schema(
        responses=s.MaintenanceWindowOutput,
        examples=[OpenApiExample("Window", value=WINDOW_EXAMPLE, response_only=True)],
    )
    def retrieve(self, request, pk=None):
        return Response(s.MaintenanceWindowOutput(self.get_object()).data)

    @extend_schema(
        request=s.MaintenanceWindowUpdateInput,
        responses=s.MaintenanceWindowOutput,
        examples=[
            OpenApiExample("Longer", value={"ends_at": "2026-11-24T04:00:00Z"}, request_only=True),
            OpenApiExample("Updated", value=WINDOW_EXAMPLE, response_only=True),
        ],
    )
    def partial_update(self, request, pk=None):
        window = self.get_object()
        data = s.MaintenanceWindowUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        window = services.maintenance_window_update(
            window=window, tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        return Response(s.MaintenanceWindowOutput(window).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.maintenance_window_delete(
            window=self.get_object(), tenant=self.tenant, actor=self.actor()
        )
        return Response(status=204)


@extend_schema_view(
    retrieve=extend_schema(parameters=[ID]),
    destroy=extend_schema(parameters=[ID]),
)
class SilenceViewSet(_Base):
    """Stop alerts of a monitor (or all) for a while: they are logged as skipped="silenced".
    Unlike a maintenance window, the time still counts for uptime. Deleting a silence ends it
    now; it stays listed as expired."""

    required_roles = crud_roles()  # no partial_update route: a silence is ended, not edited
    serializer_class = s.SilenceOutput
    model = Silence
    list_selector = staticmethod(selectors.silences_list)
    get_selector = staticmethod(selectors.silence_get)
    not_found = "No such silence."

    @extend_schema(
        responses=s.SilenceOutput(many=True),
        parameters=[
            OpenApiParameter("status", str, description="scheduled, active or expired"),
            OpenApiParameter("monitor", OpenApiTypes.UUID, description="A monitor's id."),
        ],
        examples=[OpenApiExample("Silences", value=[SILENCE_EXAMPLE], response_only=True)],
    )
    def list(self, request):
        params = request.query_params
        filters = {
            "status": _choice(params, "status", ("scheduled", "active", "expired")),
            "monitor": _uuid_filter(params, "monitor"),
        }
        page = self.paginate_queryset(selectors.silences_list(filters=filters))
        return self.get_paginated_response(s.SilenceOutput(page, many=True).data)

    @extend_schema(
        request=s.SilenceCreateInput,
        responses={201: s.SilenceOutput},
        examples=[
            OpenApiExample(
                "One monitor, two hours", request_only=True,
                value={"monitor_id": MONITOR_ID, "duration_s": 7200,
                       "reason": "Known outage at the provider"},
            ),
            OpenApiExample("Everything until", request_only=True,
                           value={"ends_at": "2026-11-23T12:00:00Z"}),
            OpenApiExample("Created", value=SILENCE_EXAMPLE, response_only=True,
                           status_codes=["201"]),
        ],
    )  # fmt: skip
    def create(self, request):
        data = s.SilenceCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        silence = services.silence_create(
            tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        silence = selectors.silence_get(silence.pk)
        return Response(
            s.SilenceOutput(silence).data,
            status=201,
            headers={"Location": f"/api/v1/silences/{silence.pk}"},
        )

    @extend_schema(
        responses=s.SilenceOutput,
        examples=[OpenApiExample("Silence", value=SILENCE_EXAMPLE, response_only=True)],
    )
    def retrieve(self, request, pk=None):
        return Response(s.SilenceOutput(self.get_object()).data)

    @extend_schema(responses={204: None}, description="End the silence now (it stays listed).")
    def destroy(self, request, pk=None):
        services.silence_expire(silence=self.get_object(), tenant=self.tenant, actor=self.actor())
        return Response(status=204)
