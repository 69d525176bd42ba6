from django import forms
from django.contrib import admin, messages
from unfold.admin import ModelAdmin, TabularInline

from apps.core.problems import ApplicationError

from . import services
from .models import Domain, Membership, SchemaTemplate, Tenant


class TenantAddForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = ("name", "slug")

    def clean_slug(self) -> str:
        try:
            return services.tenant_slug_validate(self.cleaned_data["slug"])
        except ApplicationError as exc:
            raise forms.ValidationError(exc.detail) from exc


class DomainInline(TabularInline):
    model = Domain
    extra = 0
    fields = ("domain", "is_primary")


class MembershipInline(TabularInline):
    model = Membership
    extra = 0
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    raw_id_fields = ("user",)


@admin.register(Tenant)
class TenantAdmin(ModelAdmin):
    list_display = ("name", "slug", "status", "schema_name", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "slug", "schema_name")
    readonly_fields = ("schema_name", "status", "created_at", "updated_at")
    inlines = (DomainInline, MembershipInline)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TenantAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": ("name", "slug")}),)
        return super().get_fieldsets(request, obj)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def get_readonly_fields(self, request, obj=None):
        return ("slug", *self.readonly_fields) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        try:
            created = services.tenant_create(
                name=form.cleaned_data["name"], slug=form.cleaned_data["slug"], actor=request.user
            )
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            raise
        # The admin goes on with `obj` (log entry, redirect): make it the created tenant.
        obj.__dict__.update(created.__dict__)


@admin.register(Domain)
class DomainAdmin(ModelAdmin):
    list_display = ("domain", "tenant", "is_primary", "created_at")
    search_fields = ("domain", "tenant__slug")
    list_select_related = ("tenant",)
    raw_id_fields = ("tenant",)


@admin.register(SchemaTemplate)
class SchemaTemplateAdmin(ModelAdmin):
    list_display = ("fingerprint", "migration_count", "created_at")
    readonly_fields = ("fingerprint", "migration_count", "created_at", "sql")

    def has_add_permission(self, request) -> bool:
        return False
