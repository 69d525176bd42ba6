"""/api/v1/apps/…: apps, deployments (with logs), releases (rollback), env vars, domains, scale,
restart, start/stop and status, in the tenant the request is routed to.

Roles: viewers read; members deploy and operate (deploy, cancel, rollback, restart, scale,
start, stop); admins manage the app itself, its env vars and domains, and reveal secrets. An app
of another tenant (or a malformed id) is 404."""

from __future__ import annotations

import json
import re
import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import StreamingHttpResponse
from django_tenants.utils import tenant_context
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import renderers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from apps.core.api.pagination import CursorPagination
from apps.core.api.principals import principal_of
from apps.core.api.views import GenericViewSet, not_idempotent
from apps.tenants.models import Role
from apps.tenants.permissions import is_api_key

from .. import selectors, services
from ..models import FINAL_STATES, App, Deployment
from ..runtime import RuntimeProblem, get_provider
from . import serializers as s

APP_ID = OpenApiParameter("app_pk", OpenApiTypes.UUID, OpenApiParameter.PATH, description="App id.")
ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
SSE_POLL_S = 0.5
SSE_KEEPALIVE_S = 15
SSE_RETRY_MS = 1000  # the `retry:` a client waits before it reconnects after a stream's end
SSE_BUSY_RETRY_AFTER_S = 30

_T = "2026-11-23T10:00:00.000000Z"
_DEPLOYMENT_ID = "a2b4c6d8-1e3f-4a5b-8c7d-9e0f1a2b3c4d"
APP_EXAMPLE = {
    "id": "7d4c1f7e-3b9e-4d53-a3a2-5b6f0c9d8e21",
    "name": "hello",
    "status": "running",
    "suspended": False,
    "git_url": "https://***@github.com/acme/hello.git",
    "branch": "main",
    "provider": "local",
    "region": "local",
    "hostname": "hello-acme.apps.localhost",
    "url": "http://hello-acme.apps.localhost:8080/",
    "health_check_path": "/",
    "current_release": {"id": "1c9b0d8e-51a4-4b6f-9d2e-0f3a5c7b9e11", "version": 3},
    "live_deployment_id": _DEPLOYMENT_ID,
    "active_deployment_id": None,
    "webhook_url": "/webhooks/git/7d4c1f7e-3b9e-4d53-a3a2-5b6f0c9d8e21/",
    "created_at": _T,
    "updated_at": _T,
}
DEPLOYMENT_EXAMPLE = {
    "id": _DEPLOYMENT_ID,
    "app_id": APP_EXAMPLE["id"],
    "kind": "deploy",
    "state": "queued",
    "ref": "main",
    "commit_sha": "",
    "release": None,
    "build_id": None,
    "formation": {},
    "steps": {},
    "started_at": None,
    "finished_at": None,
    "cancel_requested": False,
    "failure_step": "",
    "failure_reason": "",
    "started_by": "alice@example.com",
    "logs_url": f"/api/v1/apps/{APP_EXAMPLE['id']}/deployments/{_DEPLOYMENT_ID}/logs",
    "created_at": _T,
    "updated_at": _T,
}
RELEASE_EXAMPLE = {
    "id": "1c9b0d8e-51a4-4b6f-9d2e-0f3a5c7b9e11",
    "version": 3,
    "description": "Deploy 3f2a9c1b",
    "status": "succeeded",
    "build": {"id": "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", "commit_sha": "3f2a9c1b" * 5,
              "kind": "python"},
    "config_keys": ["DATABASE_URL", "SECRET_KEY"],
    "process_types": {"web": "gunicorn --bind unix:$QUAYSIDE_SOCKET app:app"},
    "release_command": "python manage.py migrate",
    "rollback_of": None,
    "created_by": "alice@example.com",
    "current": True,
    "created_at": _T,
    "updated_at": _T,
}  # fmt: skip
DOMAIN_EXAMPLE = {
    "id": "0e1d2c3b-4a59-4867-9f8e-7d6c5b4a3928",
    "hostname": "www.example.com",
    "status": "pending",
    "verification": {
        "type": "TXT",
        "name": "_quayside.www.example.com",
        "value": "quayside-verification=4b1f0c2e9d8a7f6e5d4c3b2a19081726",
    },
    "verified_at": None,
    "last_checked_at": None,
    "last_error": "",
    "created_at": _T,
    "updated_at": _T,
}


class InTenant(BasePermission):
    """Apps live in a tenant: on the root host without X-Tenant-ID there are none."""

    def has_permission(self, request, view) -> bool:
        if getattr(request._request, "tenant", None) is None:
            raise NotFound("Apps live in a tenant: send X-Tenant-ID or call the tenant's host.")
        return True


def actor_of(request) -> services.Actor:
    if is_api_key(request.auth):
        return services.Actor(api_key=request.auth)
    return services.Actor(user=request.user)


LOG_EVENTS = (
    "Server-sent events, not JSON: per line `id: <line id>`, `event: log`, `data: "
    '{"stream": "build|release|runtime", "line": "..."}`; when the deployment is over '
    '`event: end`, `data: {"state": "<final state>"}`; after DEPLOY_LOG_STREAM_MAX_S `retry: '
    '<ms>`, `id: <last line id>`, `event: reconnect`, `data: {"after": <last line id>}` (resume '
    "with Last-Event-ID). Lines starting with `:` keep the connection alive."
)
_LOG_EVENTS_EXAMPLE = (
    'id: 41\nevent: log\ndata: {"stream": "build", "line": "Installing dependencies."}\n\n'
    'event: end\ndata: {"state": "live"}\n\n'
)


class EventStreamRenderer(renderers.BaseRenderer):
    media_type = "text/event-stream"
    format = "sse"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode()


class _Base(GenericViewSet):
    permission_classes = [IsAuthenticated, InTenant]
    lookup_value_regex = "[^/]+"  # a malformed id is 404, like an unknown one

    def context(self) -> dict:
        return {"request": self.request}

    def actor(self) -> services.Actor:
        return actor_of(self.request)

    @property
    def tenant(self):
        return self.request._request.tenant


class _AppScoped(_Base):
    def get_app(self) -> App:
        if not hasattr(self, "_app"):
            app = selectors.app_get(self.kwargs.get("app_pk"))
            if app is None:
                raise NotFound("No such app.")
            self._app = app
        return self._app


# --- Apps ---------------------------------------------------------------------------------
@extend_schema_view(
    retrieve=extend_schema(parameters=[ID]),
    partial_update=extend_schema(parameters=[ID]),
    destroy=extend_schema(parameters=[ID]),
)
class AppViewSet(_Base):
    """The tenant's apps. Each answers at `<name>-<tenant>.<APPS_DOMAIN>`."""

    required_roles = {
        "list": Role.VIEWER,
        "retrieve": Role.VIEWER,
        "create": Role.MEMBER,
        "partial_update": Role.ADMIN,
        "destroy": Role.ADMIN,
        "deploy": Role.MEMBER,
        "restart": Role.MEMBER,
        "scale": Role.MEMBER,
        "formation": Role.VIEWER,
        "start": Role.MEMBER,
        "stop": Role.MEMBER,
        "status": Role.VIEWER,
        "logs": Role.VIEWER,
        "webhook_secret": Role.ADMIN,
    }
    serializer_class = s.AppOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return App.objects.none()
        return selectors.apps_list()

    def get_object(self) -> App:
        app = selectors.app_get(self.kwargs.get("pk"))
        if app is None:
            raise NotFound("No such app.")
        return app

    @extend_schema(
        responses=s.AppOutput(many=True),
        parameters=[OpenApiParameter("status", str, description="new, running, stopped, failed")],
        examples=[OpenApiExample("Apps", value=[APP_EXAMPLE], response_only=True)],
    )
    def list(self, request):
        apps = selectors.apps_list(filters={"status": request.query_params.get("status")})
        page = self.paginate_queryset(apps)
        return self.get_paginated_response(
            s.AppOutput(page, many=True, context=self.context()).data
        )

    @extend_schema(
        request=s.AppCreateInput,
        responses={201: s.AppCreatedOutput},
        description="A new app (201, with its webhook secret shown this once). Beyond the "
        "tenant's `apps` limit: 409 quota-exceeded.",
        examples=[
            OpenApiExample(
                "From GitHub",
                value={"name": "hello", "git_url": "https://github.com/acme/hello.git",
                       "branch": "main"},
                request_only=True,
            ),
            OpenApiExample(
                "Created", value={**APP_EXAMPLE, "status": "new", "webhook_secret": "Zm9vYmFy…"},
                response_only=True, status_codes=["201"],
            ),
        ],
    )  # fmt: skip
    def create(self, request):
        data = s.AppCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        app, secret = services.app_create(
            tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        app.webhook_secret = secret  # shown this once
        body = s.AppCreatedOutput(app, context=self.context()).data
        return Response(body, status=201, headers={"Location": f"/api/v1/apps/{app.pk}"})

    @extend_schema(
        responses=s.AppOutput,
        examples=[OpenApiExample("App", value=APP_EXAMPLE, response_only=True)],
    )
    def retrieve(self, request, pk=None):
        return Response(s.AppOutput(self.get_object(), context=self.context()).data)

    @extend_schema(
        request=s.AppUpdateInput,
        responses=s.AppOutput,
        examples=[OpenApiExample("Branch", value={"branch": "release"}, request_only=True)],
    )
    def partial_update(self, request, pk=None):
        app = self.get_object()
        data = s.AppUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        app = services.app_update(
            app=app, tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        return Response(s.AppOutput(app, context=self.context()).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.app_delete(app=self.get_object(), tenant=self.tenant, actor=self.actor())
        return Response(status=204)

    def _accepted(self, deployment: Deployment) -> Response:
        return Response(
            s.DeploymentOutput(deployment, context=self.context()).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/api/v1/apps/{deployment.app_id}/deployments/{deployment.pk}"},
        )

    @extend_schema(
        request=s.DeployInput,
        responses={202: s.DeploymentOutput},
        parameters=[ID],
        description="Deploy a git ref. Answers 202 with the queued deployment and its Location; "
        "follow it at its logs_url.",
        examples=[
            OpenApiExample("Branch head", value={"ref": "main"}, request_only=True),
            OpenApiExample("Queued", value=DEPLOYMENT_EXAMPLE, response_only=True,
                           status_codes=["202"]),
        ],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def deploy(self, request, pk=None):
        app = self.get_object()
        data = s.DeployInput(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = services.deployment_create(
            app=app, tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        return self._accepted(deployment)

    @extend_schema(
        request=None,
        responses={202: s.DeploymentOutput},
        parameters=[ID],
        description="Run the current release on fresh processes (zero-downtime).",
        examples=[OpenApiExample("Queued", value={**DEPLOYMENT_EXAMPLE, "kind": "restart"},
                                 response_only=True, status_codes=["202"])],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def restart(self, request, pk=None):
        return self._accepted(
            services.app_restart(app=self.get_object(), tenant=self.tenant, actor=self.actor())
        )

    @extend_schema(
        request=s.ScaleInput,
        responses={202: s.DeploymentOutput},
        parameters=[ID],
        description="Change process counts (within the tenant's processes limit: 409 "
        "quota-exceeded beyond it). Runs as a zero-downtime deployment.",
        examples=[
            OpenApiExample("Two web", value={"formation": {"web": 2}}, request_only=True),
            OpenApiExample("Queued", value={**DEPLOYMENT_EXAMPLE, "kind": "scale",
                                            "formation": {"web": 2}},
                           response_only=True, status_codes=["202"]),
        ],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def scale(self, request, pk=None):
        app = self.get_object()
        data = s.ScaleInput(data=request.data)
        data.is_valid(raise_exception=True)
        deployment = services.app_scale(
            app=app,
            tenant=self.tenant,
            actor=self.actor(),
            formation=data.validated_data["formation"],
        )
        return self._accepted(deployment)

    @extend_schema(
        responses=s.FormationOutput,
        parameters=[ID],
        examples=[OpenApiExample("Formation", value={"formation": {"web": 1, "worker": 0}},
                                 response_only=True)],
    )  # fmt: skip
    @action(detail=True, methods=["get"])
    def formation(self, request, pk=None):
        return Response({"formation": selectors.formation_get(app=self.get_object())})

    @extend_schema(
        request=None,
        responses={202: s.DeploymentOutput},
        parameters=[ID],
        examples=[OpenApiExample("Queued", value={**DEPLOYMENT_EXAMPLE, "kind": "start"},
                                 response_only=True, status_codes=["202"])],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._accepted(
            services.app_start(app=self.get_object(), tenant=self.tenant, actor=self.actor())
        )

    @extend_schema(
        request=None,
        responses={202: s.AppOutput},
        parameters=[ID],
        description="Stop every process; the app answers 503 until started again.",
        examples=[OpenApiExample("Stopping", value={**APP_EXAMPLE, "status": "stopped"},
                                 response_only=True, status_codes=["202"])],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        app = services.app_stop(app=self.get_object(), tenant=self.tenant, actor=self.actor())
        return Response(s.AppOutput(app, context=self.context()).data, status=202)

    @extend_schema(
        responses=s.StatusOutput,
        parameters=[ID],
        description="Processes as the runtime sees them, their health, CPU and memory.",
        examples=[OpenApiExample("Running", response_only=True, value={
            "status": "running", "suspended": False, "url": APP_EXAMPLE["url"],
            "current_release": APP_EXAMPLE["current_release"],
            "live_deployment_id": APP_EXAMPLE["live_deployment_id"], "active_deployment": None,
            "formation": {"web": 1},
            "processes": [{"name": "q-7d4c…-a2b4c6d81e3f-web-0", "type": "web", "index": 0,
                           "deployment_key": "a2b4c6d81e3f", "state": "RUNNING", "healthy": True,
                           "pid": 4242, "uptime_s": 3600, "cpu_s": 1.5,
                           "memory_bytes": 52428800}],
            "runtime_error": ""})],
    )  # fmt: skip
    @action(detail=True, methods=["get"])
    def status(self, request, pk=None):
        app = self.get_object()
        processes, error = [], ""
        try:
            provider = get_provider()
            live_key = app.live_deployment_id.hex[:12] if app.live_deployment_id else None
            for process in provider.status(app.pk.hex):
                processes.append(
                    {
                        **process.__dict__,
                        "healthy": process.state == "RUNNING"
                        and process.deployment_key == live_key,
                    }
                )
        except RuntimeProblem as exc:
            error = exc.message
        active = None
        if app.active_deployment_id:
            active = Deployment.objects.filter(pk=app.active_deployment_id).first()
        suspended = s.tenant_suspended(self.context())
        body = {
            # A suspended tenant's apps are stopped and unrouted (suspension.py) while their own
            # status (the tenant's choice, restored on resume) stays in the database.
            "status": "suspended" if suspended else app.status,
            "suspended": suspended,
            "url": s.AppOutput(app, context=self.context()).data["url"],
            "current_release": s.ReleaseRef(app.current_release).data
            if app.current_release
            else None,
            "live_deployment_id": app.live_deployment_id,
            "active_deployment": s.DeploymentOutput(active).data if active else None,
            "formation": selectors.formation_get(app=app),
            "processes": s.ProcessOutput(processes, many=True).data,
            "runtime_error": error,
        }
        return Response(body)

    @extend_schema(
        parameters=[ID, OpenApiParameter("lines", int, description="How many (100, ≤ 2000).")],
        responses=s.RuntimeLogsOutput,
        description="Recent output of the app's processes, secrets redacted (env var values now "
        "and of recent releases, git URL credentials).",
        examples=[OpenApiExample("Lines", response_only=True, value={
            "lines": ["a2b4c6d81e3f-web-0: [INFO] Listening at: unix:/…/web-0.sock"]})],
    )  # fmt: skip
    @action(detail=True, methods=["get"])
    def logs(self, request, pk=None):
        app = self.get_object()
        query = s.RuntimeLogsInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        lines = services.app_runtime_logs(app=app, lines=query.validated_data["lines"])
        return Response({"lines": lines})

    @extend_schema(
        request=None,
        responses=s.WebhookSecretOutput,
        parameters=[ID],
        description="Make a new git webhook secret (shown once); the old one stops working.",
        examples=[OpenApiExample("New secret", response_only=True, value={
            "webhook_url": APP_EXAMPLE["webhook_url"], "webhook_secret": "c2VjcmV0…"})],
    )  # fmt: skip
    @action(detail=True, methods=["post"], url_path="webhook-secret")
    def webhook_secret(self, request, pk=None):
        app = self.get_object()
        secret = services.webhook_secret_rotate(app=app, tenant=self.tenant, actor=self.actor())
        return Response({"webhook_url": f"/webhooks/git/{app.pk}/", "webhook_secret": secret})


# --- Deployments --------------------------------------------------------------------------
class DeploymentPagination(CursorPagination):
    ordering = ("-created_at", "-id")


@extend_schema_view(
    list=extend_schema(parameters=[APP_ID]),
    retrieve=extend_schema(parameters=[APP_ID, ID]),
    cancel=extend_schema(parameters=[APP_ID, ID]),
    logs=extend_schema(parameters=[APP_ID, ID]),
)
class DeploymentViewSet(_AppScoped):
    """An app's deployments, newest first."""

    required_roles = {
        "list": Role.VIEWER,
        "retrieve": Role.VIEWER,
        "logs": Role.VIEWER,
        "cancel": Role.MEMBER,
    }
    serializer_class = s.DeploymentOutput
    pagination_class = DeploymentPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Deployment.objects.none()
        return selectors.deployments_list(app=self.get_app())

    def get_object(self) -> Deployment:
        deployment = selectors.deployment_get(app=self.get_app(), deployment_id=self.kwargs["pk"])
        if deployment is None:
            raise NotFound("No such deployment.")
        return deployment

    @extend_schema(
        responses=s.DeploymentOutput(many=True),
        parameters=[OpenApiParameter("state", str, description="Only deployments in this state.")],
        examples=[OpenApiExample("Deployments", value=[DEPLOYMENT_EXAMPLE], response_only=True)],
    )
    def list(self, request, app_pk=None):
        state = request.query_params.get("state")
        deployments = selectors.deployments_list(app=self.get_app(), filters={"state": state})
        page = self.paginate_queryset(deployments)
        return self.get_paginated_response(s.DeploymentOutput(page, many=True).data)

    @extend_schema(
        responses=s.DeploymentOutput,
        examples=[OpenApiExample("Live", response_only=True, value={
            **DEPLOYMENT_EXAMPLE, "state": "live", "commit_sha": "3f2a9c1b" * 5,
            "release": {"id": RELEASE_EXAMPLE["id"], "version": 3}, "formation": {"web": 1},
            "steps": {"fetching": {"started_at": _T, "finished_at": _T}}})],
    )  # fmt: skip
    def retrieve(self, request, app_pk=None, pk=None):
        return Response(s.DeploymentOutput(self.get_object()).data)

    @extend_schema(
        request=None,
        responses={202: s.DeploymentOutput},
        description="Cancel a queued deployment at once, or a running one at its next step "
        "(409 once it is switching traffic or over).",
        examples=[OpenApiExample("Cancel requested", response_only=True, status_codes=["202"],
                                 value={**DEPLOYMENT_EXAMPLE, "state": "building",
                                        "cancel_requested": True})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def cancel(self, request, app_pk=None, pk=None):
        deployment = services.deployment_cancel(
            deployment=self.get_object(), tenant=self.tenant, actor=self.actor()
        )
        return Response(s.DeploymentOutput(deployment).data, status=202)

    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description="Only lines after this id (cursor)."),
            OpenApiParameter("limit", int, description="At most this many lines (1000)."),
            OpenApiParameter(
                "follow", bool,
                description="Stream as server-sent events until the deployment ends "
                "(also with `Accept: text/event-stream`); resume with Last-Event-ID. A stream "
                "lasts at most DEPLOY_LOG_STREAM_MAX_S (300 s), then sends a `reconnect` event "
                "(with `retry:`) and ends; more than DEPLOY_LOG_STREAMS_PER_USER (4) streams "
                "at once answer 429 `rate-limited` with Retry-After.",
            ),
            OpenApiParameter("Last-Event-ID", str, OpenApiParameter.HEADER, required=False),
        ],
        responses={
            (200, "application/json"): s.LogPageOutput,
            (200, "text/event-stream"): OpenApiResponse(
                OpenApiTypes.STR,
                description=LOG_EVENTS,
                examples=[OpenApiExample("Events", value=_LOG_EVENTS_EXAMPLE)],
            ),
        },
        description="Build, release and runtime output of the deployment, env var values and "
        "git credentials redacted. Each line's id is its cursor. With `follow=true` or "
        f"`Accept: text/event-stream` the answer is a stream: {LOG_EVENTS}",
        examples=[OpenApiExample("Lines", response_only=True, value={
            "results": [{"id": 41, "stream": "build", "line": "Installing dependencies.",
                         "created_at": _T}],
            "next_after": 41, "finished": False})],
    )  # fmt: skip
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[renderers.JSONRenderer, EventStreamRenderer],
    )
    def logs(self, request, app_pk=None, pk=None):
        deployment = self.get_object()
        query = s.LogQueryInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        after = query.validated_data["after"]
        last_event = request.headers.get("Last-Event-ID", "")
        # ASCII digits only, and few enough for a bigint: "²".isdigit() is True but int() fails.
        if re.fullmatch(r"[0-9]{1,18}", last_event):
            after = max(after, int(last_event))
        wants_stream = query.validated_data["follow"] or "text/event-stream" in request.headers.get(
            "Accept", ""
        )
        if wants_stream:
            slot = _StreamSlot.take(principal_of(request))
            response = StreamingHttpResponse(
                _Stream(_event_stream(connection.tenant, deployment.pk, after), slot.release),
                content_type="text/event-stream",
            )
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
            return response
        lines = selectors.deployment_logs(
            deployment=deployment, after=after, limit=query.validated_data["limit"]
        )
        return Response(
            {
                "results": s.LogLineOutput(lines, many=True).data,
                "next_after": lines[-1].id if lines else after,
                "finished": deployment.state in FINAL_STATES,
            }
        )


class _StreamSlot:
    """One of a caller's DEPLOY_LOG_STREAMS_PER_USER concurrent log streams: a Redis counter per
    caller, taken when a stream is answered and given back when it is closed. The counter lives
    a little longer than a stream may, so slots a killed worker never gave back come back then."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.held = True

    @classmethod
    def take(cls, principal: str) -> _StreamSlot:
        key = f"sse:deploy-logs:{principal}"
        ttl = int(settings.DEPLOY_LOG_STREAM_MAX_S) + 60
        cache.add(key, 0, timeout=ttl)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 0, timeout=ttl)
            count = cache.incr(key)
        cache.touch(key, ttl)
        if count > settings.DEPLOY_LOG_STREAMS_PER_USER:
            cls(key).release()
            raise Throttled(
                wait=min(SSE_BUSY_RETRY_AFTER_S, settings.DEPLOY_LOG_STREAM_MAX_S),
                detail=f"At most {settings.DEPLOY_LOG_STREAMS_PER_USER} log streams at once; "
                "close one or read the logs without `follow`.",
            )
        return cls(key)

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            if cache.decr(self.key) <= 0:
                cache.delete(self.key)
        except ValueError:  # already expired
            pass


class _Stream:
    """The event stream, giving its slot back when it ends or is closed (a client that went
    away), even if it was never started."""

    def __init__(self, events, release) -> None:
        self.events = events
        self.release = release

    def __iter__(self):
        return self

    def __next__(self) -> str:
        try:
            return next(self.events)
        except BaseException:
            self.release()
            raise

    def close(self) -> None:
        try:
            self.events.close()
        finally:
            self.release()


def _release_db_connection() -> None:
    """Close the database connection between polls, so a stream holds none while it waits
    (the next poll opens one). Not inside a transaction (tests, ATOMIC_REQUESTS)."""
    if not connection.in_atomic_block:
        connection.close()


def _event_stream(tenant, deployment_id, after: int):
    """Server-sent events: one `log` event per line (its id the cursor), then `end`; or, after
    DEPLOY_LOG_STREAM_MAX_S, a `reconnect` event (with `retry:`) and the end of the response,
    the client resuming with Last-Event-ID."""
    started = last_sent = time.monotonic()
    max_s = settings.DEPLOY_LOG_STREAM_MAX_S
    while time.monotonic() - started < max_s:
        with tenant_context(tenant):
            deployment = Deployment.objects.filter(pk=deployment_id).only("state").first()
            lines = (
                selectors.deployment_logs(deployment=deployment, after=after, limit=500)
                if deployment
                else []
            )
        _release_db_connection()
        for line in lines:
            after = line.id
            payload = json.dumps({"stream": line.stream, "line": line.line})
            yield f"id: {line.id}\nevent: log\ndata: {payload}\n\n"
            last_sent = time.monotonic()
        if deployment is None or (deployment.state in FINAL_STATES and not lines):
            state = deployment.state if deployment else "gone"
            yield f"event: end\ndata: {json.dumps({'state': state})}\n\n"
            return
        if not lines:
            if time.monotonic() - last_sent > SSE_KEEPALIVE_S:
                yield ": keep-alive\n\n"
                last_sent = time.monotonic()
            time.sleep(SSE_POLL_S)
    payload = json.dumps({"after": after})
    yield f"retry: {SSE_RETRY_MS}\nid: {after}\nevent: reconnect\ndata: {payload}\n\n"


# --- Releases -----------------------------------------------------------------------------
class ReleasePagination(CursorPagination):
    ordering = ("-version",)


@extend_schema_view(
    list=extend_schema(parameters=[APP_ID]),
    retrieve=extend_schema(parameters=[APP_ID, ID]),
    rollback=extend_schema(parameters=[APP_ID, ID]),
)
class ReleaseViewSet(_AppScoped):
    """An app's releases, newest first: immutable build + config snapshots, v1, v2, …"""

    required_roles = {"list": Role.VIEWER, "retrieve": Role.VIEWER, "rollback": Role.MEMBER}
    serializer_class = s.ReleaseOutput
    pagination_class = ReleasePagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from ..models import Release

            return Release.objects.none()
        return selectors.releases_list(app=self.get_app()).select_related("app", "rollback_of")

    def get_object(self):
        release = selectors.release_get(app=self.get_app(), release_id=self.kwargs["pk"])
        if release is None:
            raise NotFound("No such release.")
        return release

    @extend_schema(
        responses=s.ReleaseOutput(many=True),
        examples=[OpenApiExample("Releases", value=[RELEASE_EXAMPLE], response_only=True)],
    )
    def list(self, request, app_pk=None):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.ReleaseOutput(page, many=True).data)

    @extend_schema(
        responses=s.ReleaseOutput,
        examples=[OpenApiExample("Release", value=RELEASE_EXAMPLE, response_only=True)],
    )
    def retrieve(self, request, app_pk=None, pk=None):
        return Response(s.ReleaseOutput(self.get_object()).data)

    @extend_schema(
        request=None,
        responses={202: s.DeploymentOutput},
        description="Make a new release with this release's build and config and deploy it.",
        examples=[OpenApiExample("Queued", response_only=True, status_codes=["202"],
                                 value={**DEPLOYMENT_EXAMPLE, "kind": "rollback"})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def rollback(self, request, app_pk=None, pk=None):
        deployment = services.release_rollback(
            app=self.get_app(), release=self.get_object(), tenant=self.tenant, actor=self.actor()
        )
        return Response(
            s.DeploymentOutput(deployment).data,
            status=202,
            headers={"Location": f"/api/v1/apps/{deployment.app_id}/deployments/{deployment.pk}"},
        )


# --- Env vars -----------------------------------------------------------------------------
class KeyPagination(CursorPagination):
    ordering = ("key",)


@extend_schema_view(
    list=extend_schema(parameters=[APP_ID]),
    reveal=extend_schema(parameters=[APP_ID, OpenApiParameter("key", str, OpenApiParameter.PATH)]),
)
class EnvVarViewSet(_AppScoped):
    """An app's env vars: names only in lists; values are encrypted at rest."""

    required_roles = {"list": Role.VIEWER, "bulk_update": Role.ADMIN, "reveal": Role.ADMIN}
    serializer_class = s.EnvVarOutput
    pagination_class = KeyPagination
    lookup_field = "key"
    lookup_value_regex = "[A-Za-z_][A-Za-z0-9_]*"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from ..models import EnvVar

            return EnvVar.objects.none()
        return selectors.env_vars_list(app=self.get_app())

    @extend_schema(
        responses=s.EnvVarOutput(many=True),
        examples=[OpenApiExample("Names", response_only=True,
                                 value=[{"key": "DATABASE_URL", "created_at": _T,
                                         "updated_at": _T}])],
    )  # fmt: skip
    def list(self, request, app_pk=None):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.EnvVarOutput(page, many=True).data)

    @extend_schema(
        request=s.EnvVarsUpdateInput,
        responses=s.EnvVarsUpdateOutput,
        parameters=[APP_ID],
        description="Set and unset variables in one go: a new release, deployed at once unless "
        "`restart` is false.",
        examples=[
            OpenApiExample("Set one, unset one", request_only=True,
                           value={"vars": {"SECRET_KEY": "s3cr3t", "OLD_FLAG": None},
                                  "restart": True}),
            OpenApiExample("New release", response_only=True,
                           value={"release": {**RELEASE_EXAMPLE, "version": 4,
                                              "status": "pending",
                                              "description": "Set SECRET_KEY; Unset OLD_FLAG"},
                                  "deployment": {**DEPLOYMENT_EXAMPLE, "kind": "config"}}),
        ],
    )  # fmt: skip
    def bulk_update(self, request, app_pk=None):
        app = self.get_app()
        data = s.EnvVarsUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        release, deployment = services.env_vars_update(
            app=app,
            tenant=self.tenant,
            actor=self.actor(),
            changes=data.validated_data["vars"],
            restart=data.validated_data["restart"],
        )
        release.app = app
        return Response(
            {
                "release": s.ReleaseOutput(release).data,
                "deployment": s.DeploymentOutput(deployment).data if deployment else None,
            }
        )

    @extend_schema(
        request=None,
        responses=s.EnvVarRevealOutput,
        description="The value of one variable. Audited (env_var.revealed), every time: an "
        "`Idempotency-Key` is ignored here (nothing is replayed, the value is not kept).",
        examples=[OpenApiExample("Value", response_only=True,
                                 value={"key": "SECRET_KEY", "value": "s3cr3t"})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    @not_idempotent
    def reveal(self, request, app_pk=None, key=None):
        value = services.env_var_reveal(
            app=self.get_app(), key=key, tenant=self.tenant, actor=self.actor()
        )
        return Response({"key": key, "value": value})


# --- Domains ------------------------------------------------------------------------------
class HostnamePagination(CursorPagination):
    ordering = ("hostname",)


@extend_schema_view(
    list=extend_schema(parameters=[APP_ID]),
    create=extend_schema(parameters=[APP_ID]),
    verify=extend_schema(parameters=[APP_ID, ID]),
    destroy=extend_schema(parameters=[APP_ID, ID]),
)
class DomainViewSet(_AppScoped):
    """Custom hostnames. Add one, publish the TXT record it names, then verify: verified
    domains are routed to the app."""

    required_roles = {
        "list": Role.VIEWER,
        "create": Role.ADMIN,
        "verify": Role.ADMIN,
        "destroy": Role.ADMIN,
    }
    serializer_class = s.DomainOutput
    pagination_class = HostnamePagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from ..models import AppDomain

            return AppDomain.objects.none()
        return selectors.domains_list(app=self.get_app())

    def get_object(self):
        domain = selectors.domain_get(app=self.get_app(), domain_id=self.kwargs["pk"])
        if domain is None:
            raise NotFound("No such domain.")
        return domain

    @extend_schema(
        responses=s.DomainOutput(many=True),
        examples=[OpenApiExample("Domains", value=[DOMAIN_EXAMPLE], response_only=True)],
    )
    def list(self, request, app_pk=None):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.DomainOutput(page, many=True).data)

    @extend_schema(
        request=s.DomainInput,
        responses={201: s.DomainOutput},
        description="A pending claim on a custom hostname. Beyond the tenant's "
        "`custom_domains` limit (pending and verified domains count): 409 quota-exceeded.",
        examples=[
            OpenApiExample("www", value={"hostname": "www.example.com"}, request_only=True),
            OpenApiExample("Added", value=DOMAIN_EXAMPLE, response_only=True,
                           status_codes=["201"]),
        ],
    )  # fmt: skip
    def create(self, request, app_pk=None):
        app = self.get_app()
        data = s.DomainInput(data=request.data)
        data.is_valid(raise_exception=True)
        domain = services.domain_add(
            app=app, tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        return Response(
            s.DomainOutput(domain).data,
            status=201,
            headers={"Location": f"/api/v1/apps/{app.pk}/domains/{domain.pk}"},
        )

    @extend_schema(
        request=None,
        responses=s.DomainOutput,
        description="Look the TXT record up now. The answer says `verified`, or why not in "
        "`last_error`.",
        examples=[OpenApiExample("Verified", response_only=True,
                                 value={**DOMAIN_EXAMPLE, "status": "verified",
                                        "verified_at": _T, "last_checked_at": _T})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def verify(self, request, app_pk=None, pk=None):
        domain = services.domain_verify(
            domain=self.get_object(), tenant=self.tenant, actor=self.actor()
        )
        return Response(s.DomainOutput(domain).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, app_pk=None, pk=None):
        services.domain_remove(domain=self.get_object(), tenant=self.tenant, actor=self.actor())
        return Response(status=204)
