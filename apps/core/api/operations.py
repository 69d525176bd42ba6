"""/api/v1/admin/nodes and /api/v1/admin/integrations: what the operator console's system pages
show, for operators' scripts and dashboards (is_staff only)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response

from apps.core.integrations import integrations_check
from apps.core.models import Node
from apps.core.nodes import stale_cutoff

from .schema import ObjectAutoSchema
from .views import GenericViewSet

_ANY_ROLE = "viewer"  # tenant roles do not apply to operator routes (core names no app)

NODE_EXAMPLE = {
    "name": "worker@host-1",
    "kind": "worker",
    "hostname": "host-1",
    "pid": 4242,
    "version": "0.1.0",
    "cpu_pct": 37.5,
    "memory_rss_bytes": 187695104,
    "memory_pct": 0.7,
    "load_1m": 1.42,
    "started_at": "2026-11-23T08:00:00.000000Z",
    "last_seen_at": "2026-11-23T10:00:00.000000Z",
    "stale": False,
    "healthy": True,
    "details": {},
}
INTEGRATIONS_EXAMPLE = {
    "checked_at": "2026-11-23T10:00:00.000000+00:00",
    "results": [
        {"name": "database", "status": "ok", "message": "PostgreSQL 16.4", "latency_ms": 0.8,
         "details": {}},
        {"name": "stripe", "status": "not_configured", "message": "STRIPE_SECRET_KEY is empty",
         "latency_ms": None, "details": {}},
    ],
}  # fmt: skip


class NodeOutput(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField(help_text="worker, beat, web or runtime")
    hostname = serializers.CharField()
    pid = serializers.IntegerField(allow_null=True)
    version = serializers.CharField()
    cpu_pct = serializers.FloatField(allow_null=True)
    memory_rss_bytes = serializers.IntegerField(allow_null=True)
    memory_pct = serializers.FloatField(allow_null=True)
    load_1m = serializers.FloatField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    last_seen_at = serializers.DateTimeField()
    stale = serializers.BooleanField(
        source="is_stale", help_text="Not seen for NODE_STALE_AFTER_S seconds."
    )
    healthy = serializers.SerializerMethodField()
    details = serializers.DictField()

    def get_healthy(self, node: Node) -> bool:
        return not node.is_stale and node.details.get("healthy") is not False


class ProbeOutput(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.CharField(help_text="ok, degraded, down or not_configured")
    message = serializers.CharField()
    latency_ms = serializers.FloatField(allow_null=True)
    details = serializers.DictField()


class IntegrationsOutput(serializers.Serializer):
    checked_at = serializers.CharField()
    results = ProbeOutput(many=True)


class NodeViewSet(GenericViewSet):
    """Every process that reports itself (workers, beat, web servers, runtime hosts)."""

    permission_classes = [IsAuthenticated, IsAdminUser]
    required_roles = {"list": _ANY_ROLE}
    pagination_class = None  # one row per process: a short list

    def get_queryset(self):
        return Node.objects.none()

    @extend_schema(
        summary="List the platform's nodes (operators)",
        parameters=[
            OpenApiParameter("stale", OpenApiTypes.BOOL, description="Only stale (or fresh) ones.")
        ],
        responses=NodeOutput(many=True),
        examples=[OpenApiExample("Nodes", value=[NODE_EXAMPLE], response_only=True)],
    )
    def list(self, request):
        nodes = Node.objects.order_by("kind", "name")
        stale = request.query_params.get("stale")
        if stale in ("true", "1"):
            nodes = nodes.filter(last_seen_at__lt=stale_cutoff())
        elif stale in ("false", "0"):
            nodes = nodes.filter(last_seen_at__gte=stale_cutoff())
        return Response(NodeOutput(nodes, many=True).data)


class IntegrationViewSet(GenericViewSet):
    """Database, Redis, email, Stripe and the local runtime's Caddy, each probed with a time box."""

    permission_classes = [IsAuthenticated, IsAdminUser]
    required_roles = {"list": _ANY_ROLE}
    pagination_class = None
    schema = ObjectAutoSchema()  # one report, not a list

    def get_queryset(self):
        return Node.objects.none()

    @extend_schema(
        summary="Check the platform's integrations (operators)",
        description="Results are cached INTEGRATION_CACHE_S seconds; `refresh=true` probes now.",
        parameters=[OpenApiParameter("refresh", OpenApiTypes.BOOL)],
        responses=IntegrationsOutput,
        examples=[OpenApiExample("Integrations", value=INTEGRATIONS_EXAMPLE, response_only=True)],
    )
    def list(self, request):
        refresh = request.query_params.get("refresh") in ("true", "1")
        return Response(IntegrationsOutput(integrations_check(refresh=refresh)).data)
