"""/api/v1/inbox: the signed-in person's messages (invitations, role changes, billing notices).

Per user, not per tenant: it answers on the root host and on tenant hosts alike, always with
all of the caller's messages. Another user's message answers 404."""

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.core import inbox
from apps.core.api.views import GenericViewSet
from apps.core.models import InboxMessage
from apps.tenants.api.examples import problem_example
from apps.tenants.api.permissions import PeopleOnly
from apps.tenants.models import Role

EXAMPLE_MESSAGE = {
    "id": "7d2b9c3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
    "kind": "member.role_changed",
    "title": "You are now an admin of Acme",
    "body": "ada@acme.example changed your role in Acme from member to admin.",
    "tenant": {"id": "6f1c1bde-3f47-4a39-9b1d-7d1d3c0c9a11", "slug": "acme", "name": "Acme"},
    "data": {"from": "member", "to": "admin"},
    "read": False,
    "read_at": None,
    "created_at": "2026-01-05T10:00:00.000000Z",
    "updated_at": "2026-01-05T10:00:00.000000Z",
}


class InboxViewSet(GenericViewSet):
    lookup_value_regex = "[0-9a-fA-F-]{32,36}"
    permission_classes = [IsAuthenticated, PeopleOnly]
    # Reading or marking one's own messages needs no particular role in a routed tenant.
    required_roles = {
        "list": Role.VIEWER,
        "unread_count": Role.VIEWER,
        "read": Role.VIEWER,
        "read_all": Role.VIEWER,
    }

    class InboxMessageOutput(serializers.Serializer):
        class InboxTenantOutput(serializers.Serializer):
            id = serializers.UUIDField(source="tenant_id")
            slug = serializers.CharField(source="tenant_slug")
            name = serializers.CharField(source="tenant_name")

        id = serializers.UUIDField()
        kind = serializers.CharField(help_text="`<entity>.<past tense>`, e.g. member.invited.")
        title = serializers.CharField()
        body = serializers.CharField()
        tenant = serializers.SerializerMethodField()
        data = serializers.DictField()
        read = serializers.SerializerMethodField()
        read_at = serializers.DateTimeField(allow_null=True)
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()

        def get_read(self, message) -> bool:
            return message.read_at is not None

        @extend_schema_field(InboxTenantOutput(allow_null=True))
        def get_tenant(self, message) -> dict | None:
            if message.tenant_id is None:
                return None
            return self.InboxTenantOutput(message).data

    class InboxFilter(serializers.Serializer):
        unread = serializers.BooleanField(
            required=False, allow_null=True, default=None, help_text="true: unread only."
        )
        kind = serializers.CharField(required=False, max_length=100)

    class UnreadCountOutput(serializers.Serializer):
        unread = serializers.IntegerField()

    class ReadAllOutput(serializers.Serializer):
        marked = serializers.IntegerField(help_text="How many messages were unread.")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return InboxMessage.objects.none()
        return inbox.inbox_messages_for_user(user=self.request.user)

    @extend_schema(
        summary="My messages, newest first",
        parameters=[InboxFilter],
        responses=InboxMessageOutput(many=True),
        examples=[OpenApiExample("Messages", value=[EXAMPLE_MESSAGE], response_only=True)],
    )
    def list(self, request):
        filters = self.InboxFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        messages = inbox.inbox_messages_for_user(user=request.user, filters=filters.validated_data)
        page = self.paginate_queryset(messages)
        return self.get_paginated_response(self.InboxMessageOutput(page, many=True).data)

    @extend_schema(
        summary="How many of my messages are unread",
        responses=UnreadCountOutput,
        examples=[OpenApiExample("Three", value={"unread": 3}, response_only=True)],
    )
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request):
        return Response({"unread": inbox.inbox_unread_count(user=request.user)})

    @extend_schema(
        summary="Mark one message read",
        request=None,
        responses=InboxMessageOutput,
        examples=[
            OpenApiExample(
                "Read",
                value={**EXAMPLE_MESSAGE, "read": True, "read_at": "2026-01-06T09:00:00.000000Z"},
                response_only=True,
            ),
            problem_example(404, "not-found", "No such message."),
        ],
    )
    @action(detail=True, methods=["post"])
    def read(self, request, pk: str):
        message = inbox.inbox_message_mark_read(user=request.user, message_id=pk)
        return Response(self.InboxMessageOutput(message).data)

    @extend_schema(
        summary="Mark all my messages read",
        request=None,
        responses=ReadAllOutput,
        examples=[OpenApiExample("Done", value={"marked": 3}, response_only=True)],
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": inbox.inbox_mark_all_read(user=request.user)})
