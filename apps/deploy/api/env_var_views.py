"""/api/v1/apps/{app_pk}/env-vars: an app's env vars (names in lists), changing them (a new
release) and revealing one value (audited)."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.core.api.pagination import CursorPagination
from apps.core.api.views import not_idempotent
from apps.tenants.models import Role

from .. import selectors, services
from . import serializers as s
from .base import APP_ID, AppScopedViewSet
from .examples import DEPLOYMENT_EXAMPLE, RELEASE_EXAMPLE, T


class KeyPagination(CursorPagination):
    ordering = ("key",)


@extend_schema_view(
    list=extend_schema(parameters=[APP_ID]),
    reveal=extend_schema(parameters=[APP_ID, OpenApiParameter("key", str, OpenApiParameter.PATH)]),
)
class EnvVarViewSet(AppScopedViewSet):
    """An app's env vars: names only in lists; values are encrypted at rest."""

    required_roles = {"list": Role.VIEWER, "bulk_update": Role.ADMIN, "reveal": Role.ADMIN}
    serializer_class = s.EnvVarOutput
    pagination_class = KeyPagination
    lookup_field = "key"
    lookup_value_regex = "[A-Za-z_][A-Za-z0-9_]*"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from ..models import EnvVar

            return EnvVar.objects.none()
        return selectors.env_vars_list(app=self.get_app())

    @extend_schema(
        responses=s.EnvVarOutput(many=True),
        examples=[OpenApiExample("Names", response_only=True,
                                 value=[{"key": "DATABASE_URL", "created_at": T,
                                         "updated_at": T}])],
    )  # fmt: skip
    def list(self, request, app_pk=None):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.EnvVarOutput(page, many=True).data)

    @extend_schema(
        request=s.EnvVarsUpdateInput,
        responses=s.EnvVarsUpdateOutput,
        parameters=[APP_ID],
        description="Set and unset variables in one go: a new release, deployed at once unless "
        "`restart` is false.",
        examples=[
            OpenApiExample("Set one, unset one", request_only=True,
                           value={"vars": {"SECRET_KEY": "s3cr3t", "OLD_FLAG": None},
                                  "restart": True}),
            OpenApiExample("New release", response_only=True,
                           value={"release": {**RELEASE_EXAMPLE, "version": 4,
                                              "status": "pending",
                                              "description": "Set SECRET_KEY; Unset OLD_FLAG"},
                                  "deployment": {**DEPLOYMENT_EXAMPLE, "kind": "config"}}),
        ],
    )  # fmt: skip
    def bulk_update(self, request, app_pk=None):
        app = self.get_app()
        data = s.EnvVarsUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        release, deployment = services.env_vars_update(
            app=app,
            tenant=self.tenant,
            actor=self.actor(),
            changes=data.validated_data["vars"],
            restart=data.validated_data["restart"],
        )
        release.app = app
        return Response(
            {
                "release": s.ReleaseOutput(release).data,
                "deployment": s.DeploymentOutput(deployment).data if deployment else None,
            }
        )

    @extend_schema(
        request=None,
        responses=s.EnvVarRevealOutput,
        description="The value of one variable. Audited (env_var.revealed), every time: an "
        "`Idempotency-Key` is ignored here (nothing is replayed, the value is not kept).",
        examples=[OpenApiExample("Value", response_only=True,
                                 value={"key": "SECRET_KEY", "value": "s3cr3t"})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    @not_idempotent
    def reveal(self, request, app_pk=None, key=None):
        value = services.env_var_reveal(
            app=self.get_app(), key=key, tenant=self.tenant, actor=self.actor()
        )
        return Response({"key": key, "value": value})
