"""/api/v1/monitors… and /api/v1/incidents… in the tenant the request is routed to.

Roles: viewers read; members create, change, pause, resume and delete monitors. Another tenant's
monitor (or a malformed id) is 404."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from apps.core.api.pagination import CursorPagination
from apps.core.api.versioning import VersionedViewMixin, without_version
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.models import Role

from .. import selectors, services
from ..models import Incident, IncidentStatus, Monitor, MonitorKind, MonitorStatus
from . import serializers as s

ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
_T = "2026-11-23T10:00:00.000000Z"
MONITOR_ID = "5b1f7c2e-8d4a-4e6b-9c3f-0a1b2c3d4e5f"
MONITOR_EXAMPLE = {
    "id": MONITOR_ID,
    "name": "Website",
    "kind": "http",
    "interval_s": 60,
    "timeout_s": 10,
    "failures_before_down": 2,
    "successes_before_up": 1,
    "state": {"status": "up", "since": _T, "last_checked_at": _T, "last_response_ms": 84,
              "last_error": ""},
    "http": {"url": "https://example.com/health", "method": "GET",
             "expected_status": ["200-299"], "keyword": "ok", "keyword_mode": "present",
             "json_path": "", "json_operator": "eq", "json_value": "", "max_response_ms": 2000,
             "verify_tls": True, "follow_redirects": True},
    "socket": None,
    "heartbeat": None,
    "channel_ids": [],
    "version": 1,
    "created_at": _T,
    "updated_at": _T,
}  # fmt: skip
HEARTBEAT_EXAMPLE = {
    **MONITOR_EXAMPLE,
    "name": "Nightly backup",
    "kind": "heartbeat",
    "interval_s": 86400,
    "http": None,
    "heartbeat": {"ping_url": "https://quayside.example/ping/0f8e…", "period_s": 86400,
                  "grace_s": 3600, "last_ping_at": _T},
}  # fmt: skip
INCIDENT_EXAMPLE = {
    "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "monitor": {"id": MONITOR_ID, "name": "Website", "kind": "http"},
    "status": "resolved",
    "started_at": "2026-11-23T09:40:00.000000Z",
    "resolved_at": _T,
    "duration_s": 1200,
    "cause": "Status 503, expected 200-299.",
    "acknowledged_at": "2026-11-23T09:45:00.000000Z",
    "acknowledged_by_id": "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a9f",
    "acknowledge_note": "Looking at the database.",
    "resolved_by_id": None,
    "resolve_note": "",
    "created_at": "2026-11-23T09:40:00.000000Z",
    "updated_at": _T,
}
RESULT_EXAMPLE = {
    "id": 1042, "checked_at": _T, "ok": False, "source": "check", "response_ms": 31,
    "status_code": 503, "error": "Status 503, expected 200-299.", "lag_ms": 140,
}  # fmt: skip


def _choice(params, name: str, choices) -> str | None:
    """An enum-like filter: absent or empty is None; anything but one of `choices` is a 400
    naming them."""
    value = params.get(name)
    if value and value not in choices:
        raise ValidationError({name: f"One of: {', '.join(choices)}."})
    return value or None


def crud_roles(*, read: tuple[str, ...] = (), write: tuple[str, ...] = ()) -> dict[str, str]:
    """`required_roles` of a tenant resource: viewers read (list, retrieve and `read`), members
    write (create, partial_update, destroy and `write`)."""
    reads = ("list", "retrieve", *read)
    writes = ("create", "partial_update", "destroy", *write)
    return {**dict.fromkeys(reads, Role.VIEWER), **dict.fromkeys(writes, Role.MEMBER)}


class _Base(TenantScopedViewSet):
    lookup_value_regex = "[^/]+"  # a malformed id is 404, like an unknown one
    # Viewsets of one model set these: reads go through the selectors, and an unknown, another
    # tenant's or malformed id is the same 404.
    model: type | None = None
    list_selector = None
    get_selector = None
    not_found = "Not found."

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return type(self).list_selector()

    def get_object(self):
        found = type(self).get_selector(self.kwargs.get("pk"))
        if found is None:
            raise NotFound(self.not_found)
        return found


class ResultPagination(CursorPagination):
    ordering = ("-checked_at", "-id")


@extend_schema_view(
    retrieve=extend_schema(parameters=[ID]),
    partial_update=extend_schema(parameters=[ID]),
    destroy=extend_schema(parameters=[ID]),
)
class MonitorViewSet(VersionedViewMixin, _Base):
    """The tenant's uptime monitors: HTTP(S), TCP, TLS certificate expiry and heartbeats."""

    required_roles = crud_roles(read=("results", "uptime"), write=("pause", "resume"))
    serializer_class = s.MonitorOutput
    model = Monitor
    list_selector = staticmethod(selectors.monitors_list)
    get_selector = staticmethod(selectors.monitor_get)
    not_found = "No such monitor."

    def _out(self, monitor: Monitor, status: int = 200, **kwargs) -> Response:
        return Response(s.MonitorOutput(monitor).data, status=status, **kwargs)

    @extend_schema(
        responses=s.MonitorOutput(many=True),
        parameters=[
            OpenApiParameter("kind", str, enum=MonitorKind.values),
            OpenApiParameter("status", str, enum=MonitorStatus.values),
            OpenApiParameter("q", str, description="In the name or URL."),
        ],
        examples=[OpenApiExample("Monitors", value=[MONITOR_EXAMPLE], response_only=True)],
    )
    def list(self, request):
        params = request.query_params
        filters = {
            "kind": _choice(params, "kind", MonitorKind.values),
            "status": _choice(params, "status", MonitorStatus.values),
            "q": params.get("q"),
        }
        monitors = selectors.monitors_list(filters=filters)
        page = self.paginate_queryset(monitors)
        return self.get_paginated_response(s.MonitorOutput(page, many=True).data)

    @extend_schema(
        request=s.MonitorCreateInput,
        responses={201: s.MonitorOutput},
        examples=[
            OpenApiExample(
                "HTTP with keyword",
                value={"name": "Website", "kind": "http", "interval_s": 60,
                       "failures_before_down": 2,
                       "http": {"url": "https://example.com/health", "keyword": "ok",
                                "max_response_ms": 2000}},
                request_only=True,
            ),
            OpenApiExample(
                "Heartbeat", value={"name": "Nightly backup", "kind": "heartbeat",
                                    "heartbeat": {"period_s": 86400, "grace_s": 3600}},
                request_only=True,
            ),
            OpenApiExample("Created", value=MONITOR_EXAMPLE, response_only=True,
                           status_codes=["201"]),
        ],
    )  # fmt: skip
    def create(self, request):
        data = s.MonitorCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        monitor = services.monitor_create(tenant=self.tenant, actor=self.actor(), **data.flat())
        return self._out(monitor, 201, headers={"Location": f"/api/v1/monitors/{monitor.pk}"})

    @extend_schema(
        responses=s.MonitorOutput,
        examples=[
            OpenApiExample("HTTP", value=MONITOR_EXAMPLE, response_only=True),
            OpenApiExample("Heartbeat", value=HEARTBEAT_EXAMPLE, response_only=True),
        ],
    )
    def retrieve(self, request, pk=None):
        return self._out(self.get_object())

    @extend_schema(
        request=s.MonitorUpdateInput,
        responses=s.MonitorOutput,
        examples=[
            OpenApiExample(
                "Slower", value={"interval_s": 120, "http": {"max_response_ms": 5000}},
                request_only=True,
            ),
            OpenApiExample("Updated", value=MONITOR_EXAMPLE, response_only=True),
        ],
    )  # fmt: skip
    def partial_update(self, request, pk=None):
        monitor = self.get_object()
        data = s.MonitorUpdateInput(data=without_version(request.data))
        data.is_valid(raise_exception=True)
        monitor = services.monitor_update(
            monitor=monitor,
            tenant=self.tenant,
            actor=self.actor(),
            expected_version=self.expected_version(),
            **data.flat(),
        )
        return self._out(monitor)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.monitor_delete(
            monitor=self.get_object(),
            tenant=self.tenant,
            actor=self.actor(),
            expected_version=self.expected_version(),
        )
        return Response(status=204)

    @extend_schema(
        request=None,
        responses=s.MonitorOutput,
        parameters=[ID],
        description="Stop checking (and alerting); paused time counts neither up nor down.",
        examples=[OpenApiExample("Paused", response_only=True, value={
            **MONITOR_EXAMPLE, "state": {**MONITOR_EXAMPLE["state"], "status": "paused"}})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._out(
            services.monitor_pause(monitor=self.get_object(), tenant=self.tenant,
                                   actor=self.actor())
        )  # fmt: skip

    @extend_schema(
        request=None,
        responses=s.MonitorOutput,
        parameters=[ID],
        description="Check again at once; the monitor is pending until its first verdict.",
        examples=[OpenApiExample("Resumed", response_only=True, value={
            **MONITOR_EXAMPLE, "state": {**MONITOR_EXAMPLE["state"], "status": "pending"}})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._out(
            services.monitor_resume(monitor=self.get_object(), tenant=self.tenant,
                                    actor=self.actor())
        )  # fmt: skip

    @extend_schema(
        responses=s.ResultOutput(many=True),
        parameters=[
            ID,
            OpenApiParameter("ok", bool, description="Only successes (true) or failures."),
        ],
        description="Raw results, newest first (kept MONITORING_RESULTS_RETENTION_DAYS).",
        examples=[OpenApiExample("Results", value=[RESULT_EXAMPLE], response_only=True)],
    )
    @action(detail=True, methods=["get"], pagination_class=ResultPagination)
    def results(self, request, pk=None):
        monitor = self.get_object()
        ok = request.query_params.get("ok")
        filters = {"ok": None if ok is None else ok.lower() in ("1", "true", "yes")}
        page = self.paginate_queryset(
            selectors.results_for_monitor(monitor=monitor, filters=filters)
        )
        return self.get_paginated_response(s.ResultOutput(page, many=True).data)

    @extend_schema(
        responses=s.UptimeOutput,
        parameters=[ID],
        description="Time-weighted uptime over 24 h, 7 d and 30 d (maintenance left out), and "
        "hourly response times and uptime for charts.",
        examples=[OpenApiExample("Uptime", response_only=True, value={
            "monitor_id": MONITOR_ID,
            "windows": {name: {"uptime_pct": 99.95, "up_s": 86357.0, "down_s": 43.0,
                               "maintenance_s": 0.0} for name in ("24h", "7d", "30d")},
            "series": [{"hour": "2026-11-23T09:00:00Z", "avg_response_ms": 84.2, "checks": 60,
                        "failures": 1, "uptime_pct": 99.2}],
        })],
    )  # fmt: skip
    @action(detail=True, methods=["get"])
    def uptime(self, request, pk=None):
        monitor = self.get_object()
        body = {
            "monitor_id": monitor.pk,
            "windows": selectors.uptime_summary(monitor=monitor),
            "series": selectors.response_series(monitor=monitor, hours=24),
        }
        return Response(s.UptimeOutput(body).data)


@extend_schema_view(retrieve=extend_schema(parameters=[ID]))
class IncidentViewSet(_Base):
    """Down opens an incident; up resolves it, with its duration."""

    required_roles = {
        "list": Role.VIEWER,
        "retrieve": Role.VIEWER,
        "acknowledge": Role.MEMBER,
        "resolve": Role.MEMBER,
    }
    serializer_class = s.IncidentOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Incident.objects.none()
        return selectors.incidents_list()

    @extend_schema(
        responses=s.IncidentOutput(many=True),
        parameters=[
            OpenApiParameter("status", str, enum=IncidentStatus.values),
            OpenApiParameter("monitor", OpenApiTypes.UUID, description="A monitor's id."),
        ],
        examples=[OpenApiExample("Incidents", value=[INCIDENT_EXAMPLE], response_only=True)],
    )
    def list(self, request):
        params = request.query_params
        filters = {"status": _choice(params, "status", IncidentStatus.values)}
        if params.get("monitor"):
            if selectors._uuid(params["monitor"]) is None:
                raise ValidationError({"monitor": "Not a monitor id."})
            filters["monitor"] = params["monitor"]
        page = self.paginate_queryset(selectors.incidents_list(filters=filters))
        return self.get_paginated_response(s.IncidentOutput(page, many=True).data)

    @extend_schema(
        responses=s.IncidentOutput,
        examples=[OpenApiExample("Incident", value=INCIDENT_EXAMPLE, response_only=True)],
    )
    def retrieve(self, request, pk=None):
        incident = selectors.incident_get(pk)
        if incident is None:
            raise NotFound("No such incident.")
        return Response(s.IncidentOutput(incident).data)

    def _incident(self, pk) -> Incident:
        incident = selectors.incident_get(pk)
        if incident is None:
            raise NotFound("No such incident.")
        return incident

    def _note(self) -> str:
        body = s.IncidentNoteInput(data=self.request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data["note"]

    @extend_schema(
        request=s.IncidentNoteInput,
        responses=s.IncidentOutput,
        parameters=[ID],
        description="Someone is on it: who, when and an optional note (once; 409 when "
        "acknowledged or resolved already).",
        examples=[OpenApiExample("Acknowledged", value={**INCIDENT_EXAMPLE, "status": "open",
                  "resolved_at": None, "duration_s": None}, response_only=True)],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        incident = services.incident_acknowledge(
            incident=self._incident(pk), tenant=self.tenant, actor=self.actor(), note=self._note()
        )
        return Response(s.IncidentOutput(incident).data)

    @extend_schema(
        request=s.IncidentNoteInput,
        responses=s.IncidentOutput,
        parameters=[ID],
        description="Resolve an open incident by hand, with a note (required) saying how.",
        examples=[OpenApiExample("Resolved", value={**INCIDENT_EXAMPLE,
                  "resolved_by_id": "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a9f",
                  "resolve_note": "Restarted the database."}, response_only=True)],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        incident = services.incident_resolve(
            incident=self._incident(pk), tenant=self.tenant, actor=self.actor(), note=self._note()
        )
        return Response(s.IncidentOutput(incident).data)
