"""/api/v1/apps/{app_pk}/addons: an app's add-ons (PostgreSQL, Redis).

Roles as for env vars: viewers list and show; admins create, reveal the URL (audited), rotate,
attach, detach, destroy and open one-off sessions. Another tenant's app or add-on is 404."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.core.api.pagination import CursorPagination
from apps.core.api.views import not_idempotent
from apps.deploy.api.base import APP_ID, AppScopedViewSet
from apps.tenants.models import Role

from .. import selectors, services
from ..models import Addon
from . import serializers as s

ADDON_ID = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Add-on id."
)
T = "2026-01-01T12:00:00Z"
EXAMPLE = {
    "id": "7c1f7c2e-3a55-4d0b-9a57-2a3f7d7d0b11",
    "app_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "kind": "postgres",
    "name": "main-db",
    "status": "available",
    "status_detail": "",
    "env_var": "DATABASE_URL",
    "attached": True,
    "size_mb": 1024,
    "size_used_bytes": 7_800_000,
    "size_checked_at": T,
    "read_only": False,
    "server": "local",
    "credentials_version": 1,
    "created_at": T,
    "updated_at": T,
}
DEPLOYMENT_ID = "5b1f5f0e-8d6c-4f57-9a9a-1c2b3d4e5f60"


class AddonPagination(CursorPagination):
    ordering = ("created_at",)


def _change(addon, deployment) -> dict:
    return {
        "addon": s.AddonOutput(addon).data,
        "deployment_id": str(deployment.pk) if deployment else None,
    }


@extend_schema_view(
    list=extend_schema(parameters=[APP_ID]),
    retrieve=extend_schema(parameters=[APP_ID, ADDON_ID]),
)
class AddonViewSet(AppScopedViewSet):
    """An app's add-ons; a database's credentials are shown only by `reveal`."""

    required_roles = {
        "list": Role.VIEWER,
        "retrieve": Role.VIEWER,
        "create": Role.ADMIN,
        "destroy": Role.ADMIN,
        "reveal": Role.ADMIN,
        "rotate": Role.ADMIN,
        "attach": Role.ADMIN,
        "detach": Role.ADMIN,
        "sessions": Role.ADMIN,
    }
    serializer_class = s.AddonOutput
    pagination_class = AddonPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Addon.objects.none()
        return selectors.addons_list(app=self.get_app())

    def get_object(self) -> Addon:
        addon = selectors.addon_get(app=self.get_app(), addon_id=self.kwargs.get("pk"))
        if addon is None:
            raise NotFound("No such add-on.")
        return addon

    @extend_schema(
        responses=s.AddonOutput(many=True),
        examples=[OpenApiExample("Add-ons", response_only=True, value=[EXAMPLE])],
    )
    def list(self, request, app_pk=None):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.AddonOutput(page, many=True).data)

    @extend_schema(responses=s.AddonOutput)
    def retrieve(self, request, app_pk=None, pk=None):
        return Response(s.AddonOutput(self.get_object()).data)

    @extend_schema(
        request=s.AddonCreateInput,
        responses={202: s.AddonOutput},
        parameters=[APP_ID],
        description="A new add-on, provisioned in the background (`status` goes from "
        "`provisioning` to `available`); then its URL is set on the app as `env_var` "
        "(DATABASE_URL or REDIS_URL by default) and the app is deployed.",
        examples=[
            OpenApiExample("PostgreSQL", request_only=True,
                           value={"kind": "postgres", "name": "main-db"}),
            OpenApiExample("Provisioning", response_only=True, status_codes=["202"],
                           value={**EXAMPLE, "status": "provisioning"}),
        ],
    )  # fmt: skip
    def create(self, request, app_pk=None):
        data = s.AddonCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        addon = services.addon_create(
            app=self.get_app(), tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        return Response(s.AddonOutput(addon).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=s.AddonDestroyInput,
        responses={202: s.AddonOutput},
        parameters=[APP_ID, ADDON_ID],
        description="Detach and delete the add-on and its data; `confirm` is its name.",
        examples=[OpenApiExample("Confirm", request_only=True, value={"confirm": "main-db"})],
    )
    def destroy(self, request, app_pk=None, pk=None):
        addon = self.get_object()
        data = s.AddonDestroyInput(data=request.data)
        data.is_valid(raise_exception=True)
        addon = services.addon_destroy(
            addon=addon,
            tenant=self.tenant,
            actor=self.actor(),
            confirm=data.validated_data["confirm"],
        )
        return Response(s.AddonOutput(addon).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses=s.AddonRevealOutput,
        parameters=[APP_ID, ADDON_ID],
        description="The connection URL as the app sees it. Audited (addon.revealed) every time.",
        examples=[OpenApiExample("URL", response_only=True, value={
            "env_var": "DATABASE_URL",
            "url": "postgresql://a_7c1f_1:secret@/a_7c1f?host=/run/addons/postgres"})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    @not_idempotent
    def reveal(self, request, app_pk=None, pk=None):
        addon = self.get_object()
        url = services.addon_reveal(addon=addon, tenant=self.tenant, actor=self.actor())
        return Response({"env_var": addon.env_var, "url": url})

    @extend_schema(
        request=None,
        responses=s.AddonChangeOutput,
        parameters=[APP_ID, ADDON_ID],
        description="New credentials: the app is deployed with them, and the old ones stop "
        "working once that deployment is over.",
        examples=[OpenApiExample("Rotated", response_only=True,
                                 value={"addon": {**EXAMPLE, "credentials_version": 2},
                                        "deployment_id": DEPLOYMENT_ID})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def rotate(self, request, app_pk=None, pk=None):
        addon, deployment = services.addon_rotate(
            addon=self.get_object(), tenant=self.tenant, actor=self.actor()
        )
        return Response(_change(addon, deployment))

    @extend_schema(
        request=None,
        responses=s.AddonChangeOutput,
        parameters=[APP_ID, ADDON_ID],
        description="Unset the add-on's env var on the app (a deployment); the data stays.",
        examples=[OpenApiExample("Detached", response_only=True,
                                 value={"addon": {**EXAMPLE, "attached": False},
                                        "deployment_id": DEPLOYMENT_ID})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def detach(self, request, app_pk=None, pk=None):
        addon, deployment = services.addon_detach(
            addon=self.get_object(), tenant=self.tenant, actor=self.actor()
        )
        return Response(_change(addon, deployment))

    @extend_schema(
        request=s.AddonAttachInput,
        responses=s.AddonChangeOutput,
        parameters=[APP_ID, ADDON_ID],
        description="Set a detached add-on's URL on the app again (as `env_var`, default the "
        "one it had).",
        examples=[OpenApiExample("Attached", response_only=True,
                                 value={"addon": EXAMPLE, "deployment_id": DEPLOYMENT_ID})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def attach(self, request, app_pk=None, pk=None):
        data = s.AddonAttachInput(data=request.data)
        data.is_valid(raise_exception=True)
        addon, deployment = services.addon_attach(
            addon=self.get_object(), tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        return Response(_change(addon, deployment))

    @extend_schema(
        request=s.SessionInput,
        responses={201: s.SessionOutput},
        parameters=[APP_ID, ADDON_ID],
        description="Credentials for a one-off session (psql) that expire after `minutes` "
        "(default ADDONS_SESSION_MINUTES), and the server's PostgreSQL version. Audited.",
        examples=[OpenApiExample("Session", response_only=True, status_codes=["201"], value={
            "url": "postgresql://a_7c1f_s1a2b:secret@/a_7c1f?host=/run/addons/postgres",
            "user": "a_7c1f_s1a2b", "expires_at": T, "server_version": "15.14"})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    @not_idempotent
    def sessions(self, request, app_pk=None, pk=None):
        data = s.SessionInput(data=request.data)
        data.is_valid(raise_exception=True)
        session = services.addon_session_create(
            addon=self.get_object(), tenant=self.tenant, actor=self.actor(),
            minutes=data.validated_data["minutes"],
        )  # fmt: skip
        return Response(s.SessionOutput(session).data, status=status.HTTP_201_CREATED)
