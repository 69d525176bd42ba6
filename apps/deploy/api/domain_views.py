"""/api/v1/apps/{app_pk}/domains: an app's custom hostnames, verifying and removing them."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.core.api.pagination import CursorPagination
from apps.tenants.models import Role

from .. import selectors, services
from . import serializers as s
from .base import APP_ID, ID, AppScopedViewSet
from .examples import DOMAIN_EXAMPLE, T


class HostnamePagination(CursorPagination):
    ordering = ("hostname",)


@extend_schema_view(
    list=extend_schema(parameters=[APP_ID]),
    create=extend_schema(parameters=[APP_ID]),
    verify=extend_schema(parameters=[APP_ID, ID]),
    destroy=extend_schema(parameters=[APP_ID, ID]),
)
class DomainViewSet(AppScopedViewSet):
    """Custom hostnames. Add one, publish the TXT record it names, then verify: verified
    domains are routed to the app."""

    required_roles = {
        "list": Role.VIEWER,
        "create": Role.ADMIN,
        "verify": Role.ADMIN,
        "destroy": Role.ADMIN,
    }
    serializer_class = s.DomainOutput
    pagination_class = HostnamePagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from ..models import AppDomain

            return AppDomain.objects.none()
        return selectors.domains_list(app=self.get_app())

    def get_object(self):
        domain = selectors.domain_get(app=self.get_app(), domain_id=self.kwargs["pk"])
        if domain is None:
            raise NotFound("No such domain.")
        return domain

    @extend_schema(
        responses=s.DomainOutput(many=True),
        examples=[OpenApiExample("Domains", value=[DOMAIN_EXAMPLE], response_only=True)],
    )
    def list(self, request, app_pk=None):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.DomainOutput(page, many=True).data)

    @extend_schema(
        request=s.DomainInput,
        responses={201: s.DomainOutput},
        description="A pending claim on a custom hostname. Beyond the tenant's "
        "`custom_domains` limit (pending and verified domains count): 409 quota-exceeded.",
        examples=[
            OpenApiExample("www", value={"hostname": "www.example.com"}, request_only=True),
            OpenApiExample("Added", value=DOMAIN_EXAMPLE, response_only=True,
                           status_codes=["201"]),
        ],
    )  # fmt: skip
    def create(self, request, app_pk=None):
        app = self.get_app()
        data = s.DomainInput(data=request.data)
        data.is_valid(raise_exception=True)
        domain = services.domain_add(
            app=app, tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        return Response(
            s.DomainOutput(domain).data,
            status=201,
            headers={"Location": f"/api/v1/apps/{app.pk}/domains/{domain.pk}"},
        )

    @extend_schema(
        request=None,
        responses=s.DomainOutput,
        description="Look the TXT record up now. The answer says `verified`, or why not in "
        "`last_error`. A verified domain gets its TLS certificate at its first HTTPS request "
        "(`certificate.status` goes from `pending` to `issued`).",
        examples=[OpenApiExample("Verified", response_only=True,
                                 value={**DOMAIN_EXAMPLE, "status": "verified",
                                        "verified_at": T, "last_checked_at": T,
                                        "certificate": {"status": "pending", "issuer": None,
                                                        "not_after": None}})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def verify(self, request, app_pk=None, pk=None):
        domain = services.domain_verify(
            domain=self.get_object(), tenant=self.tenant, actor=self.actor()
        )
        return Response(s.DomainOutput(domain).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, app_pk=None, pk=None):
        services.domain_remove(domain=self.get_object(), tenant=self.tenant, actor=self.actor())
        return Response(status=204)
