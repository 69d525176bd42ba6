"""Add-ons in the operator console (root host, inside the tenant the operator picks:
TenantScopedAdminMixin) and the base the tenant console reuses. Read-only pages; actions call
the services (audited there): re-check sizes, rotate credentials, retry a failed provisioning."""

from __future__ import annotations

from django.contrib import admin, messages
from unfold.admin import ModelAdmin

from apps.core.actor import Actor
from apps.core.admin_mixins import ReadOnlyMixin
from apps.core.problems import ApplicationError
from apps.deploy.services import current_tenant
from apps.tenants.admin_mixins import TenantScopedAdminMixin

from . import services
from .models import Addon, AddonStatus


def _each(modeladmin, request, queryset, label: str, call) -> None:
    for addon in queryset:
        try:
            result = call(addon)
        except (ApplicationError, Exception) as exc:
            detail = getattr(exc, "detail", None) or str(exc)
            modeladmin.message_user(request, f"{addon.name}: {detail}", messages.ERROR)
            continue
        modeladmin.message_user(request, f"{addon.name}: {label} {result or ''}", messages.SUCCESS)


class AddonAdminBase(ReadOnlyMixin, ModelAdmin):
    list_display = ("name", "kind", "app", "status", "attached", "env_var", "size", "read_only")
    list_filter = ("kind", "status", "attached", "read_only")
    search_fields = ("name", "db_name", "app__name")
    fields = (
        "name", "kind", "app", "status", "status_detail", "attached", "env_var", "server",
        "size_mb", "size_used_bytes", "size_checked_at", "read_only", "warned_at",
        "db_name", "role_name", "socket_path", "credentials", "credentials_version",
        "created_at", "updated_at",
    )  # fmt: skip
    readonly_fields = ("credentials",)
    actions = ("check_size", "rotate", "retry_provisioning")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("app")

    @admin.display(description="Credentials")
    def credentials(self, addon: Addon) -> str:
        return "stored (encrypted, not shown)" if addon.credentials_encrypted else "none"

    @admin.display(description="Size")
    def size(self, addon: Addon) -> str:
        used = "?" if addon.size_used_bytes is None else f"{addon.size_used_bytes / 2**20:.1f}"
        return f"{used} / {addon.size_mb} MB"

    @admin.action(description="Measure and hold to the plan's size")
    def check_size(self, request, queryset):
        tenant = current_tenant()

        def check(addon: Addon) -> int | None:
            return services.addon_size_check(addon=addon, tenant=tenant).size_used_bytes

        _each(self, request, queryset, "checked", check)

    @admin.action(description="Rotate credentials (redeploys the app)")
    def rotate(self, request, queryset):
        tenant, actor = current_tenant(), Actor.from_request(request)
        _each(self, request, queryset, "rotated to version",
              lambda a: services.addon_rotate(addon=a, tenant=tenant,
                                              actor=actor)[0].credentials_version)  # fmt: skip

    @admin.action(description="Retry provisioning (failed add-ons)")
    def retry_provisioning(self, request, queryset):
        tenant = current_tenant()

        def retry(addon: Addon) -> str:
            if addon.status == AddonStatus.FAILED:
                Addon.objects.filter(pk=addon.pk).update(status=AddonStatus.PROVISIONING)
                return services.addon_provision(addon_id=addon.pk, tenant=tenant).status
            return addon.status

        _each(self, request, queryset, "now", retry)


@admin.register(Addon)
class AddonAdmin(TenantScopedAdminMixin, AddonAdminBase):
    pass
