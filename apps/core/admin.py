from django.contrib import admin
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import FieldTextFilter, RangeDateTimeFilter

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ModelAdmin):
    list_display = ("created_at", "action", "severity", "actor_label", "tenant_label", "target")
    list_filter = [
        ("tenant_label", FieldTextFilter),
        ("actor_label", FieldTextFilter),
        ("action", FieldTextFilter),
        "severity",
        ("created_at", RangeDateTimeFilter),
    ]
    list_filter_submit = True
    search_fields = ("action", "actor_label", "tenant_label", "target_id", "request_id")
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="Target")
    def target(self, obj: AuditEvent) -> str:
        return f"{obj.target_type} {obj.target_id}".strip()

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
