"""Outgoing webhook endpoints and their messages in the operator console.

Like apps/deploy/admin.py: these rows live in tenant schemas, so every view runs inside the
schema of the tenant the operator picks (`?tenant=<slug>`, TenantScopedAdminMixin). The
`…AdminBase` classes know nothing of that and are reused by the tenant console (console.py).
Pages are read-only; actions call the services (audited there). An endpoint's secret is never
shown (its last 8 characters only)."""

from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin

from apps.core.actor import Actor
from apps.core.admin_actions import apply_each
from apps.core.admin_mixins import ReadOnlyMixin
from apps.core.problems import ApplicationError
from apps.tenants.admin_mixins import TenantScopedAdminMixin
from apps.tenants.selectors import current_tenant

from . import services
from .models import WebhookEndpoint, WebhookMessage


class NotDelivered(ApplicationError):
    """A test event the receiver did not take (its attempt says so too)."""


class WebhookEndpointAdminBase(ReadOnlyMixin, ModelAdmin):
    list_display = ("url", "enabled", "disabled_reason", "event_filter", "secret_hint",
                    "last_success_at", "failing_since")  # fmt: skip
    list_filter = ("enabled",)
    search_fields = ("url", "description")
    fields = (
        "url", "description", "event_filter", "enabled", "disabled_reason", "disabled_at",
        "secret_hint", "last_success_at", "failing_since", "created_at", "updated_at",
    )  # fmt: skip
    readonly_fields = ("event_filter", "secret_hint")
    actions = ("send_test", "enable")

    @admin.display(description="Events")
    def event_filter(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.event_types) or "all"

    @admin.display(description="Secret")
    def secret_hint(self, endpoint: WebhookEndpoint) -> str:
        return f"whsec_…{endpoint.secret_last8}"

    @admin.action(description="Send a test event")
    def send_test(self, request, queryset):
        tenant = current_tenant()

        def call(endpoint):
            attempt = services.webhook_endpoint_test(
                endpoint=endpoint, tenant=tenant, actor=Actor.from_request(request)
            )
            if not attempt.ok:
                raise NotDelivered(attempt.error or f"HTTP {attempt.status_code}")

        apply_each(self, request, queryset, label=str, done="test event(s) delivered", call=call)

    @admin.action(description="Enable")
    def enable(self, request, queryset):
        tenant = current_tenant()
        apply_each(self, request, queryset, label=str, done="endpoint(s) enabled",
                   call=lambda e: services.webhook_endpoint_enable(
                       endpoint=e, tenant=tenant, actor=Actor.from_request(request)))  # fmt: skip


class WebhookMessageAdminBase(ReadOnlyMixin, ModelAdmin):
    list_display = ("msg_id", "event_type", "endpoint", "status", "attempts_count",
                    "last_attempt_at", "next_attempt_at", "last_error")  # fmt: skip
    list_filter = ("status", "event_type")
    search_fields = ("msg_id", "event_type", "endpoint__url")
    list_select_related = ("endpoint",)
    fields = ("msg_id", "event_type", "endpoint", "status", "attempts_count", "created_at",
              "last_attempt_at", "next_attempt_at", "last_error", "attempt_log")  # fmt: skip
    readonly_fields = ("attempt_log",)

    @admin.display(description="Attempts")
    def attempt_log(self, message: WebhookMessage) -> str:
        lines = [
            f"{a.attempted_at:%Y-%m-%d %H:%M:%S} {a.status_code or '-'} {a.duration_ms} ms "
            f"{'ok' if a.ok else a.error}"
            for a in message.attempts.order_by("attempted_at")
        ]
        return "\n".join(lines) or "-"


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantScopedAdminMixin, WebhookEndpointAdminBase):
    pass


@admin.register(WebhookMessage)
class WebhookMessageAdmin(TenantScopedAdminMixin, WebhookMessageAdminBase):
    pass
