"""/api/v1/apps/{app_pk}/deployments: an app's deployments, cancelling one, and its logs, as pages
of lines or followed live as server-sent events."""

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
from rest_framework import renderers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.response import Response

from apps.core.api.pagination import CursorPagination
from apps.core.api.principals import principal_of
from apps.tenants.models import Role

from .. import selectors, services
from ..models import FINAL_STATES, Deployment
from . import serializers as s
from .base import APP_ID, ID, AppScopedViewSet
from .examples import DEPLOYMENT_EXAMPLE, RELEASE_EXAMPLE, T

SSE_POLL_S = 0.5
SSE_KEEPALIVE_S = 15
SSE_RETRY_MS = 1000  # the `retry:` a client waits before it reconnects after a stream's end
SSE_BUSY_RETRY_AFTER_S = 30

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


class DeploymentPagination(CursorPagination):
    ordering = ("-created_at", "-id")


@extend_schema_view(
    list=extend_schema(parameters=[APP_ID]),
    retrieve=extend_schema(parameters=[APP_ID, ID]),
    cancel=extend_schema(parameters=[APP_ID, ID]),
    logs=extend_schema(parameters=[APP_ID, ID]),
)
class DeploymentViewSet(AppScopedViewSet):
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
            "steps": {"fetching": {"started_at": T, "finished_at": T}}})],
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
                         "created_at": T}],
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
