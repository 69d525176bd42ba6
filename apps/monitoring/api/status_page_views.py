"""/api/v1/status-pages…: the tenant's public status pages (the pages themselves are served at
/status/<slug>/ on the root host, apps/monitoring/status_views.py).

Roles: viewers read; members create, change and delete. Another tenant's page (or a malformed
id) is 404."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework.response import Response

from apps.core.api.versioning import VersionedViewMixin, without_version

from .. import selectors, services
from ..models import StatusPage
from . import status_page_serializers as s
from .views import MONITOR_ID, _Base, crud_roles

ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
_T = "2026-11-23T10:00:00.000000Z"
PAGE_EXAMPLE = {
    "id": "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a",
    "slug": "acme",
    "title": "Acme status",
    "description": "Live status of the Acme website and API.",
    "announcement": "Database upgrade on Saturday 02:00-03:00 UTC.",
    "public": True,
    "monitor_ids": [MONITOR_ID],
    "url": "https://quayside.example/status/acme/",
    "version": 1,
    "created_at": _T,
    "updated_at": _T,
}


@extend_schema_view(
    retrieve=extend_schema(parameters=[ID]),
    partial_update=extend_schema(parameters=[ID]),
    destroy=extend_schema(parameters=[ID]),
)
class StatusPageViewSet(VersionedViewMixin, _Base):
    """Public status pages: chosen monitors with their state, 90-day uptime bars, incidents and
    maintenance, at /status/<slug>/ (HTML) and /status/<slug>/json."""

    required_roles = crud_roles()
    serializer_class = s.StatusPageOutput
    model = StatusPage
    list_selector = staticmethod(selectors.status_pages_list)
    get_selector = staticmethod(selectors.status_page_get)
    not_found = "No such status page."

    def _out(self, page: StatusPage, status: int = 200, **kwargs) -> Response:
        # Re-read with the monitor ids prefetched (one query) after a write.
        page = selectors.status_page_get(page.pk)
        return Response(s.StatusPageOutput(page).data, status=status, **kwargs)

    @extend_schema(
        responses=s.StatusPageOutput(many=True),
        parameters=[
            OpenApiParameter("public", bool, description="Only public (true) or private pages."),
            OpenApiParameter("q", str, description="In the title or slug."),
        ],
        examples=[OpenApiExample("Status pages", value=[PAGE_EXAMPLE], response_only=True)],
    )
    def list(self, request):
        params = request.query_params
        public = params.get("public")
        filters = {
            "public": None if public is None else public.lower() in ("1", "true", "yes"),
            "q": params.get("q"),
        }
        page = self.paginate_queryset(selectors.status_pages_list(filters=filters))
        return self.get_paginated_response(s.StatusPageOutput(page, many=True).data)

    @extend_schema(
        request=s.StatusPageCreateInput,
        responses={201: s.StatusPageOutput},
        examples=[
            OpenApiExample(
                "Page",
                value={"slug": "acme", "title": "Acme status", "monitor_ids": [MONITOR_ID],
                       "announcement": "Database upgrade on Saturday 02:00-03:00 UTC."},
                request_only=True,
            ),
            OpenApiExample("Created", value=PAGE_EXAMPLE, response_only=True,
                           status_codes=["201"]),
        ],
    )  # fmt: skip
    def create(self, request):
        data = s.StatusPageCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        page = services.status_page_create(
            tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        return self._out(page, 201, headers={"Location": f"/api/v1/status-pages/{page.pk}"})

    @extend_schema(
        responses=s.StatusPageOutput,
        examples=[OpenApiExample("Page", value=PAGE_EXAMPLE, response_only=True)],
    )
    def retrieve(self, request, pk=None):
        return Response(s.StatusPageOutput(self.get_object()).data)

    @extend_schema(
        request=s.StatusPageUpdateInput,
        responses=s.StatusPageOutput,
        examples=[
            OpenApiExample(
                "Announce", value={"announcement": "Investigating slow logins."},
                request_only=True,
            ),
            OpenApiExample("Updated", value=PAGE_EXAMPLE, response_only=True),
        ],
    )  # fmt: skip
    def partial_update(self, request, pk=None):
        page = self.get_object()
        data = s.StatusPageUpdateInput(data=without_version(request.data))
        data.is_valid(raise_exception=True)
        page = services.status_page_update(
            page=page,
            tenant=self.tenant,
            actor=self.actor(),
            expected_version=self.expected_version(),
            **data.validated_data,
        )
        return self._out(page)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.status_page_delete(
            page=self.get_object(),
            tenant=self.tenant,
            actor=self.actor(),
            expected_version=self.expected_version(),
        )
        return Response(status=204)
