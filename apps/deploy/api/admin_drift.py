"""/api/v1/admin/runtime/drift: what the reconciler found changed or missing in the runtime
(the Kubernetes provider: objects deleted or edited by hand) and repaired, newest first, for
operators (is_staff). Each repair is an audit event `runtime.drift_repaired`
(apps/deploy/runtime/kubernetes/drift.py); this is that part of the audit log, in its own shape."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser, IsAuthenticated

from apps.core.api.views import GenericViewSet
from apps.core.audit_selectors import audit_events_list
from apps.core.models import AuditEvent
from apps.tenants.api.examples import problem_example
from apps.tenants.selectors import tenant_ids_for_ident

from ..runtime.kubernetes.drift import ACTION

DRIFT_EXAMPLE = {
    "id": "1d6b2c1e-7a0e-4f5e-8f8a-3b2f4c5d6e7f",
    "found_at": "2026-11-23T10:00:00.000000Z",
    "tenant": "acme",
    "app_key": "5f0c8a2e9b7d4c1aa3e6f2b1c0d9e8f7",
    "kind": "Deployment",
    "namespace": "qs-acme",
    "name": "a5f0c8a2e9b7d4c1a-3f2a1b0c9d8e-web",
    "change": "modified",
    "fields": ["spec.replicas"],
}


class DriftOutput(serializers.Serializer):
    id = serializers.UUIDField(help_text="The audit event's id.")
    found_at = serializers.DateTimeField(source="created_at")
    tenant = serializers.CharField(source="metadata.tenant", default="")
    app_key = serializers.CharField(source="metadata.app_key", default="")
    kind = serializers.CharField(source="metadata.kind", default="")
    namespace = serializers.CharField(source="metadata.namespace", default="")
    name = serializers.CharField(source="metadata.name", default="")
    change = serializers.ChoiceField(
        choices=["missing", "modified"], source="metadata.change", default="modified"
    )
    fields = serializers.ListField(
        child=serializers.CharField(),
        source="metadata.fields",
        default=list,
        help_text="The fields that differed from what Quayside applies (names, never values).",
    )


class RuntimeDriftViewSet(GenericViewSet):
    """Drift the reconciler repaired, across tenants. Call on the root host."""

    permission_classes = [IsAuthenticated, IsAdminUser]
    required_roles = {"list": "viewer"}  # tenant roles do not apply to operator routes
    serializer_class = DriftOutput

    def get_queryset(self):
        return AuditEvent.objects.none()

    @extend_schema(
        summary="List the runtime drift that was repaired (operators)",
        parameters=[
            OpenApiParameter("tenant", OpenApiTypes.STR, description="A tenant's id or slug.")
        ],
        responses=DriftOutput(many=True),
        examples=[
            OpenApiExample("Drift", value=[DRIFT_EXAMPLE], response_only=True),
            problem_example(403, "permission-denied", "You do not have permission ..."),
        ],
    )
    def list(self, request):
        tenant = request.query_params.get("tenant")
        tenant_ids = tenant_ids_for_ident(tenant) if tenant else None
        events = audit_events_list(tenant_ids=tenant_ids, filters={"action": ACTION})
        page = self.paginate_queryset(events)
        return self.get_paginated_response(DriftOutput(page, many=True).data)
