"""API keys in the tenant console (/console/ on the tenant's host): admins and owners create and
revoke their tenant's keys; the raw key is shown once, on the page after creation."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from apps.core import operation_names
from apps.core.actor import Actor
from apps.tenants.console import ConsoleModelAdmin, console_site

from . import services
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
        "name", "prefix", "last8", "authority", "status", "last_used_at", "expires_at",
    )  # fmt: skip
    list_filter = ("authority",)
    search_fields = ("name", "prefix")
    form = ApiKeyForm
    actions = ("revoke_selected",)

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
