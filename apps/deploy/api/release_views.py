"""/api/v1/apps/{app_pk}/releases: an app's releases, and rolling back to one."""

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
from .examples import DEPLOYMENT_EXAMPLE, RELEASE_EXAMPLE


class ReleasePagination(CursorPagination):
    ordering = ("-version",)


@extend_schema_view(
    list=extend_schema(parameters=[APP_ID]),
    retrieve=extend_schema(parameters=[APP_ID, ID]),
    rollback=extend_schema(parameters=[APP_ID, ID]),
)
class ReleaseViewSet(AppScopedViewSet):
    """An app's releases, newest first: immutable build + config snapshots, v1, v2, …"""

    required_roles = {"list": Role.VIEWER, "retrieve": Role.VIEWER, "rollback": Role.MEMBER}
    serializer_class = s.ReleaseOutput
    pagination_class = ReleasePagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            from ..models import Release

            return Release.objects.none()
        return selectors.releases_list(app=self.get_app()).select_related("app", "rollback_of")

    def get_object(self):
        release = selectors.release_get(app=self.get_app(), release_id=self.kwargs["pk"])
        if release is None:
            raise NotFound("No such release.")
        return release

    @extend_schema(
        responses=s.ReleaseOutput(many=True),
        examples=[OpenApiExample("Releases", value=[RELEASE_EXAMPLE], response_only=True)],
    )
    def list(self, request, app_pk=None):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.ReleaseOutput(page, many=True).data)

    @extend_schema(
        responses=s.ReleaseOutput,
        examples=[OpenApiExample("Release", value=RELEASE_EXAMPLE, response_only=True)],
    )
    def retrieve(self, request, app_pk=None, pk=None):
        return Response(s.ReleaseOutput(self.get_object()).data)

    @extend_schema(
        request=None,
        responses={202: s.DeploymentOutput},
        description="Make a new release with this release's build and config and deploy it.",
        examples=[OpenApiExample("Queued", response_only=True, status_codes=["202"],
                                 value={**DEPLOYMENT_EXAMPLE, "kind": "rollback"})],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def rollback(self, request, app_pk=None, pk=None):
        deployment = services.release_rollback(
            app=self.get_app(), release=self.get_object(), tenant=self.tenant, actor=self.actor()
        )
        return Response(
            s.DeploymentOutput(deployment).data,
            status=202,
            headers={"Location": f"/api/v1/apps/{deployment.app_id}/deployments/{deployment.pk}"},
        )
