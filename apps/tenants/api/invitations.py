"""/api/v1/invitations: invitations of the tenant the request is routed to, and
/api/v1/invitations/accept (root host: the invited person accepts with the link's token)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps.core.actor import Actor
from apps.core.api.views import APIView

from .. import selectors, services
from ..models import Invitation, InvitationStatus, Role
from .base import TenantScopedViewSet
from .examples import problem_example
from .members import UUID_PATTERN
from .permissions import PeopleOnly
from .views import EXAMPLE_TENANT, TenantOutput

EXAMPLE_INVITATION = {
    "id": "2c4e6a80-1b3d-4f5a-8c7e-9d0f1a2b3c4d",
    "email": "linus@example.com",
    "role": "member",
    "status": "pending",
    "invited_by": "grace@acme.example",
    "expires_at": "2026-01-12T10:00:00.000000Z",
    "accepted_at": None,
    "revoked_at": None,
    "created_at": "2026-01-05T10:00:00.000000Z",
    "updated_at": "2026-01-05T10:00:00.000000Z",
}


class InvitationViewSet(TenantScopedViewSet):
    """Owners invite admins; admins invite members and viewers; nobody invites owners. The
    link is mailed, valid INVITATION_TTL_DAYS (7) days and usable once. Pending invitations
    count against the tenant's `users` limit."""

    lookup_value_regex = UUID_PATTERN
    required_roles = {
        "list": Role.ADMIN,
        "retrieve": Role.ADMIN,
        "create": Role.ADMIN,
        "destroy": Role.ADMIN,
        "resend": Role.ADMIN,
    }

    class InvitationOutput(serializers.Serializer):
        id = serializers.UUIDField()
        email = serializers.EmailField()
        role = serializers.ChoiceField(choices=Role.choices)
        status = serializers.CharField(
            source="current_status", help_text="pending, expired, accepted or revoked."
        )
        invited_by = serializers.EmailField(source="invited_by.email", allow_null=True)
        expires_at = serializers.DateTimeField()
        accepted_at = serializers.DateTimeField(allow_null=True)
        revoked_at = serializers.DateTimeField(allow_null=True)
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()

    class InvitationFilter(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=InvitationStatus.choices,
            required=False,
            help_text="Which invitations to list; pending ones by default.",
        )

    class InvitationCreateInput(serializers.Serializer):
        email = serializers.EmailField()
        role = serializers.ChoiceField(
            choices=Role.choices,
            help_text="admin (the owner invites admins), member or viewer; never owner.",
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Invitation.objects.none()
        return selectors.invitations_for_tenant(tenant=self.tenant)

    def _invitation(self, pk: str) -> Invitation:
        invitation = selectors.invitation_get_in_tenant(tenant=self.tenant, invitation_id=pk)
        if invitation is None:
            raise NotFound("No such invitation.")
        return invitation

    @extend_schema(
        summary="List invitations (admins)",
        parameters=[InvitationFilter],
        responses=InvitationOutput(many=True),
        examples=[OpenApiExample("Pending", value=[EXAMPLE_INVITATION], response_only=True)],
    )
    def list(self, request):
        filters = self.InvitationFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        invitations = selectors.invitations_for_tenant(
            tenant=self.tenant, filters=filters.validated_data
        )
        page = self.paginate_queryset(invitations)
        return self.get_paginated_response(self.InvitationOutput(page, many=True).data)

    @extend_schema(
        summary="Show an invitation (admins)",
        responses=InvitationOutput,
        examples=[OpenApiExample("Invitation", value=EXAMPLE_INVITATION, response_only=True)],
    )
    def retrieve(self, request, pk: str):
        return Response(self.InvitationOutput(self._invitation(pk)).data)

    @extend_schema(
        summary="Invite someone (owner: admins; admins: members and viewers)",
        request=InvitationCreateInput,
        responses={201: InvitationOutput},
        examples=[
            OpenApiExample(
                "A member",
                value={"email": "linus@example.com", "role": "member"},
                request_only=True,
            ),
            problem_example(
                409,
                "quota-exceeded",
                "This tenant may have 10 users (members plus pending invitations) and has 10. ...",
                limit="users",
                allowed=10,
                used=10,
            ),
        ],
    )
    def create(self, request):
        data = self.InvitationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            tenant=self.tenant,
            email=data.validated_data["email"],
            role=data.validated_data["role"],
            actor=Actor.from_request(request),
        )
        return Response(
            self.InvitationOutput(invitation).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/invitations/{invitation.pk}"},
        )

    @extend_schema(
        summary="Revoke an invitation (as for inviting)",
        request=None,
        responses={204: None},
        examples=[problem_example(409, "conflict", "This invitation was accepted; ...")],
    )
    def destroy(self, request, pk: str):
        services.invitation_revoke(
            invitation=self._invitation(pk), actor=Actor.from_request(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Mail an invitation again, with a new link and a new expiry",
        request=None,
        responses=InvitationOutput,
        examples=[OpenApiExample("Resent", value=EXAMPLE_INVITATION, response_only=True)],
    )
    @action(detail=True, methods=["post"])
    def resend(self, request, pk: str):
        invitation = services.invitation_resend(
            invitation=self._invitation(pk), actor=Actor.from_request(request)
        )
        return Response(self.InvitationOutput(invitation).data)


class InvitationAcceptView(APIView):
    """The invited person, signed in with the invited address (any case), joins the tenant.

    Unknown link: 404. Expired, revoked or used: 409 with `invitation_status`. Another
    address: 403. Over the tenant's user limit: 409 quota-exceeded."""

    permission_classes = [IsAuthenticated, PeopleOnly]
    required_roles = {None: Role.VIEWER}

    class AcceptInput(serializers.Serializer):
        token = serializers.CharField(max_length=200, help_text="The token from the mailed link.")

    @extend_schema(
        operation_id="invitations_accept",
        summary="Accept an invitation (the invited person)",
        request=AcceptInput,
        responses=TenantOutput,
        examples=[
            OpenApiExample("Token", value={"token": "5e1f…(64 hex characters)"}, request_only=True),
            OpenApiExample(
                "Joined", value={**EXAMPLE_TENANT, "role": "member"}, response_only=True
            ),
            problem_example(
                409, "conflict", "This invitation has expired; ...", invitation_status="expired"
            ),
        ],
    )
    def post(self, request):
        data = self.AcceptInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.invitation_accept(
            token=data.validated_data["token"], user=request.user
        )
        return Response(TenantOutput(membership).data)
