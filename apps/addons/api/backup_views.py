"""/api/v1/apps/{app_pk}/addons/{addon_pk}/backups: an add-on's backups, and restores.

Viewers list and show; members take a backup; admins restore (replacing data) and download
(all of the add-on's data, audited). The backups of an add-on that was destroyed (its final
backup) stay listed under its id. Another tenant's app or add-on is 404."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
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

from .. import selectors as addon_selectors
from ..backup_models import Backup, BackupRestore
from ..backups import selectors, services
from . import backup_serializers as s

ADDON_PK = OpenApiParameter(
    "addon_pk", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Add-on id."
)
BACKUP_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Backup.")
RESTORE_ID = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Restore id."
)
T = "2026-01-01T03:00:00Z"
EXAMPLE = {
    "id": "3e0c2b8e-1c9b-4a53-8c55-0b7e2d1f9a10",
    "app_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "addon_id": "7c1f7c2e-3a55-4d0b-9a57-2a3f7d7d0b11",
    "addon_name": "main-db",
    "addon_kind": "postgres",
    "kind": "scheduled",
    "status": "succeeded",
    "size_bytes": 1_048_704,
    "data_bytes": 1_048_576,
    "checksum": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "started_at": T,
    "finished_at": T,
    "error": "",
    "created_at": T,
    "updated_at": T,
}
RESTORE_EXAMPLE = {
    "id": "a7d4c1e2-55b0-4e8f-9c3a-6f1e2d3c4b5a",
    "backup_id": EXAMPLE["id"],
    "target_addon_id": EXAMPLE["addon_id"],
    "into_new": False,
    "status": "queued",
    "started_at": None,
    "finished_at": None,
    "error": "",
    "created_at": T,
    "updated_at": T,
}


def _base(app_pk, addon_pk) -> str:
    return f"/api/v1/apps/{app_pk}/addons/{addon_pk}/backups"


class BackupPagination(CursorPagination):
    ordering = ("-created_at",)


class _AddonScoped(AppScopedViewSet):
    def addon_ref(self) -> str:
        """The add-on id of the path: an add-on of the app, or one that left backups."""
        app, ref = self.get_app(), self.kwargs.get("addon_pk")
        known = addon_selectors.addon_get(app=app, addon_id=ref) is not None
        if not known and not selectors.backups_list(app=app, addon_ref=ref).exists():
            raise NotFound("No such add-on.")
        return ref


@extend_schema_view(
    list=extend_schema(parameters=[APP_ID, ADDON_PK]),
    retrieve=extend_schema(parameters=[APP_ID, ADDON_PK, BACKUP_ID]),
)
class BackupViewSet(_AddonScoped):
    """An add-on's backups, newest first (encrypted at rest; see docs/addons-backups.md)."""

    required_roles = {
        "list": Role.VIEWER,
        "retrieve": Role.VIEWER,
        "create": Role.MEMBER,
        "restore": Role.ADMIN,
        "download": Role.ADMIN,
    }
    serializer_class = s.BackupOutput
    pagination_class = BackupPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Backup.objects.none()
        return selectors.backups_list(app=self.get_app(), addon_ref=self.addon_ref())

    def get_object(self) -> Backup:
        backup = selectors.backup_get(
            app=self.get_app(), addon_ref=self.addon_ref(), backup_id=self.kwargs.get("pk")
        )
        if backup is None:
            raise NotFound("No such backup.")
        return backup

    @extend_schema(
        responses=s.BackupOutput(many=True),
        examples=[OpenApiExample("Backups", response_only=True, value=[EXAMPLE])],
    )
    def list(self, request, app_pk=None, addon_pk=None):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.BackupOutput(page, many=True).data)

    @extend_schema(responses=s.BackupOutput)
    def retrieve(self, request, app_pk=None, addon_pk=None, pk=None):
        return Response(s.BackupOutput(self.get_object()).data)

    @extend_schema(
        request=None,
        responses={202: s.BackupOutput},
        parameters=[APP_ID, ADDON_PK],
        description="Take a backup now (`status` goes from `queued` to `succeeded` or "
        "`failed`; the outbox says which: addon.backup_succeeded / addon.backup_failed).",
        examples=[OpenApiExample("Queued", response_only=True, status_codes=["202"],
                                 value={**EXAMPLE, "kind": "manual", "status": "queued"})],
    )  # fmt: skip
    def create(self, request, app_pk=None, addon_pk=None):
        addon = addon_selectors.addon_get(app=self.get_app(), addon_id=addon_pk)
        if addon is None:
            raise NotFound("No such add-on.")
        backup = services.backup_create(addon=addon, tenant=self.tenant, actor=self.actor())
        return Response(
            s.BackupOutput(backup).data,
            status=status.HTTP_202_ACCEPTED,
            headers={
                "Location": request.build_absolute_uri(f"{_base(app_pk, addon_pk)}/{backup.pk}")
            },
        )

    @extend_schema(
        request=s.RestoreInput,
        responses={202: s.RestoreOutput},
        parameters=[APP_ID, ADDON_PK, BACKUP_ID],
        description="Restore the backup into its add-on (`confirm` is the add-on's name; the "
        "app's processes are stopped meanwhile and started after) or, with `into_new`, into a "
        "new add-on of the app. Follow the restore at `Location`.",
        examples=[
            OpenApiExample("Same add-on", request_only=True, value={"confirm": "main-db"}),
            OpenApiExample("New add-on", request_only=True,
                           value={"into_new": True, "name": "main-db-copy"}),
            OpenApiExample("Queued", response_only=True, status_codes=["202"],
                           value=RESTORE_EXAMPLE),
        ],
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def restore(self, request, app_pk=None, addon_pk=None, pk=None):
        backup = self.get_object()
        data = s.RestoreInput(data=request.data)
        data.is_valid(raise_exception=True)
        restore = services.backup_restore(
            backup=backup, tenant=self.tenant, actor=self.actor(), **data.validated_data
        )
        location = f"/api/v1/apps/{app_pk}/addons/{addon_pk}/restores/{restore.pk}"
        return Response(
            s.RestoreOutput(restore).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": request.build_absolute_uri(location)},
        )

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="The dump: pg_restore's custom format, or a Redis RDB file.",
            )
        },
        parameters=[APP_ID, ADDON_PK, BACKUP_ID],
        description="The backup's data, decrypted as it streams. Audited "
        "(addon.backup_downloaded) every time.",
    )
    @action(detail=True, methods=["get"])
    @not_idempotent
    def download(self, request, app_pk=None, addon_pk=None, pk=None):
        backup = self.get_object()
        chunks = services.backup_download(backup=backup, tenant=self.tenant, actor=self.actor())
        response = StreamingHttpResponse(chunks, content_type="application/octet-stream")
        filename = services.download_filename(backup)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


@extend_schema_view(retrieve=extend_schema(parameters=[APP_ID, ADDON_PK, RESTORE_ID]))
class RestoreViewSet(_AddonScoped):
    """A restore job's status."""

    required_roles = {"retrieve": Role.VIEWER}
    serializer_class = s.RestoreOutput

    def get_queryset(self):
        return BackupRestore.objects.none()

    @extend_schema(
        responses=s.RestoreOutput,
        examples=[OpenApiExample("Done", response_only=True,
                                 value={**RESTORE_EXAMPLE, "status": "succeeded"})],
    )  # fmt: skip
    def retrieve(self, request, app_pk=None, addon_pk=None, pk=None):
        restore = selectors.restore_get(app=self.get_app(), addon_ref=addon_pk, restore_id=pk)
        if restore is None:
            raise NotFound("No such restore.")
        return Response(s.RestoreOutput(restore).data)
