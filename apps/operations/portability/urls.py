"""/api/v1/export and /api/v1/import (apps/operations/portability/api.py)."""

from django.urls import re_path

from .api import ConfigExportViewSet, ConfigImportViewSet

urlpatterns = [
    re_path(
        r"^export/?$",
        ConfigExportViewSet.as_view({"get": "retrieve", "post": "create"}),
        name="config-export",
    ),
    re_path(r"^import/?$", ConfigImportViewSet.as_view({"post": "create"}), name="config-import"),
]
