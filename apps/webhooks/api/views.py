"""/api/v1/webhook-endpoints… and /api/v1/webhook-event-types (docs/webhooks.md).

Roles: webhooks are tenant settings, so admins (and the owner) create, change, rotate, test,
replay and delete; viewers and members read (never a secret). Another tenant's endpoint or
message (or a malformed id) is 404."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.core.api.versioning import VersionedViewMixin, without_version
from apps.core.api.views import ViewSet
from apps.core.events import EVENT_TYPES
from apps.tenants.api.base import TenantScopedViewSet
from apps.tenants.models import Role
from apps.tenants.permissions import TenantRequired

from .. import selectors, services
from ..models import WebhookEndpoint, WebhookMessageStatus
from . import serializers as s

ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
MSG_ID = OpenApiParameter("msg_id", str, OpenApiParameter.PATH, description="msg_…")
_T = "2026-11-23T10:00:00.000000Z"
ENDPOINT_ID = "3c2b1a09-8f7e-4d6c-b5a4-9382716a5b4c"
ENDPOINT_EXAMPLE = {
    "id": ENDPOINT_ID,
    "url": "https://example.com/hooks/quayside",
    "description": "Deploy notifications",
    "event_types": ["deployment.*", "monitor.down"],
    "enabled": True,
    "disabled_reason": "",
    "disabled_at": None,
    "secret_last8": "Zk9mQ2w=",
    "previous_secret_expires_at": None,
    "failing_since": None,
    "last_success_at": _T,
    "version": 1,
    "created_at": _T,
    "updated_at": _T,
}
SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw8Kl9Zk9mQ2w="  # noqa: S105 (an example)
ATTEMPT_EXAMPLE = {
    "id": 812, "attempted_at": _T, "ok": True, "status_code": 200, "duration_ms": 84,
    "response_excerpt": "ok", "error": "", "trigger": "scheduled",
}  # fmt: skip
MESSAGE_EXAMPLE = {
    "id": "msg_5f0c1d2e3b4a49788a7b6c5d4e3f2a1b",
    "event_type": "deployment.succeeded",
    "status": "succeeded",
    "attempts_count": 2,
    "next_attempt_at": None,
    "last_attempt_at": _T,
    "last_error": "",
    "created_at": "2026-11-23T09:59:55.000000Z",
    "payload": {"type": "deployment.succeeded", "timestamp": "2026-11-23T09:59:55.000000Z",
                "data": {"id": "…", "app": "web", "release": "v12"}},
    "attempts": [ATTEMPT_EXAMPLE, {**ATTEMPT_EXAMPLE, "id": 811, "ok": False,
                                   "status_code": 503, "error": "HTTP 503",
                                   "response_excerpt": "upstream down"}],
}  # fmt: skip


def _choice(params, name: str, choices) -> str | None:
    """An enum-like filter: absent or empty is None; anything but one of `choices` is a 400
    naming them."""
    value = params.get(name)
    if value and value not in choices:
        raise ValidationError({name: f"One of: {', '.join(choices)}."})
    return value or None


class _Base(TenantScopedViewSet):
    lookup_value_regex = "[^/]+"  # a malformed id is 404, like an unknown one


@extend_schema_view(
    retrieve=extend_schema(parameters=[ID]),
    partial_update=extend_schema(parameters=[ID]),
    destroy=extend_schema(parameters=[ID]),
)
class WebhookEndpointViewSet(VersionedViewMixin, _Base):
    """Outgoing webhooks (Standard Webhooks): where the tenant's events are sent, signed."""

    required_roles = {
        "list": Role.VIEWER,
        "retrieve": Role.VIEWER,
        # Messages carry whole payloads (invoices among them): owners and admins only.
        "deliveries": Role.ADMIN,
        "create": Role.ADMIN,
        "partial_update": Role.ADMIN,
        "destroy": Role.ADMIN,
        "rotate_secret": Role.ADMIN,
        "test": Role.ADMIN,
        "enable": Role.ADMIN,
        "replay": Role.ADMIN,
        "replay_message": Role.ADMIN,
    }
    serializer_class = s.WebhookEndpointOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.objects.none()
        return selectors.webhook_endpoints_list()

    def get_object(self, *, with_secrets: bool = False) -> WebhookEndpoint:
        endpoint = selectors.webhook_endpoint_get(self.kwargs.get("pk"), with_secrets=with_secrets)
        if endpoint is None:
            raise NotFound("No such webhook endpoint.")
        return endpoint

    def _out(self, endpoint, status: int = 200, **kwargs) -> Response:
        return Response(s.WebhookEndpointOutput(endpoint).data, status=status, **kwargs)

    def _with_secret(self, endpoint, secret: str, status: int = 200, **kwargs) -> Response:
        data = {**s.WebhookEndpointOutput(endpoint).data, "secret": secret}
        return Response(data, status=status, **kwargs)

    @extend_schema(
        responses=s.WebhookEndpointOutput(many=True),
        parameters=[OpenApiParameter("enabled", bool)],
        examples=[OpenApiExample("Endpoints", value=[ENDPOINT_EXAMPLE], response_only=True)],
    )
    def list(self, request):
        enabled = request.query_params.get("enabled")
        filters = {"enabled": None if enabled is None else enabled.lower() in ("1", "true")}
        page = self.paginate_queryset(selectors.webhook_endpoints_list(filters=filters))
        return self.get_paginated_response(s.WebhookEndpointOutput(page, many=True).data)

    @extend_schema(
        request=s.WebhookEndpointCreateInput,
        responses={201: s.WebhookEndpointWithSecretOutput},
        description="The answer carries the signing secret; it is never shown again.",
        examples=[
            OpenApiExample("Deploys and downs", request_only=True, value={
                "url": "https://example.com/hooks/quayside", "description": "Deploy notifications",
                "event_types": ["deployment.*", "monitor.down"]}),
            OpenApiExample("Created", response_only=True, status_codes=["201"],
                           value={**ENDPOINT_EXAMPLE, "secret": SECRET_EXAMPLE}),
        ],
    )  # fmt: skip
    def create(self, request):
        data = s.WebhookEndpointCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.webhook_endpoint_create(
            tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        location = f"/api/v1/webhook-endpoints/{endpoint.pk}"
        return self._with_secret(endpoint, secret, 201, headers={"Location": location})

    @extend_schema(
        responses=s.WebhookEndpointOutput,
        examples=[OpenApiExample("Endpoint", value=ENDPOINT_EXAMPLE, response_only=True)],
    )
    def retrieve(self, request, pk=None):
        return self._out(self.get_object())

    @extend_schema(
        request=s.WebhookEndpointUpdateInput,
        responses=s.WebhookEndpointOutput,
        examples=[
            OpenApiExample("Only downs", request_only=True, value={"event_types": ["monitor.*"]}),
            OpenApiExample("Updated", response_only=True,
                           value={**ENDPOINT_EXAMPLE, "event_types": ["monitor.*"]}),
        ],
    )  # fmt: skip
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = s.WebhookEndpointUpdateInput(data=without_version(request.data))
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(
            endpoint=endpoint,
            tenant=self.tenant,
            actor=self.actor(),
            expected_version=self.expected_version(),
            **data.validated_data,
        )
        return self._out(endpoint)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.webhook_endpoint_delete(
            endpoint=self.get_object(),
            tenant=self.tenant,
            actor=self.actor(),
            expected_version=self.expected_version(),
        )
        return Response(status=204)

    @extend_schema(
        request=None,
        responses=s.WebhookEndpointWithSecretOutput,
        parameters=[ID],
        description="A new secret, shown once. For WEBHOOKS_ROTATION_OVERLAP_S (24 h) requests "
        "carry two signatures (`v1,<new> v1,<old>`), so receivers can switch without a gap.",
        examples=[OpenApiExample("Rotated", response_only=True, value={
            **ENDPOINT_EXAMPLE, "previous_secret_expires_at": "2026-11-24T10:00:00.000000Z",
            "secret": SECRET_EXAMPLE})],
    )  # fmt: skip
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint, secret = services.webhook_endpoint_rotate_secret(
            endpoint=self.get_object(with_secrets=True), tenant=self.tenant, actor=self.actor()
        )
        return self._with_secret(endpoint, secret)

    @extend_schema(
        request=None,
        responses=s.WebhookAttemptOutput,
        parameters=[ID],
        description="Send a `webhook.test` event now (signed like any other) and answer with "
        "the attempt. Not retried; does not count toward disabling.",
        examples=[OpenApiExample("Attempt", value={**ATTEMPT_EXAMPLE, "trigger": "test"},
                                 response_only=True)],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        attempt = services.webhook_endpoint_test(
            endpoint=self.get_object(with_secrets=True), tenant=self.tenant, actor=self.actor()
        )
        return Response(s.WebhookAttemptOutput(attempt).data)

    @extend_schema(
        request=None,
        responses=s.WebhookEndpointOutput,
        parameters=[ID],
        description="Enable a disabled endpoint (what failed meanwhile can be replayed).",
        examples=[OpenApiExample("Enabled", value=ENDPOINT_EXAMPLE, response_only=True)],
    )
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        return self._out(
            services.webhook_endpoint_enable(
                endpoint=self.get_object(), tenant=self.tenant, actor=self.actor()
            )
        )

    @extend_schema(
        responses=s.WebhookMessageOutput(many=True),
        parameters=[
            ID,
            OpenApiParameter("status", str, enum=WebhookMessageStatus.values),
            OpenApiParameter("event_type", str),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
        ],
        description="Recent messages, newest first, each with its attempts.",
        examples=[OpenApiExample("Deliveries", value=[MESSAGE_EXAMPLE], response_only=True)],
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        endpoint = self.get_object()
        params = request.query_params
        filters = {
            "status": _choice(params, "status", WebhookMessageStatus.values),
            "event_type": params.get("event_type"),
        }
        if params.get("since"):
            filters["since"] = _datetime(params["since"], "since")
        messages = selectors.webhook_messages_for_endpoint(endpoint=endpoint, filters=filters)
        page = self.paginate_queryset(messages)
        return self.get_paginated_response(s.WebhookMessageOutput(page, many=True).data)

    @extend_schema(
        request=None,
        responses={202: s.WebhookMessageOutput},
        parameters=[ID, MSG_ID],
        description="Send one message again now, with the same webhook-id.",
        examples=[OpenApiExample("Queued", response_only=True, status_codes=["202"], value={
            **MESSAGE_EXAMPLE, "status": "pending", "next_attempt_at": _T})],
    )  # fmt: skip
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<msg_id>[^/]+)/replay")
    def replay_message(self, request, pk=None, msg_id=None):
        endpoint = self.get_object()
        message = selectors.webhook_message_get(endpoint=endpoint, msg_id=msg_id)
        if message is None:
            raise NotFound("No such message.")
        message = services.webhook_message_replay(
            message=message, endpoint=endpoint, tenant=self.tenant, actor=self.actor()
        )
        message = selectors.webhook_message_get(endpoint=endpoint, msg_id=msg_id)
        location = f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries?status=pending"
        return Response(
            s.WebhookMessageOutput(message).data, status=202, headers={"Location": location}
        )

    @extend_schema(
        request=s.WebhookReplayInput,
        responses={202: s.WebhookReplayOutput},
        parameters=[ID],
        description="Send again every message created since a time (or only the failed ones); "
        "each keeps its webhook-id. Follow them at the Location (deliveries).",
        examples=[
            OpenApiExample("Since an outage", request_only=True,
                           value={"since": "2026-11-23T08:00:00Z", "only_failed": True}),
            OpenApiExample("Queued", response_only=True, status_codes=["202"], value={
                "status": "queued", "since": "2026-11-23T08:00:00.000000Z", "only_failed": True,
                "messages": 42}),
        ],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        endpoint = self.get_object()
        data = s.WebhookReplayInput(data=request.data)
        data.is_valid(raise_exception=True)
        count = services.webhook_endpoint_replay(
            endpoint=endpoint, tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        body = {"status": "queued", **data.validated_data, "messages": count}
        since = s.WebhookReplayOutput(body).data["since"]
        location = f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries?since={since}"
        return Response(s.WebhookReplayOutput(body).data, status=202,
                        headers={"Location": location})  # fmt: skip


def _datetime(value: str, field: str):
    try:
        return serializers.DateTimeField().to_internal_value(value)
    except ValidationError as exc:
        raise ValidationError({field: exc.detail}) from exc


class WebhookEventTypeViewSet(ViewSet):
    """The event types endpoints can subscribe to (also as `<entity>.*` or `*`)."""

    permission_classes = [IsAuthenticated, TenantRequired]
    required_roles = {"list": Role.VIEWER}

    @extend_schema(
        responses=s.WebhookEventTypeOutput(many=True),
        examples=[OpenApiExample("Types", response_only=True, value=[
            {"type": "monitor.down", "description": "A monitor went down."}])],
    )  # fmt: skip
    def list(self, request):
        rows = [{"type": t, "description": d} for t, d in EVENT_TYPES.items()]
        return Response(s.WebhookEventTypeOutput(rows, many=True).data)
