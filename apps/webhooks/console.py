"""Outgoing webhooks in the tenant console (/console/ on the tenant's host): endpoints and their
messages. Endpoints are added, changed, rotated and deleted by owners and admins (every member
reads them); a new signing secret is shown once, on the page that follows. Messages (whole
payloads) are shown to owners and admins only. A suspended tenant is read-only here.

The team pages (console_views.py, under /console/team/webhooks/) are where people add endpoints,
read an endpoint's delivery log, send a test event, replay a delivery and enable or disable it;
the endpoint model admin stays (editing, rotating, filters, old links) out of the sidebar."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from apps.core.actor import Actor
from apps.core.admin_mixins import VersionGuardForm
from apps.tenants.console import ConsoleModelAdmin, ConsolePage, console_role, console_site
from apps.tenants.console_mixins import ConsoleAccess
from apps.tenants.models import Role
from apps.tenants.roles import role_at_least

from . import console_views as views
from . import services
from .admin import WebhookEndpointAdminBase, WebhookMessageAdminBase
from .models import WebhookEndpoint, WebhookMessage


class WebhookEndpointForm(VersionGuardForm):
    event_types = forms.CharField(
        required=False,
        label="Events",
        help_text="Event types or patterns (monitor.down, incident.*), comma separated; "
        "empty for every event.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "enabled")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["event_types"] = ", ".join(self.instance.event_types)

    def clean_event_types(self) -> list[str]:
        raw = self.cleaned_data.get("event_types") or ""
        return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]


@admin.register(WebhookEndpoint, site=console_site)
class WebhookEndpointConsoleAdmin(ConsoleModelAdmin, WebhookEndpointAdminBase):
    """Endpoints are settings: owners and admins add, change, rotate and delete them and run
    the actions; everyone else reads. The signing secret is shown once, on the page after it
    is made (on creation and on rotation)."""

    manage_role = Role.ADMIN
    form = WebhookEndpointForm
    actions = ("send_test", "enable", "rotate_secret")

    def get_queryset(self, request):
        return WebhookEndpoint.objects.all()  # the tenant's schema is the scope

    def has_module_permission(self, request) -> bool:
        return False  # in the sidebar as Team > Webhooks (console_views.py)

    def get_fields(self, request, obj=None):
        fields = ["url", "description", "event_types", "enabled"]
        if obj is None:
            return fields
        return [*fields, "disabled_reason", "disabled_at", "secret_hint", "last_success_at",
                "failing_since", "created_at", "updated_at", "expected_version"]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "disabled_reason",
            "disabled_at",
            "secret_hint",
            "last_success_at",
            "failing_since",
            "created_at",
            "updated_at",
        )

    def get_actions(self, request):
        if not role_at_least(console_role(request), Role.ADMIN):
            return {}
        return super().get_actions(request)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in ("url", "description", "enabled")}
        data["event_types"] = form.cleaned_data["event_types"]
        who = {"tenant": request.tenant, "actor": Actor.from_request(request)}
        if change:
            endpoint = WebhookEndpoint.objects.get(pk=obj.pk)
            update = services.webhook_endpoint_update
            seen = form.cleaned_data.get("expected_version")
            self.run_service(
                request,
                data["url"],
                lambda: update(endpoint=endpoint, expected_version=seen, **who, **data),
            )
            return
        made: list[tuple[WebhookEndpoint, str]] = []
        create = services.webhook_endpoint_create
        if self.run_service(request, data["url"], lambda: made.append(create(**who, **data))):
            endpoint, secret = made[0]
            obj.__dict__.update(endpoint.__dict__)
            request._console_secret = secret

    def delete_model(self, request, obj):
        delete = services.webhook_endpoint_delete
        who = {"tenant": request.tenant, "actor": Actor.from_request(request)}
        self.run_service(request, obj.url, lambda: delete(endpoint=obj, **who))

    @admin.action(description="Rotate the signing secret (one endpoint)")
    def rotate_secret(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request,
                "Rotate one endpoint at a time: its new secret is shown once.",
                messages.WARNING,
            )
            return None
        made: list[tuple[WebhookEndpoint, str]] = []
        endpoint = queryset.get()
        rotate = services.webhook_endpoint_rotate_secret
        who = {"tenant": request.tenant, "actor": Actor.from_request(request)}
        if not self.run_service(
            request, endpoint.url, lambda: made.append(rotate(endpoint=endpoint, **who))
        ):
            return None
        endpoint, secret = made[0]
        return self.secret_page(request, endpoint, secret)


@admin.register(WebhookMessage, site=console_site)
class WebhookMessageConsoleAdmin(ConsoleAccess, WebhookMessageAdminBase):
    """Messages carry whole payloads (invoices among them): owners and admins only, as in the
    API (the endpoint's deliveries)."""

    view_role = Role.ADMIN


# (route under /console/, URL name: console:<name>, view, title) of the pages not in the sidebar
HIDDEN_PAGES = (
    ("team/webhooks/<str:endpoint_id>/", "team_webhook", views.endpoint_view, "Webhook endpoint"),
    ("team/webhooks/<str:endpoint_id>/test/", "team_webhook_test", views.endpoint_test_view,
     "Send a test event"),
    ("team/webhooks/<str:endpoint_id>/enabled/", "team_webhook_enabled",
     views.endpoint_enabled_view, "Enable or disable"),
    ("team/webhooks/<str:endpoint_id>/delete/", "team_webhook_delete",
     views.endpoint_delete_view, "Delete an endpoint"),
    ("team/webhooks/<str:endpoint_id>/messages/<str:msg_id>/replay/", "team_webhook_replay",
     views.message_replay_view, "Replay a delivery"),
)  # fmt: skip

# In the team section of the sidebar, after the accounts app's members and API keys.
console_site.page_register(
    ConsolePage("team/webhooks/", "team_webhooks", views.endpoints_view, "Webhooks", "Team")
)
for _route, _name, _view, _title in HIDDEN_PAGES:
    console_site.page_register(ConsolePage(_route, _name, _view, _title, "Team", in_sidebar=False))
