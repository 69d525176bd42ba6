"""/api/v1/members: the people of the tenant the request is routed to (host or X-Tenant-ID).

Members are addressed by their membership id (`id` in the list), not their user id."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.core.actor import Actor
from apps.core.api.pagination import CursorPagination

from .. import selectors, services
from ..models import Membership, Role
from .base import TenantScopedViewSet
from .examples import problem_example

UUID_PATTERN = "[0-9a-fA-F-]{32,36}"
EXAMPLE_MEMBER = {
    "id": "9a0f6b1e-8d3c-4f0e-a8a5-2b7d9c1e4f20",
    "user_id": "0b7e0d4e-55a1-4b59-a1c3-0d5b6f4f2e10",
    "email": "grace@acme.example",
    "name": "Grace Hopper",
    "role": "admin",
    "joined_at": "2026-01-05T10:00:00.000000Z",
    "created_at": "2026-01-05T10:00:00.000000Z",
    "updated_at": "2026-02-01T08:30:00.000000Z",
}


class JoinedFirstPagination(CursorPagination):
    ordering = ("created_at", "id")


class MemberViewSet(TenantScopedViewSet):
    """Anyone in the tenant lists its members. Admins change the roles of members and viewers
    and remove them; only the owner makes, unmakes or removes admins; nobody removes the owner
    (ownership moves by transfer). Anyone but the owner may leave."""

    lookup_value_regex = UUID_PATTERN
    pagination_class = JoinedFirstPagination
    required_roles = {
        "list": Role.VIEWER,
        "retrieve": Role.VIEWER,
        "partial_update": Role.ADMIN,
        "destroy": Role.ADMIN,
        "leave": Role.VIEWER,
    }

    class MemberOutput(serializers.Serializer):
        id = serializers.UUIDField(help_text="The membership id, used in this API's paths.")
        user_id = serializers.UUIDField()
        email = serializers.EmailField(source="user.email")
        name = serializers.CharField(source="user.get_full_name")
        role = serializers.ChoiceField(choices=Role.choices)
        joined_at = serializers.DateTimeField(source="created_at")
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()

    class MemberFilter(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.choices, required=False)

    class MemberRoleInput(serializers.Serializer):
        role = serializers.ChoiceField(
            choices=Role.choices,
            help_text="admin, member or viewer. Ownership moves only by "
            "POST /api/v1/tenants/{id}/transfer-ownership.",
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return selectors.members_for_tenant(tenant=self.tenant)

    def _membership(self, pk: str) -> Membership:
        membership = selectors.membership_get_in_tenant(tenant=self.tenant, membership_id=pk)
        if membership is None:
            raise NotFound("No such member.")
        return membership

    @extend_schema(
        summary="List the tenant's members (any member)",
        parameters=[MemberFilter],
        responses=MemberOutput(many=True),
        examples=[OpenApiExample("Members", value=[EXAMPLE_MEMBER], response_only=True)],
    )
    def list(self, request):
        filters = self.MemberFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        members = selectors.members_for_tenant(tenant=self.tenant, filters=filters.validated_data)
        page = self.paginate_queryset(members)
        return self.get_paginated_response(self.MemberOutput(page, many=True).data)

    @extend_schema(
        summary="Show a member (any member)",
        responses=MemberOutput,
        examples=[OpenApiExample("Member", value=EXAMPLE_MEMBER, response_only=True)],
    )
    def retrieve(self, request, pk: str):
        return Response(self.MemberOutput(self._membership(pk)).data)

    @extend_schema(
        summary="Change a member's role (admins; admin roles: the owner)",
        request=MemberRoleInput,
        responses=MemberOutput,
        examples=[
            OpenApiExample("Make a viewer", value={"role": "viewer"}, request_only=True),
            problem_example(403, "permission-denied", "Only the owner can make or unmake admins."),
        ],
    )
    def partial_update(self, request, pk: str):
        data = self.MemberRoleInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_role_change(
            membership=self._membership(pk),
            role=data.validated_data["role"],
            actor=Actor.from_request(request),
        )
        return Response(self.MemberOutput(membership).data)

    @extend_schema(
        summary="Remove a member (admins; admins: the owner; never the owner)",
        request=None,
        responses={204: None},
        examples=[problem_example(409, "conflict", "The owner cannot be removed. ...")],
    )
    def destroy(self, request, pk: str):
        services.membership_remove(
            membership=self._membership(pk),
            actor=Actor.from_request(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Leave the tenant (anyone but the owner)",
        request=None,
        responses={204: None},
        examples=[problem_example(409, "conflict", "The owner cannot leave. ...")],
    )
    @action(detail=False, methods=["post"])
    def leave(self, request):
        services.membership_leave(membership=request.membership, actor=Actor.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
