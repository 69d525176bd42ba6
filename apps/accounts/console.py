"""The team pages of the tenant console (/console/team/ on the tenant's host; journey 9 of
docs/console.md): members and invitations (console_team.py), API keys (console_keys.py); the
webhooks app adds its endpoints to the same section. The API key model admin stays for its
filters and old links, out of the sidebar: the team page is where keys are made and revoked.

Admins and owners create and revoke their tenant's keys; the raw key is shown once, on the
page after creation."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from apps.core import operation_names
from apps.core.actor import Actor
from apps.tenants.console import ConsoleModelAdmin, ConsolePage, console_site
from apps.tenants.models import Role
from apps.tenants.roles import role_at_least

from . import console_keys, console_team, services
from .models import ApiKey, ApiKeyAuthority


class ApiKeyForm(forms.ModelForm):
    authority = forms.ChoiceField(choices=ApiKeyAuthority.choices)
    operations = forms.CharField(
        label="Allowed operations",
        required=False,
        max_length=5000,
        help_text=(
            "An agent key: the operations it may run (e.g. app.list app.deploy), separated by "
            "spaces or commas; every other endpoint refuses it. Empty: no restriction."
        ),
    )

    class Meta:
        model = ApiKey
        fields = ("name", "authority", "expires_at")

    def clean_expires_at(self):
        value = self.cleaned_data.get("expires_at")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future.")
        return value

    def clean_operations(self) -> list[str]:
        names = self.cleaned_data["operations"].replace(",", " ").split()
        unknown = operation_names.unknown(names)
        if unknown:
            raise forms.ValidationError(f"Unknown operations: {', '.join(unknown)}.")
        return names


@admin.register(ApiKey, site=console_site)
class ApiKeyConsoleAdmin(ConsoleModelAdmin):
    list_display = (
        "name",
        "prefix",
        "last8",
        "authority",
        "status",
        "last_used_at",
        "expires_at",
    )
    list_filter = ("authority",)
    search_fields = ("name", "prefix")
    form = ApiKeyForm
    actions = ("revoke_selected",)

    def has_module_permission(self, request) -> bool:
        return False  # in the sidebar as Team > API keys (console_keys.py)

    def has_view_permission(self, request, obj=None) -> bool:
        """Admins and the owner, as in the API and on the team page (a member or viewer who
        opens this list's old address gets 403)."""
        return role_at_least(self.role(request), Role.ADMIN) and super().has_view_permission(
            request, obj
        )

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # keys are revoked, never edited

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        made: list[tuple[ApiKey, str]] = []
        ok = self.run_service(
            request,
            form.cleaned_data["name"],
            lambda: made.append(
                services.api_key_create(
                    tenant=request.tenant,
                    name=form.cleaned_data["name"],
                    authority=form.cleaned_data["authority"],
                    expires_at=form.cleaned_data.get("expires_at"),
                    allowed_operations=form.cleaned_data.get("operations") or [],
                    actor=Actor.from_request(request, role=self.role(request)),
                )
            ),
        )
        if ok:
            key, raw = made[0]
            obj.__dict__.update(key.__dict__)
            request._console_secret = raw  # shown on the response page, once

    @admin.action(description="Revoke the selected keys")
    def revoke_selected(self, request, queryset):
        done = 0
        for key in queryset:
            done += self.run_service(
                request,
                key.name,
                lambda k=key: services.api_key_revoke(api_key=k, actor=Actor.from_request(request)),
            )
        if done:
            self.message_user(request, f"{done} key(s) revoked.", messages.SUCCESS)


SECTION = "Team"
# (route under /console/, URL name: console:<name>, view, title) of the pages not in the sidebar
HIDDEN_PAGES = (
    ("team/members/<str:membership_id>/role/", "team_member_role", console_team.member_role_view,
     "Change a role"),
    ("team/members/<str:membership_id>/remove/", "team_member_remove",
     console_team.member_remove_view, "Remove a member"),
    ("team/members/<str:membership_id>/transfer/", "team_member_transfer",
     console_team.member_transfer_view, "Transfer ownership"),
    ("team/invitations/<str:invitation_id>/revoke/", "team_invitation_revoke",
     console_team.invitation_revoke_view, "Revoke an invitation"),
    ("team/invitations/<str:invitation_id>/resend/", "team_invitation_resend",
     console_team.invitation_resend_view, "Resend an invitation"),
    ("team/api-keys/<str:key_id>/revoke/", "team_api_key_revoke",
     console_keys.api_key_revoke_view, "Revoke an API key"),
)  # fmt: skip

console_site.page_register(
    ConsolePage("team/members/", "team", console_team.team_view, "Members and invitations", SECTION)
)
console_site.page_register(
    ConsolePage("team/api-keys/", "team_api_keys", console_keys.api_keys_view, "API keys", SECTION)
)
for _route, _name, _view, _title in HIDDEN_PAGES:
    console_site.page_register(ConsolePage(_route, _name, _view, _title, SECTION, in_sidebar=False))
