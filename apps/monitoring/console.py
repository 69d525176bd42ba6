"""Monitoring in the tenant console (/console/ on the tenant's host): monitors, incidents, alert
channels, maintenance windows, silences, alert logs and status pages of this tenant.

The same admin classes as the operator console, minus its tenant picker (the console's request
already runs in the tenant's schema). Every member reads; members and up run the actions (pause,
resume, send a test notification, end a silence) and may add a silence; all through the services.
Status pages are edited here too (members and up), through the same services as the API (which
validate the slug and monitors, claim the slug in the public index, audit, and drop the cached
public page). Outgoing webhook endpoints are added, changed, rotated and deleted by owners and
admins; a new signing secret is shown once, on the page that follows. Their deliveries (whole
payloads) are shown to owners and admins only. A suspended tenant is read-only here."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.core.actor import Actor
from apps.core.admin_mixins import VersionGuardForm
from apps.core.problems import ApplicationError
from apps.tenants.console import (
    ConsoleModelAdmin,
    console_read_only,
    console_role,
    console_site,
)
from apps.tenants.console_mixins import ConsoleAccess
from apps.tenants.models import Role
from apps.tenants.roles import role_at_least

from . import console_views as views
from . import services
from .admin import (
    AlertChannelAdminBase,
    AlertLogAdminBase,
    IncidentAdminBase,
    MaintenanceWindowAdminBase,
    MonitorAdminBase,
    SilenceAdminBase,
)
from .models import (
    AlertChannel,
    AlertLog,
    Incident,
    MaintenanceWindow,
    Monitor,
    Silence,
    StatusPage,
    StatusPageMonitor,
)


@admin.register(Monitor, site=console_site)
class MonitorConsoleAdmin(ConsoleAccess, MonitorAdminBase):
    """The list is the operator console's; "Add monitor" is the console's form of any kind and
    a monitor's change page is its page (console_views/monitors.py)."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [
            path("add/", wrap(views.monitor_create_view), name="monitoring_monitor_add"),
            path("<str:object_id>/pause/", wrap(views.monitor_pause_view),
                 name="monitoring_monitor_pause"),
            path("<str:object_id>/resume/", wrap(views.monitor_resume_view),
                 name="monitoring_monitor_resume"),
        ]  # fmt: skip
        return own + super().get_urls()

    def has_add_permission(self, request, obj=None) -> bool:
        return not console_read_only(request) and role_at_least(
            console_role(request), views.WRITE_ROLE
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return views.monitor_view(request, object_id)


@admin.register(Incident, site=console_site)
class IncidentConsoleAdmin(ConsoleAccess, IncidentAdminBase):
    """An incident's change page is its page: acknowledge and resolve with a note."""

    list_display = ("monitor", "status", "started_at", "acknowledged_at", "resolved_at",
                    "duration_s", "cause")  # fmt: skip

    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [
            path("<str:object_id>/acknowledge/", wrap(views.incident_acknowledge_view),
                 name="monitoring_incident_acknowledge"),
            path("<str:object_id>/resolve/", wrap(views.incident_resolve_view),
                 name="monitoring_incident_resolve"),
        ]  # fmt: skip
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return views.incident_view(request, object_id)


@admin.register(AlertChannel, site=console_site)
class AlertChannelConsoleAdmin(ConsoleAccess, AlertChannelAdminBase):
    pass


@admin.register(MaintenanceWindow, site=console_site)
class MaintenanceWindowConsoleAdmin(ConsoleAccess, MaintenanceWindowAdminBase):
    pass


class SilenceForm(forms.ModelForm):
    class Meta:
        model = Silence
        fields = ("monitor", "ends_at", "reason")
        help_texts = {"monitor": "Empty: every monitor.", "ends_at": "Alerts resume then."}

    def clean_ends_at(self):
        ends_at = self.cleaned_data["ends_at"]
        if ends_at <= timezone.now():
            raise forms.ValidationError("Must be in the future.")
        return ends_at


@admin.register(Silence, site=console_site)
class SilenceConsoleAdmin(ConsoleAccess, SilenceAdminBase):
    form = SilenceForm

    def has_add_permission(self, request, obj=None) -> bool:
        return not console_read_only(request) and role_at_least(console_role(request), Role.MEMBER)

    def get_fields(self, request, obj=None):
        return SilenceForm.Meta.fields if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else super().get_readonly_fields(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            silence = services.silence_create(
                tenant=request.tenant,
                actor=Actor.from_request(request),
                monitor_id=obj.monitor_id,
                ends_at=form.cleaned_data["ends_at"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            request._console_refused = True
            return
        obj.__dict__.update(silence.__dict__)

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "_console_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)


@admin.register(AlertLog, site=console_site)
class AlertLogConsoleAdmin(ConsoleAccess, AlertLogAdminBase):
    pass


class StatusPageForm(VersionGuardForm):
    monitor_ids = forms.ModelMultipleChoiceField(
        queryset=Monitor.objects.order_by("name"),
        required=False,
        label="Monitors",
        help_text="Shown in the order they were first added; new ones go last.",
        widget=forms.SelectMultiple(attrs={"size": 12}),
    )

    class Meta:
        model = StatusPage
        fields = ("slug", "title", "description", "announcement", "public")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["monitor_ids"].initial = list(
                StatusPageMonitor.objects.filter(page_id=self.instance.pk).values_list(
                    "monitor_id", flat=True
                )
            )

    def validate_unique(self):
        pass  # the service checks the slug across all tenants (409 becomes a message)


@admin.register(StatusPage, site=console_site)
class StatusPageConsoleAdmin(ConsoleModelAdmin):
    manage_role = Role.MEMBER
    list_display = ("title", "slug", "public", "monitor_count", "updated_at")
    list_filter = ("public",)
    search_fields = ("title", "slug")
    form = StatusPageForm
    readonly_fields = ("public_url", "preview", "created_at", "updated_at")

    def get_urls(self):
        own = [
            path("<str:object_id>/preview/",
                 self.admin_site.admin_view(views.status_page_preview_view),
                 name="monitoring_statuspage_preview"),
        ]  # fmt: skip
        return own + super().get_urls()

    def get_queryset(self, request):
        # Tenant-schema rows: the schema is the scope (no tenant column to filter on).
        return StatusPage.objects.annotate(monitor_total=Count("entries"))

    def get_fields(self, request, obj=None):
        fields = ["slug", "title", "description", "announcement", "public", "monitor_ids"]
        if obj is None:
            return fields
        return [*fields, "public_url", "preview", "created_at", "updated_at", "expected_version"]

    @admin.display(description="Monitors", ordering="monitor_total")
    def monitor_count(self, obj: StatusPage) -> int:
        return obj.monitor_total

    @admin.display(description="Public page")
    def public_url(self, obj: StatusPage) -> str:
        return f"{settings.ROOT_URL}/status/{obj.slug}/"

    @admin.display(description="Preview")
    def preview(self, obj: StatusPage) -> str:
        """The page as the public sees it (as saved; public or not yet), in a frame."""
        href = reverse(f"{console_site.name}:monitoring_statuspage_preview", args=[obj.pk])
        return format_html(
            '<a href="{}" target="_blank" rel="noopener" id="status-preview-link">Open the '
            'preview in a new tab</a><iframe src="{}" title="Preview of the status page {}" '
            'id="status-preview" loading="lazy" style="display:block;width:100%;height:28rem;'
            'margin-top:.5rem;border:1px solid rgb(127 127 127 / .4);border-radius:.5rem">'
            "</iframe>",
            href,
            href,
            obj.title,
        )

    def save_model(self, request, obj, form, change):
        data = {k: form.cleaned_data[k] for k in StatusPageForm.Meta.fields}
        chosen = {m.pk for m in form.cleaned_data["monitor_ids"]}
        if change:
            current = list(
                StatusPageMonitor.objects.filter(page_id=obj.pk).values_list(
                    "monitor_id", flat=True
                )
            )
            kept = [pk for pk in current if pk in chosen]
            added = [m.pk for m in form.cleaned_data["monitor_ids"] if m.pk not in set(current)]
            page = StatusPage.objects.get(pk=obj.pk)
            self.run_service(
                request,
                data["title"],
                lambda: services.status_page_update(
                    page=page, tenant=request.tenant, actor=Actor.from_request(request),
                    monitor_ids=[*kept, *added],
                    expected_version=form.cleaned_data.get("expected_version"), **data,
                ),
            )  # fmt: skip
            return
        made: list[StatusPage] = []
        ok = self.run_service(
            request,
            data["title"],
            lambda: made.append(
                services.status_page_create(
                    tenant=request.tenant, actor=Actor.from_request(request),
                    monitor_ids=[m.pk for m in form.cleaned_data["monitor_ids"]], **data,
                )
            ),
        )  # fmt: skip
        if ok:
            obj.__dict__.update(made[0].__dict__)

    def save_related(self, request, form, formsets, change):
        pass  # the service wrote the monitors

    def delete_model(self, request, obj):
        self.run_service(
            request,
            obj.title,
            lambda: services.status_page_delete(
                page=obj, tenant=request.tenant, actor=Actor.from_request(request)
            ),
        )
