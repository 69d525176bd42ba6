from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from apps.core.actor import Actor
from apps.core.admin_actions import apply_each
from apps.core.problems import ApplicationError

from . import selectors, services
from .models import ApiKey, ApiKeyStatus, User


@admin.register(User)
class UserAdmin(BaseUserAdmin, ModelAdmin):
    """Operators find, deactivate, promote and delete users. Those changes go through services
    (audited); deleting someone who owns tenants first asks for each tenant's next owner."""

    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ("email", "username", "is_staff", "is_active", "last_login", "date_joined")
    list_filter = ("is_staff", "is_active", "is_superuser")
    search_fields = ("email", "username", "first_name", "last_name")
    ordering = ("-date_joined",)
    actions = ("deactivate", "reactivate", "make_staff", "revoke_staff")
    delete_template = "admin/accounts/user/delete_preflight.html"

    def get_readonly_fields(self, request, obj=None):
        # Status flags change through the actions above, so that each change is audited.
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "is_active", "is_staff", "last_login", "date_joined") if obj else fields

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one by one, through the preflight below
        return actions

    def _each(self, request, queryset, done: str, call) -> None:
        apply_each(
            self, request, queryset, call=call, label=lambda u: u.email, done=f"user(s) {done}"
        )

    @admin.action(description="Deactivate the selected users")
    def deactivate(self, request, queryset):
        self._each(
            request,
            queryset,
            "deactivated",
            lambda u: services.user_active_set(
                user=u, active=False, actor=Actor.from_request(request)
            ),
        )

    @admin.action(description="Reactivate the selected users")
    def reactivate(self, request, queryset):
        self._each(
            request,
            queryset,
            "reactivated",
            lambda u: services.user_active_set(
                user=u, active=True, actor=Actor.from_request(request)
            ),
        )

    @admin.action(description="Make the selected users operators (staff)")
    def make_staff(self, request, queryset):
        self._each(
            request,
            queryset,
            "made operators",
            lambda u: services.user_staff_set(
                user=u, staff=True, actor=Actor.from_request(request)
            ),
        )

    @admin.action(description="Take operator rights from the selected users")
    def revoke_staff(self, request, queryset):
        self._each(
            request,
            queryset,
            "are no longer operators",
            lambda u: services.user_staff_set(
                user=u, staff=False, actor=Actor.from_request(request)
            ),
        )

    def delete_view(self, request, object_id, extra_context=None):
        user = self.get_object(request, unquote(object_id))
        if user is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_delete_permission(request, user):
            raise PermissionDenied
        owned = list(selectors.user_owned_tenants(user=user))
        if request.method == "POST":
            successors = {str(t.pk): request.POST.get(f"successor_{t.pk}", "") for t in owned}
            try:
                services.user_delete(
                    user=user, successors=successors, actor=Actor.from_request(request)
                )
            except ApplicationError as exc:
                self.message_user(request, exc.detail, messages.ERROR)
            else:
                self.message_user(request, f"{user.email} was deleted.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:accounts_user_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Delete {user.email}",
            "opts": self.opts,
            "object": user,
            "owned_tenants": owned,
            "delete_tenant": services.DELETE_TENANT,
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.delete_template, context)


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return ApiKeyStatus.choices

    def queryset(self, request, queryset):
        if self.value() in ApiKeyStatus.values:
            return queryset.filter(selectors.api_key_status_q(self.value()))
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(ModelAdmin):
    """Operators see and revoke keys; keys are made by tenants through the API (the raw key is
    shown to its maker only), so there is no add, edit or delete here."""

    list_display = (
        "name",
        "tenant",
        "prefix",
        "last8",
        "authority",
        "status_label",
        "last_used_at",
        "expires_at",
        "created_at",
    )
    list_filter = (ApiKeyStatusFilter, "authority", "created_at")
    list_select_related = ("tenant", "created_by")
    search_fields = ("prefix", "name", "tenant__slug")
    ordering = ("-created_at",)
    show_full_result_count = False
    fields = (
        "name",
        "tenant",
        "authority",
        "prefix",
        "last8",
        "created_by",
        "created_at",
        "updated_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "allowed_operations",
    )
    readonly_fields = fields
    actions = ("revoke_selected",)

    @admin.display(description="Status")
    def status_label(self, obj: ApiKey) -> str:
        return obj.status

    @admin.action(description="Revoke selected API keys", permissions=("revoke",))
    def revoke_selected(self, request, queryset: QuerySet[ApiKey]) -> None:
        revoked = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            services.api_key_revoke(api_key=api_key, actor=Actor.from_request(request))
            revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("accounts.change_apikey")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
