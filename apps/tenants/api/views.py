"""/api/v1/tenants (the caller's tenants) and /api/v1/admin/tenants (operators: every tenant).

Tenants are a public-level resource: the tenant addressed is the one in the path (id or slug),
whatever tenant the request may be routed to, and the caller's role is read from their own
membership in it. Another tenant answers 404, whether it exists or not."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response

from apps.core.actor import Actor
from apps.core.api.views import GenericViewSet

from .. import selectors, services
from ..models import Membership, Role, Tenant, TenantStatus
from .examples import problem_example
from .permissions import PeopleOnly

TENANT_IDENT = OpenApiParameter(
    "id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The tenant's id or slug."
)
EXAMPLE_TENANT = {
    "id": "6f1c1bde-3f47-4a39-9b1d-7d1d3c0c9a11",
    "slug": "acme",
    "name": "Acme",
    "status": "active",
    "role": "owner",
    "domain": "acme.quayside.example",
    "created_at": "2026-01-05T10:00:00.000000Z",
    "updated_at": "2026-01-05T10:00:00.000000Z",
}


class TenantOutput(serializers.Serializer):
    id = serializers.UUIDField(source="tenant.id")
    slug = serializers.CharField(source="tenant.slug")
    name = serializers.CharField(source="tenant.name")
    status = serializers.CharField(source="tenant.status")
    role = serializers.CharField()
    domain = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="tenant.created_at")
    updated_at = serializers.DateTimeField(source="tenant.updated_at")

    def get_domain(self, membership) -> str:
        return f"{membership.tenant.slug}.{settings.BASE_DOMAIN}"


class TenantCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    slug = serializers.CharField(max_length=40)


class TenantViewSet(GenericViewSet):
    """Tenants the caller belongs to. Another tenant answers 404, whether it exists or not."""

    lookup_value_regex = "[^/]+"
    serializer_class = TenantOutput
    permission_classes = [IsAuthenticated, PeopleOnly]
    # The tenant a request is routed to (if any) is not the one addressed here: each action
    # checks the caller's role in the addressed tenant itself (services read `actor.role`).
    required_roles = {
        "list": Role.VIEWER,
        "create": Role.VIEWER,
        "retrieve": Role.VIEWER,
        "partial_update": Role.VIEWER,
        "destroy": Role.VIEWER,
        "transfer_ownership": Role.VIEWER,
    }

    class RenameInput(serializers.Serializer):
        name = serializers.CharField(max_length=100)

    class TransferOwnershipInput(serializers.Serializer):
        user_id = serializers.UUIDField(help_text="The user (an admin of the tenant) to own it.")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return selectors.memberships_for_user(user=self.request.user)

    def _membership(self, ident: str) -> Membership:
        membership = selectors.membership_get(user=self.request.user, tenant_ident=ident)
        if membership is None:
            raise NotFound("No such tenant.")
        return membership

    @extend_schema(
        responses=TenantOutput(many=True),
        examples=[OpenApiExample("My tenants", value=[EXAMPLE_TENANT], response_only=True)],
    )
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(TenantOutput(page, many=True).data)

    @extend_schema(
        request=TenantCreateInput,
        responses={201: TenantOutput},
        examples=[OpenApiExample("Team", value={"name": "Acme", "slug": "acme"})],
    )
    def create(self, request):
        data = TenantCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = services.tenant_create(owner=request.user, **data.validated_data)
        membership = selectors.membership_get(user=request.user, tenant_ident=str(tenant.pk))
        return Response(
            TenantOutput(membership).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/tenants/{tenant.pk}"},
        )

    @extend_schema(
        parameters=[TENANT_IDENT],
        responses=TenantOutput,
        examples=[OpenApiExample("A tenant", value=EXAMPLE_TENANT, response_only=True)],
    )
    def retrieve(self, request, pk: str):
        return Response(TenantOutput(self._membership(pk)).data)

    @extend_schema(
        summary="Rename a tenant (owner or admin)",
        parameters=[TENANT_IDENT],
        request=RenameInput,
        responses=TenantOutput,
        examples=[
            OpenApiExample("Rename", value={"name": "Acme Inc."}, request_only=True),
            problem_example(423, "tenant-suspended", "This tenant is suspended: ..."),
        ],
    )
    def partial_update(self, request, pk: str):
        membership = self._membership(pk)
        data = self.RenameInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.tenant_rename(
            tenant=membership.tenant,
            name=data.validated_data["name"],
            actor=Actor.from_request(request, role=membership.role),
        )
        return Response(TenantOutput(self._membership(pk)).data)

    @extend_schema(
        summary="Delete a tenant (owner only)",
        description="Soft delete: the tenant answers 404 at once and its data is erased "
        "TENANT_PURGE_GRACE_DAYS (30) days later. Pending invitations are revoked.",
        parameters=[TENANT_IDENT],
        request=None,
        responses={204: None},
        examples=[problem_example(403, "permission-denied", "Only the owner can delete ...")],
    )
    def destroy(self, request, pk: str):
        membership = self._membership(pk)
        services.tenant_delete(
            tenant=membership.tenant, actor=Actor.from_request(request, role=membership.role)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Transfer ownership to an admin (owner only)",
        description="The new owner must be an admin of the tenant; the old owner becomes an "
        "admin. Answers the caller's tenant, with their new role.",
        parameters=[TENANT_IDENT],
        request=TransferOwnershipInput,
        responses=TenantOutput,
        examples=[
            OpenApiExample(
                "To an admin",
                value={"user_id": "0b7e0d4e-55a1-4b59-a1c3-0d5b6f4f2e10"},
                request_only=True,
            ),
            problem_example(409, "conflict", "Ownership can only go to an admin; ..."),
        ],
    )
    @action(detail=True, methods=["post"], url_path="transfer-ownership")
    def transfer_ownership(self, request, pk: str):
        membership = self._membership(pk)
        data = self.TransferOwnershipInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.tenant_transfer_ownership(
            tenant=membership.tenant,
            user_id=data.validated_data["user_id"],
            actor=Actor.from_request(request, role=membership.role),
        )
        return Response(TenantOutput(self._membership(pk)).data)


# --- Operators ------------------------------------------------------------------------------

EXAMPLE_ADMIN_TENANT = {
    **{k: v for k, v in EXAMPLE_TENANT.items() if k != "role"},
    "owner_email": "ada@acme.example",
    "member_count": 4,
    "limits": {"users": 25},
    "entitlements": {"users": 10},
    "entitlement_overrides": {"users": 25},
    "suspended_at": None,
    "suspension_reason": "",
    "deleted_at": None,
    "purged_at": None,
}


class AdminTenantViewSet(GenericViewSet):
    """Every tenant, for operators (is_staff): list and filter, suspend, resume, and override
    limits. Call on the root host, without X-Tenant-ID."""

    lookup_value_regex = "[^/]+"
    permission_classes = [IsAuthenticated, IsAdminUser]
    required_roles = {
        "list": Role.VIEWER,
        "retrieve": Role.VIEWER,
        "suspend": Role.VIEWER,
        "resume": Role.VIEWER,
        "entitlement_overrides": Role.VIEWER,
    }

    class AdminTenantOutput(serializers.Serializer):
        id = serializers.UUIDField()
        slug = serializers.CharField()
        name = serializers.CharField()
        status = serializers.CharField(help_text="provisioning, active, suspended or deleted.")
        domain = serializers.SerializerMethodField()
        owner_email = serializers.EmailField(allow_null=True)
        member_count = serializers.IntegerField()
        limits = serializers.SerializerMethodField(help_text="Effective limits by name.")
        entitlements = serializers.DictField(
            child=serializers.IntegerField(), help_text="Limits from the plan (written by billing)."
        )
        entitlement_overrides = serializers.DictField(
            child=serializers.IntegerField(),
            help_text="Operator overrides; they win over the plan.",
        )
        suspended_at = serializers.DateTimeField(allow_null=True)
        suspension_reason = serializers.CharField()
        deleted_at = serializers.DateTimeField(allow_null=True)
        purged_at = serializers.DateTimeField(allow_null=True)
        created_at = serializers.DateTimeField()
        updated_at = serializers.DateTimeField()

        def get_domain(self, tenant) -> str:
            return f"{tenant.slug}.{settings.BASE_DOMAIN}"

        def get_limits(self, tenant) -> dict[str, int | None]:
            return selectors.tenant_limits(tenant)

    class FilterInput(serializers.Serializer):
        status = serializers.ChoiceField(choices=TenantStatus.choices, required=False)
        q = serializers.CharField(required=False, help_text="Part of the name or slug.")
        created_after = serializers.DateTimeField(required=False)
        created_before = serializers.DateTimeField(required=False)

    class SuspendInput(serializers.Serializer):
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True)

    class OverridesInput(serializers.Serializer):
        overrides = serializers.DictField(
            child=serializers.IntegerField(min_value=0, allow_null=True),
            help_text="Limit name to a number (sets the override) or null (removes it). "
            "Sandbox sizes have bounds: memory_mb 32 to 1048576, cpu_millicores 10 to 256000, "
            "pids 16 to 4194304, disk_mb 64 to 16777216 (400 validation-error outside them).",
        )
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def get_queryset(self):
        return selectors.tenants_for_operator()

    def _tenant(self, ident: str) -> Tenant:
        tenant = selectors.tenant_get_for_operator(ident=ident)
        if tenant is None:
            raise NotFound("No such tenant.")
        return tenant

    def _answer(self, ident: str) -> Response:
        return Response(self.AdminTenantOutput(self._tenant(ident)).data)

    @extend_schema(
        summary="List every tenant (operators)",
        parameters=[FilterInput],
        responses=AdminTenantOutput(many=True),
        examples=[OpenApiExample("Tenants", value=[EXAMPLE_ADMIN_TENANT], response_only=True)],
    )
    def list(self, request):
        filters = self.FilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        tenants = selectors.tenants_for_operator(filters=filters.validated_data)
        page = self.paginate_queryset(tenants)
        return self.get_paginated_response(self.AdminTenantOutput(page, many=True).data)

    @extend_schema(
        summary="Show any tenant (operators)",
        parameters=[TENANT_IDENT],
        responses=AdminTenantOutput,
        examples=[OpenApiExample("A tenant", value=EXAMPLE_ADMIN_TENANT, response_only=True)],
    )
    def retrieve(self, request, pk: str):
        return self._answer(pk)

    @extend_schema(
        summary="Suspend a tenant (operators)",
        description="Members can still read; every write answers 423 tenant-suspended. "
        "Suspending a suspended tenant changes nothing.",
        parameters=[TENANT_IDENT],
        request=SuspendInput,
        responses=AdminTenantOutput,
        examples=[OpenApiExample("Abuse", value={"reason": "Abuse report #112"})],
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk: str):
        data = self.SuspendInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.tenant_suspend(
            tenant=self._tenant(pk),
            reason=data.validated_data.get("reason", ""),
            actor=Actor.from_request(request),
        )
        return self._answer(pk)

    @extend_schema(
        summary="Resume a suspended tenant (operators)",
        parameters=[TENANT_IDENT],
        request=None,
        responses=AdminTenantOutput,
        examples=[OpenApiExample("Resumed", value=EXAMPLE_ADMIN_TENANT, response_only=True)],
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk: str):
        services.tenant_resume(tenant=self._tenant(pk), actor=Actor.from_request(request))
        return self._answer(pk)

    @extend_schema(
        summary="Override a tenant's limits (operators)",
        description="A JSON merge patch of the overrides: a number sets a limit for this "
        "tenant whatever its plan says, null removes the override. The sandbox sizes "
        "(memory_mb, cpu_millicores, pids, disk_mb) must be within their bounds: 400 "
        "validation-error on `overrides.<name>` otherwise.",
        parameters=[TENANT_IDENT],
        request=OverridesInput,
        responses=AdminTenantOutput,
        examples=[
            OpenApiExample(
                "More seats",
                value={"overrides": {"users": 25}, "reason": "Pilot customer"},
                request_only=True,
            ),
            OpenApiExample(
                "Bigger processes",
                value={"overrides": {"memory_mb": 2048, "cpu_millicores": 2000}},
                request_only=True,
            ),
        ],
    )
    @action(detail=True, methods=["patch"], url_path="entitlement-overrides")
    def entitlement_overrides(self, request, pk: str):
        data = self.OverridesInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.tenant_entitlement_overrides_update(
            tenant=self._tenant(pk),
            changes=data.validated_data["overrides"],
            reason=data.validated_data.get("reason", ""),
            actor=Actor.from_request(request),
        )
        return self._answer(pk)
