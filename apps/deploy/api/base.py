"""What every deploy viewset shares: the tenant-scoped base (apps/tenants/api/base.py) with
deploy's actor, and the base of the views nested under one app (`/api/v1/apps/{app_pk}/…`)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound

from apps.tenants.api.base import TenantScopedViewSet

from .. import selectors
from ..models import App

APP_ID = OpenApiParameter("app_pk", OpenApiTypes.UUID, OpenApiParameter.PATH, description="App id.")
ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class DeployViewSet(TenantScopedViewSet):
    lookup_value_regex = "[^/]+"  # a malformed id is 404, like an unknown one

    def context(self) -> dict:
        return {"request": self.request}


class AppScopedViewSet(DeployViewSet):
    def get_app(self) -> App:
        if not hasattr(self, "_app"):
            app = selectors.app_get(self.kwargs.get("app_pk"))
            if app is None:
                raise NotFound("No such app.")
            self._app = app
        return self._app
