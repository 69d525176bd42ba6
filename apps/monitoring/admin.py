"""Monitors, incidents, alert channels, maintenance windows, silences and alert logs in the
operator console.

Like apps/deploy/admin.py: these rows live in tenant schemas, so every view runs inside the
schema of the tenant the operator picks (`?tenant=<slug>`, TenantScopedAdminMixin, the same
choice as the deploy pages). The `…AdminBase` classes know nothing of that and are reused by the
tenant console (console.py). Pages are read-only; actions call the services (audited there).
A channel's webhook URL is never shown: only its masked form; a monitor's URL only with its
credentials masked."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from unfold.admin import ModelAdmin

from apps.core.actor import Actor
from apps.core.admin_actions import apply_each
from apps.core.admin_mixins import ReadOnlyMixin
from apps.core.problems import ApplicationError
from apps.tenants.admin_mixins import TenantScopedAdminMixin
from apps.tenants.selectors import current_tenant

from . import services
from .models import (
    AlertChannel,
    AlertLog,
    Incident,
    MaintenanceWindow,
    Monitor,
    Silence,
)
from .selectors import span_status


class NotDelivered(ApplicationError):
    """A test notification the receiver did not take (the alert log says so too)."""


class MonitorAdminBase(ReadOnlyMixin, ModelAdmin):
    list_display = ("name", "kind", "status", "target", "interval_s", "last_checked_at",
                    "last_response_ms")  # fmt: skip
    list_filter = ("kind", "status")
    search_fields = ("name", "url", "host")
    fields = (
        "name", "kind", "status", "status_changed_at", "target", "interval_s", "timeout_s",
        "failures_before_down", "successes_before_up", "last_checked_at", "last_response_ms",
        "last_error", "routed_to", "created_at", "updated_at",
    )  # fmt: skip
    readonly_fields = ("target", "routed_to")
    actions = ("pause", "resume")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("channels")

    @admin.display(description="Target")
    def target(self, monitor: Monitor) -> str:
        if monitor.kind == "http":
            return monitor.url_masked
        if monitor.kind == "heartbeat":
            return f"heartbeat every {monitor.period_s} s"
        return f"{monitor.host}:{monitor.port}"

    @admin.display(description="Alert channels")
    def routed_to(self, monitor: Monitor) -> str:
        return ", ".join(channel.name for channel in monitor.channels.all()) or "-"

    @admin.action(description="Pause")
    def pause(self, request, queryset):
        tenant = current_tenant()
        actor = Actor.from_request(request)
        apply_each(self, request, queryset, label=str, done="monitor(s) paused",
                   call=lambda m: services.monitor_pause(monitor=m, tenant=tenant,
                                                         actor=actor))  # fmt: skip

    @admin.action(description="Resume")
    def resume(self, request, queryset):
        tenant = current_tenant()
        actor = Actor.from_request(request)
        apply_each(self, request, queryset, label=str, done="monitor(s) resumed",
                   call=lambda m: services.monitor_resume(monitor=m, tenant=tenant,
                                                          actor=actor))  # fmt: skip


class IncidentAdminBase(ReadOnlyMixin, ModelAdmin):
    list_display = ("monitor", "status", "started_at", "resolved_at", "duration_s", "cause")
    list_filter = ("status",)
    search_fields = ("monitor__name", "cause")
    list_select_related = ("monitor",)
    fields = ("monitor", "status", "started_at", "resolved_at", "duration_s", "cause")


class AlertChannelAdminBase(ReadOnlyMixin, ModelAdmin):
    list_display = ("name", "kind", "enabled", "shown_config", "created_at")
    list_filter = ("kind", "enabled")
    search_fields = ("name",)
    # Never `secret_encrypted`: the URL is a credential.
    fields = ("name", "kind", "enabled", "shown_config", "created_at", "updated_at")
    readonly_fields = ("shown_config",)
    actions = ("send_test",)

    @admin.display(description="Sends to")
    def shown_config(self, channel: AlertChannel) -> str:
        config = channel.config or {}
        return ", ".join(config.get("to") or []) or config.get("url_masked", "-")

    @admin.action(description="Send a test notification")
    def send_test(self, request, queryset):
        tenant = current_tenant()
        actor = Actor.from_request(request)

        def test(channel: AlertChannel) -> None:
            log = services.alert_channel_test(channel=channel, tenant=tenant,
                                              actor=actor)  # fmt: skip
            if not log.ok:
                raise NotDelivered(f"not delivered ({log.error})")

        apply_each(self, request, queryset, call=test, label=str,
                   done="test notification(s) delivered")  # fmt: skip


class MaintenanceWindowAdminBase(ReadOnlyMixin, ModelAdmin):
    list_display = ("name", "starts_at", "ends_at", "status", "covers")
    search_fields = ("name",)
    fields = ("name", "starts_at", "ends_at", "status", "covers", "created_at")
    readonly_fields = ("status", "covers")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("monitors")

    @admin.display(description="Status")
    def status(self, window: MaintenanceWindow) -> str:
        return span_status(window.starts_at, window.ends_at, timezone.now())

    @admin.display(description="Monitors")
    def covers(self, window: MaintenanceWindow) -> str:
        return ", ".join(m.name for m in window.monitors.all()) or "every monitor"


class SilenceAdminBase(ReadOnlyMixin, ModelAdmin):
    list_display = ("__str__", "silenced", "status", "reason", "created_at")
    list_select_related = ("monitor",)
    search_fields = ("reason", "monitor__name")
    fields = ("monitor", "starts_at", "ends_at", "status", "reason", "created_at")
    readonly_fields = ("status",)
    actions = ("expire",)

    @admin.display(description="Monitor")
    def silenced(self, silence: Silence) -> str:
        return silence.monitor.name if silence.monitor else "every monitor"

    @admin.display(description="Status")
    def status(self, silence: Silence) -> str:
        status = span_status(silence.starts_at, silence.ends_at, timezone.now())
        return "expired" if status == "completed" else status

    @admin.action(description="End now")
    def expire(self, request, queryset):
        tenant = current_tenant()
        actor = Actor.from_request(request)
        apply_each(self, request, queryset, label=str, done="silence(s) ended",
                   call=lambda s: services.silence_expire(silence=s, tenant=tenant,
                                                          actor=actor))  # fmt: skip


class AlertLogAdminBase(ReadOnlyMixin, ModelAdmin):
    list_display = ("created_at", "event", "channel", "monitor", "ok", "skipped", "error",
                    "duration_ms")  # fmt: skip
    list_filter = ("event", "ok", "skipped")
    search_fields = ("error", "monitor__name", "channel__name")
    list_select_related = ("channel", "monitor")
    fields = ("created_at", "event", "channel", "monitor", "incident", "ok", "skipped", "error",
              "duration_ms")  # fmt: skip


@admin.register(Monitor)
class MonitorAdmin(TenantScopedAdminMixin, MonitorAdminBase):
    pass


@admin.register(Incident)
class IncidentAdmin(TenantScopedAdminMixin, IncidentAdminBase):
    pass


@admin.register(AlertChannel)
class AlertChannelAdmin(TenantScopedAdminMixin, AlertChannelAdminBase):
    pass


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(TenantScopedAdminMixin, MaintenanceWindowAdminBase):
    pass


@admin.register(Silence)
class SilenceAdmin(TenantScopedAdminMixin, SilenceAdminBase):
    pass


@admin.register(AlertLog)
class AlertLogAdmin(TenantScopedAdminMixin, AlertLogAdminBase):
    pass
