"""/api/v1/audit-events (a tenant's owners and admins: their tenant's events) and
/api/v1/admin/audit-events (operators: every tenant's, and events of no tenant).

The log itself is core's (AuditEvent, apps/core/audit_selectors.py); these views live here
because who may read a tenant's log is a tenant role, which core cannot import. Another tenant's
event answers 404, like a missing or malformed id."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response

from apps.core.api.views import GenericViewSet
from apps.core.audit_selectors import audit_event_get, audit_events_list
from apps.core.models import AuditEvent, AuditSeverity

from .. import selectors
from ..models import Role
from .base import TenantScopedViewSet
from .examples import problem_example

ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
ACTION_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]+(\.\*)?$")
EVENT_EXAMPLE = {
    "id": "1d6b2c1e-7a0e-4f5e-8f8a-3b2f4c5d6e7f",
    "created_at": "2026-11-23T10:00:00.000000Z",
    "action": "member.role_changed",
    "severity": "info",
    "actor": {"type": "user", "id": "0b7e0d4e-55a1-4b59-a1c3-0d5b6f4f2e10",
              "label": "ada@acme.example"},
    "tenant": {"id": "6f1c1bde-3f47-4a39-9b1d-7d1d3c0c9a11", "slug": "acme"},
    "target": {"type": "tenants.membership", "id": "8c2d1e0f-9a8b-4c7d-6e5f-4a3b2c1d0e9f"},
    "ip_address": "203.0.113.7",
    "user_agent": "Mozilla/5.0",
    "request_id": "3f0c1d0a6f7e4a5c9b1e2d3c4b5a6978",
    "metadata": {"from": "member", "to": "admin"},
}  # fmt: skip


class ActorOutput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["user", "api_key", "system"])
    id = serializers.UUIDField(allow_null=True, help_text="The user's or API key's id.")
    label = serializers.CharField(help_text="Email of the user or the key's name, then.")


class TenantRefOutput(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField(help_text="The tenant's slug when the event was recorded.")


class TargetOutput(serializers.Serializer):
    type = serializers.CharField(help_text="app_label.model, e.g. tenants.membership")
    id = serializers.CharField()


class AuditEventOutput(serializers.Serializer):
    """Nested blocks are plain dicts (cheaper per row than nested serializers); the classes
    above document their shapes."""

    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    action = serializers.CharField(help_text="<entity>.<past tense>, e.g. member.invited")
    severity = serializers.ChoiceField(choices=AuditSeverity.choices)
    actor = serializers.SerializerMethodField()
    tenant = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    ip_address = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    request_id = serializers.CharField()
    metadata = serializers.DictField()

    @extend_schema_field(ActorOutput)
    def get_actor(self, event: AuditEvent) -> dict[str, Any]:
        if event.actor_api_key_id is not None:
            kind, ident = "api_key", event.actor_api_key_id
        elif event.actor_user_id is not None:
            kind, ident = "user", event.actor_user_id
        else:
            kind, ident = "system", None
        return {
            "type": kind,
            "id": None if ident is None else str(ident),
            "label": event.actor_label,
        }

    @extend_schema_field(TenantRefOutput(allow_null=True))
    def get_tenant(self, event: AuditEvent) -> dict[str, str] | None:
        if event.tenant_id is None:
            return None
        return {"id": str(event.tenant_id), "slug": event.tenant_label}

    @extend_schema_field(TargetOutput(allow_null=True))
    def get_target(self, event: AuditEvent) -> dict[str, str] | None:
        if not event.target_type and not event.target_id:
            return None
        return {"type": event.target_type, "id": event.target_id}


def _severities(value: str) -> list[str]:
    names = [part.strip() for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in AuditSeverity.values]
    if unknown or not names:
        raise serializers.ValidationError(
            f"Use info, warning or critical (a comma-separated list); got {value!r}."
        )
    return names


class AuditFilterInput(serializers.Serializer):
    actor = serializers.CharField(required=False, max_length=254, help_text="A user's id or email.")
    actor_api_key = serializers.UUIDField(required=False, help_text="An API key's id.")
    action = serializers.CharField(
        required=False,
        max_length=100,
        help_text="Exact (member.invited) or a prefix ending in .* (member.*).",
    )
    target_type = serializers.CharField(required=False, max_length=100)
    target_id = serializers.CharField(required=False, max_length=64)
    since = serializers.DateTimeField(required=False, help_text="ISO 8601; events at or after.")
    until = serializers.DateTimeField(required=False, help_text="ISO 8601; events before.")
    severity = serializers.CharField(
        required=False, help_text="info, warning or critical; several comma-separated."
    )
    q = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Case-insensitive text in the action, actor, target id or tenant slug.",
    )

    def validate_actor(self, value: str):
        try:
            return serializers.UUIDField().to_internal_value(value)
        except serializers.ValidationError:
            pass
        if "@" not in value:
            raise serializers.ValidationError("A user's id or email address.")
        return value.strip()

    def validate_action(self, value: str) -> str:
        if not ACTION_PATTERN.match(value):
            raise serializers.ValidationError(
                "An action like member.invited, or a prefix like member.* (only a trailing .*)."
            )
        return value

    def validate_severity(self, value: str) -> list[str]:
        return _severities(value)

    def validate(self, attrs):
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since >= until:
            raise serializers.ValidationError({"until": "Must be later than since."})
        return attrs


class AdminAuditFilterInput(AuditFilterInput):
    tenant = serializers.CharField(
        required=False, max_length=100, help_text="A tenant's id or slug."
    )


_LIST_DESCRIPTION = (
    "Newest first, cursor-paginated (`page_size` up to 200; follow `next`). Filters combine "
    "with AND; a malformed one answers 400 validation-error."
)


class _AuditBase(GenericViewSet):
    lookup_value_regex = "[^/]+"  # a malformed id is 404, like an unknown one
    serializer_class = AuditEventOutput
    filter_input = AuditFilterInput

    def tenant_ids(self, filters: dict[str, Any]):
        raise NotImplementedError

    def get_queryset(self):
        return AuditEvent.objects.none()

    def _list(self, request) -> Response:
        filters = self.filter_input(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        events = audit_events_list(tenant_ids=self.tenant_ids(data), filters=data)
        page = self.paginate_queryset(events)
        return self.get_paginated_response(AuditEventOutput(page, many=True).data)

    def _retrieve(self, pk: str) -> Response:
        event = audit_event_get(event_id=pk, tenant_ids=self.tenant_ids({}))
        if event is None:
            raise NotFound("No such audit event.")
        return Response(AuditEventOutput(event).data)


class AuditEventViewSet(_AuditBase, TenantScopedViewSet):
    """The audit log of the tenant the request is routed to, for its owner and admins."""

    required_roles = {"list": Role.ADMIN, "retrieve": Role.ADMIN}

    def tenant_ids(self, filters):
        return [self.tenant.pk]

    @extend_schema(
        summary="List the tenant's audit events (owners and admins)",
        description=_LIST_DESCRIPTION,
        parameters=[AuditFilterInput],
        responses=AuditEventOutput(many=True),
        examples=[
            OpenApiExample("Events", value=[EVENT_EXAMPLE], response_only=True),
            problem_example(403, "permission-denied", "Your role in this tenant does not ..."),
        ],
    )
    def list(self, request):
        return self._list(request)

    @extend_schema(
        summary="Show one of the tenant's audit events",
        parameters=[ID],
        responses=AuditEventOutput,
        examples=[
            OpenApiExample("Event", value=EVENT_EXAMPLE, response_only=True),
            problem_example(404, "not-found", "No such audit event."),
        ],
    )
    def retrieve(self, request, pk: str):
        return self._retrieve(pk)


class AdminAuditEventViewSet(_AuditBase):
    """Every audit event, for operators (is_staff): all tenants, and platform events that
    belong to none (sign-ins, config changes). Call on the root host."""

    permission_classes = [IsAuthenticated, IsAdminUser]
    required_roles = {"list": Role.VIEWER, "retrieve": Role.VIEWER}
    filter_input = AdminAuditFilterInput

    def tenant_ids(self, filters):
        ident = filters.pop("tenant", None)
        return None if ident is None else selectors.tenant_ids_for_ident(ident)

    @extend_schema(
        summary="List every audit event (operators)",
        description=_LIST_DESCRIPTION + " `tenant` (id or slug) narrows to one tenant.",
        parameters=[AdminAuditFilterInput],
        responses=AuditEventOutput(many=True),
        examples=[OpenApiExample("Events", value=[EVENT_EXAMPLE], response_only=True)],
    )
    def list(self, request):
        return self._list(request)

    @extend_schema(
        summary="Show any audit event (operators)",
        parameters=[ID],
        responses=AuditEventOutput,
        examples=[OpenApiExample("Event", value=EVENT_EXAMPLE, response_only=True)],
    )
    def retrieve(self, request, pk: str):
        return self._retrieve(pk)
