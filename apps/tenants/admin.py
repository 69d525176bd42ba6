from django import forms
from django.contrib import admin, messages
from unfold.admin import ModelAdmin, TabularInline

from apps.core.actor import Actor
from apps.core.admin_actions import apply_each
from apps.core.problems import ApplicationError

from . import admin_links, selectors, services
from .models import Domain, Invitation, Membership, Role, SchemaTemplate, Tenant


class TenantAddForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = ("name", "slug")

    def clean_slug(self) -> str:
        try:
            return services.tenant_slug_validate(self.cleaned_data["slug"])
        except ApplicationError as exc:
            raise forms.ValidationError(exc.detail) from exc


class TenantChangeForm(forms.ModelForm):
    """Name and quota overrides; saved through tenant_rename and
    tenant_entitlement_overrides_update (audited), never by the admin directly."""

    entitlement_overrides = forms.JSONField(
        required=False,
        help_text='Limits that replace the plan\'s for this tenant, e.g. {"users": 50}. '
        "Remove a key to fall back to the plan.",
    )
    override_reason = forms.CharField(
        required=False, max_length=200, help_text="Why (kept in the audit log)."
    )

    class Meta:
        model = Tenant
        fields = ("name", "entitlement_overrides")

    def clean_entitlement_overrides(self):
        value = self.cleaned_data.get("entitlement_overrides") or {}
        if not isinstance(value, dict):
            raise forms.ValidationError('Use a JSON object such as {"users": 50}.')
        return value


class LabelledTabularInline(TabularInline):
    """A table's cells have the column header, not a <label>: each input gets an aria-label
    (the field's name), so screen readers (and axe) know what it is."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None:
            field.widget.attrs.setdefault("aria-label", str(db_field.verbose_name).capitalize())
        return field


class DomainInline(LabelledTabularInline):
    model = Domain
    extra = 0
    fields = ("domain", "is_primary")


class MembershipInline(LabelledTabularInline):
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
    readonly_fields = (
        "schema_name",
        "status",
        "suspended_at",
        "suspension_reason",
        "deleted_at",
        "purged_at",
        "entitlements",
        "created_at",
        "updated_at",
    )
    inlines = (DomainInline, MembershipInline)
    actions = ("suspend_selected", "resume_selected", "delete_softly")
    # Above the form: links to every page of this tenant's things (apps/tenants/admin_links.py).
    change_form_before_template = "admin/tenants/tenant_links.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        tenant = self.get_object(request, object_id)
        if tenant is not None:
            links = admin_links.tenant_links(tenant, request, self.admin_site)
            extra_context = {
                **(extra_context or {}),
                "tenant_links": links,
                "tenant_links_schema": [link for link in links if link.group == "schema"],
                "tenant_links_account": [link for link in links if link.group == "account"],
                "tenant_console_url": selectors.tenant_url(tenant, "/console/"),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = TenantAddForm if obj is None else TenantChangeForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": ("name", "slug")}),)
        return (
            (None, {"fields": ("name", "slug", "schema_name", "status")}),
            ("Quotas", {"fields": ("entitlements", "entitlement_overrides", "override_reason")}),
            (
                "Lifecycle",
                {
                    "fields": (
                        "suspended_at",
                        "suspension_reason",
                        "deleted_at",
                        "purged_at",
                        "created_at",
                        "updated_at",
                    )
                },
            ),
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # tenants are deleted softly (action below) and purged later

    @admin.action(description="Delete the selected tenants (soft; purged after the grace period)")
    def delete_softly(self, request, queryset):
        self._each(request, queryset, "deleted", services.tenant_delete, role=Role.OWNER)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def get_readonly_fields(self, request, obj=None):
        return ("slug", *self.readonly_fields) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            return self._save_change(request, obj, form)
        try:
            created = services.tenant_create(
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
                actor=Actor.from_request(request),
            )
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            raise
        # The admin goes on with `obj` (log entry, redirect): make it the created tenant.
        obj.__dict__.update(created.__dict__)

    def _save_change(self, request, obj, form) -> None:
        current = Tenant.objects.get(pk=obj.pk)
        try:
            if form.cleaned_data["name"] != current.name:
                services.tenant_rename(
                    tenant=current,
                    name=form.cleaned_data["name"],
                    actor=Actor.from_request(request, role=Role.OWNER),
                )
            wanted = form.cleaned_data["entitlement_overrides"]
            before = current.entitlement_overrides or {}
            changes = {**{name: None for name in before if name not in wanted}, **wanted}
            services.tenant_entitlement_overrides_update(
                tenant=current,
                changes=changes,
                reason=form.cleaned_data.get("override_reason", ""),
                actor=Actor.from_request(request),
            )
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
        obj.refresh_from_db()

    @admin.action(description="Suspend the selected tenants (reads only)")
    def suspend_selected(self, request, queryset):
        self._each(request, queryset, "suspended", services.tenant_suspend, reason="By operator")

    @admin.action(description="Resume the selected tenants")
    def resume_selected(self, request, queryset):
        self._each(request, queryset, "resumed", services.tenant_resume)

    def _each(self, request, queryset, done: str, service, role=None, **kwargs) -> None:
        actor = Actor.from_request(request, role=role)
        apply_each(
            self,
            request,
            queryset,
            call=lambda tenant: service(tenant=tenant, actor=actor, **kwargs),
            label=lambda tenant: tenant.slug,
            done=f"tenant(s) {done}",
        )


@admin.register(Invitation)
class InvitationAdmin(ModelAdmin):
    """Read-only: invitations are made, resent and accepted through the API (services)."""

    list_display = ("email", "tenant", "role", "status", "expires_at", "invited_by", "created_at")
    list_filter = ("status", "role")
    search_fields = ("email", "tenant__slug")
    list_select_related = ("tenant", "invited_by")
    raw_id_fields = ("tenant", "invited_by", "accepted_by")
    exclude = ("token_hash", "token_nonce", "mailed_token_hash")
    actions = ("revoke_selected",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Revoke the selected invitations")
    def revoke_selected(self, request, queryset):
        apply_each(
            self,
            request,
            queryset.select_related("tenant"),
            call=lambda invitation: services.invitation_revoke(
                invitation=invitation, actor=Actor.from_request(request, role=Role.OWNER)
            ),
            label=lambda invitation: invitation.email,
            done="invitation(s) revoked",
        )


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
