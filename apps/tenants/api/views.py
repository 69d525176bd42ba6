from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.core.api.views import GenericViewSet

from .. import selectors, services
from ..models import Membership


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

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return selectors.memberships_for_user(user=self.request.user)

    @extend_schema(responses=TenantOutput(many=True))
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

    @extend_schema(responses=TenantOutput)
    def retrieve(self, request, pk: str):
        membership = selectors.membership_get(user=request.user, tenant_ident=pk)
        if membership is None:
            raise NotFound("No such tenant.")
        return Response(TenantOutput(membership).data)
