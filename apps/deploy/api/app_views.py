"""/api/v1/apps: the tenant's apps, and what is done to one (deploy, restart, scale, start, stop,
status, runtime logs, webhook secret)."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.core.api.versioning import VersionedViewMixin, without_version
from apps.tenants.models import Role

from .. import selectors, services
from ..models import App, Deployment
from . import serializers as s
from .base import ID, DeployViewSet
from .examples import APP_EXAMPLE, DEPLOYMENT_EXAMPLE, METRICS_EXAMPLE, PROCESS_EXAMPLE
from .metrics_serializers import MetricsOutput, MetricsQueryInput
from .processes import crash_fields, limits_of, metrics, runtime_processes


@extend_schema_view(
    retrieve=extend_schema(parameters=[ID]),
    partial_update=extend_schema(parameters=[ID]),
    destroy=extend_schema(parameters=[ID]),
)
class AppViewSet(VersionedViewMixin, DeployViewSet):
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
        "processes": Role.VIEWER,
        "metrics": Role.VIEWER,
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
        "tenant's `apps` limit: 409 quota-exceeded. Its source is a git URL or a prebuilt "
        "image (`source_kind: image`; only on a provider that runs images, 400 otherwise).",
        examples=[
            OpenApiExample(
                "From GitHub",
                value={"name": "hello", "git_url": "https://github.com/acme/hello.git",
                       "branch": "main"},
                request_only=True,
            ),
            OpenApiExample(
                "From an image (providers that run images)",
                value={"name": "api", "source_kind": "image",
                       "image_ref": "registry.example.com/team/api:1.4",
                       "registry_credentials": {"username": "robot", "password": "…"}},
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
        examples=[
            OpenApiExample("Branch", value={"branch": "release"}, request_only=True),
            OpenApiExample(
                "New image tag",
                value={"image_ref": "registry.example.com/team/api:1.5"},
                request_only=True,
            ),
        ],
    )
    def partial_update(self, request, pk=None):
        app = self.get_object()
        data = s.AppUpdateInput(data=without_version(request.data))
        data.is_valid(raise_exception=True)
        app = services.app_update(
            app=app,
            tenant=self.tenant,
            actor=self.actor(),
            expected_version=self.expected_version(),
            **data.validated_data,
        )
        return Response(s.AppOutput(app, context=self.context()).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.app_delete(
            app=self.get_object(),
            tenant=self.tenant,
            actor=self.actor(),
            expected_version=self.expected_version(),
        )
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
        description="Processes as the runtime sees them, their health, CPU and memory, and "
        "their exits (the last one, restarts and OOM kills in the last 24 hours); the app's "
        "last crash.",
        examples=[OpenApiExample("Running", response_only=True, value={
            "status": "running", "suspended": False, "url": APP_EXAMPLE["url"],
            "current_release": APP_EXAMPLE["current_release"],
            "live_deployment_id": APP_EXAMPLE["live_deployment_id"], "active_deployment": None,
            "formation": {"web": 1}, "processes": [PROCESS_EXAMPLE], "runtime_error": "",
            "last_crash": PROCESS_EXAMPLE["last_exit"], "crashes_24h": 1, "oom_kills_24h": 1})],
    )  # fmt: skip
    @action(detail=True, methods=["get"])
    def status(self, request, pk=None):
        app = self.get_object()
        processes, error = runtime_processes(app)
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
        crashes = crash_fields(app)
        body["last_crash"] = (
            s.ProcessExitOutput(crashes["last_crash"]).data if crashes["last_crash"] else None
        )
        body["crashes_24h"] = crashes["crashes_24h"]
        body["oom_kills_24h"] = crashes["oom_kills_24h"]
        return Response(body)

    @extend_schema(
        responses=s.ProcessesOutput,
        parameters=[ID],
        description="The app's processes as the runtime sees them (state, CPU, memory), each "
        "with its last exit and its restarts and OOM kills in the last 24 hours, and the "
        "limits each runs under (the plan's memory_mb, cpu_millicores, pids, disk_mb).",
        examples=[OpenApiExample("OOM killed once", response_only=True, value={
            "processes": [PROCESS_EXAMPLE],
            "limits": {"memory_mb": 256, "cpu_millicores": 500, "pids": 128, "disk_mb": 1024},
            "runtime_error": ""})],
    )  # fmt: skip
    @action(detail=True, methods=["get"])
    def processes(self, request, pk=None):
        app = self.get_object()
        processes, error = runtime_processes(app)
        body = {
            "processes": processes,
            "limits": limits_of(self.tenant),
            "runtime_error": error,
        }
        return Response(s.ProcessesOutput(body).data)

    @extend_schema(
        parameters=[ID, MetricsQueryInput],
        responses=MetricsOutput,
        description="CPU (millicores) and memory of each process, one point a minute, over "
        "the last `minutes` (60; at most 1440) or from `since` (within the last 24 hours), "
        "and the exits in that window. A redeploy's processes are new series.",
        examples=[OpenApiExample("An hour of web.0", value=METRICS_EXAMPLE, response_only=True)],
    )
    @action(detail=True, methods=["get"])
    def metrics(self, request, pk=None):
        app = self.get_object()
        query = MetricsQueryInput(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(metrics(app, tenant=self.tenant, query=query.validated_data))

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
