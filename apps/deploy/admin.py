"""Apps, deployments (with their steps and logs) and releases (with a rollback action) in the
operator console.

These models live in tenant schemas while the console runs on the root host, so every view of
them runs inside the schema of a tenant the operator picks (`?tenant=<slug>`, remembered in the
session): `TenantScopedAdminMixin` (apps/tenants/admin_mixins.py). The model admins themselves
(`AppAdminBase`, …) know nothing of that, so the tenant console can reuse them in its own admin
site, where the request already runs in the tenant's schema. Pages are read-only
(`ReadOnlyMixin`, apps/core/admin_mixins.py); actions call the services (audited there)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin

from apps.core import charts
from apps.core.actor import Actor
from apps.core.admin_mixins import ReadOnlyMixin
from apps.core.problems import ApplicationError
from apps.tenants.admin_mixins import TenantScopedAdminMixin

from . import selectors, services, tls, usage_charts
from .models import App, Deployment, DeploymentLog, DomainStatus, ProcessEvent, Release

LOG_LINES_SHOWN = 500


def _queued(deployment: Deployment) -> str:
    return f"{deployment.kind} deployment {deployment.pk} queued"


def _run_service(modeladmin, request, label: str, call) -> None:
    """Run one service call per selected object; report each outcome."""
    try:
        result = call()
    except ApplicationError as exc:
        modeladmin.message_user(request, f"{label}: {exc.detail}", messages.ERROR)
        return
    modeladmin.message_user(request, f"{label}: {result}", messages.SUCCESS)


class AppAdminBase(ReadOnlyMixin, ModelAdmin):
    list_display = ("name", "status", "source", "release", "updated_at")
    list_filter = ("status", "source_kind")
    search_fields = ("name",)
    fields = (
        "name", "status", "source_kind", "git_url_display", "branch", "image_ref",
        "registry_credentials", "health_check_path", "provider",
        "region", "current_release", "live_deployment", "active_deployment", "https",
        "created_at", "updated_at", "usage", "process_exits",
    )  # fmt: skip
    readonly_fields = ("https", "usage", "process_exits", "registry_credentials")
    actions = ("deploy_branch", "restart")

    class Media:  # the CPU and memory charts (usage_charts), drawn with the vendored uPlot
        js = (charts.UPLOT, charts.SCRIPT)
        css = {"all": (charts.UPLOT_CSS,)}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("current_release")

    @admin.display(description="Source")
    def source(self, app: App) -> str:
        if app.source_kind == "image":
            return f"image {app.image_ref}"
        return f"{app.git_url_display} ({app.branch})" if app.git_url_display else "-"

    @admin.display(description="Registry credentials")
    def registry_credentials(self, app: App) -> str:
        return "stored (encrypted, not shown)" if app.registry_credentials_encrypted else "none"

    @admin.display(description="Release")
    def release(self, app: App) -> str:
        return f"v{app.current_release.version}" if app.current_release else "-"

    @admin.display(description="CPU and memory (24 h)")
    def usage(self, app: App) -> str:
        return usage_charts.usage_panel(app, tenant=services.current_tenant())

    @admin.display(description="Process exits")
    def process_exits(self, app: App) -> str:
        return usage_charts.exits_panel(app)

    @admin.display(description="Hosts and certificates")
    def https(self, app: App) -> str:
        """The app's own hostname and its custom domains, each with its TLS certificate."""
        tenant = services.current_tenant()
        rows = [(selectors.app_hostname(app=app, tenant_slug=tenant.slug), "app hostname", True)]
        rows += [
            (d.hostname, f"custom domain, {d.status}", d.status == DomainStatus.VERIFIED)
            for d in selectors.domains_list(app=app)
        ]
        cells = []
        for hostname, what, eligible in rows:
            cert = tls.certificate_state(hostname, eligible=eligible)
            until = cert.not_after.strftime("%Y-%m-%d %H:%M UTC") if cert.not_after else "-"
            cells.append((hostname, what, cert.status, cert.issuer or "-", until))
        return format_html(
            "<table><tr><th>host</th><th>what</th><th>certificate</th><th>issuer</th>"
            "<th>expires</th></tr>{}</table>",
            format_html_join("", "<tr>" + "<td>{}</td>" * 5 + "</tr>", cells),
        )

    @admin.action(description="Deploy the branch head")
    def deploy_branch(self, request, queryset):
        tenant = services.current_tenant()
        actor = Actor.from_request(request)
        for app in queryset:
            _run_service(
                self, request, app.name,
                lambda app=app: _queued(
                    services.deployment_create(app=app, tenant=tenant, actor=actor)
                ),
            )  # fmt: skip

    @admin.action(description="Restart (zero-downtime)")
    def restart(self, request, queryset):
        tenant = services.current_tenant()
        actor = Actor.from_request(request)
        for app in queryset:
            _run_service(
                self, request, app.name,
                lambda app=app: _queued(
                    services.app_restart(app=app, tenant=tenant, actor=actor)
                ),
            )  # fmt: skip


class DeploymentAdminBase(ReadOnlyMixin, ModelAdmin):
    list_display = ("created_at", "app", "kind", "state", "ref", "short_sha", "started_by_label")
    list_filter = ("state", "kind")
    search_fields = ("app__name", "ref", "commit_sha")
    list_select_related = ("app",)
    fields = (
        "app", "kind", "state", "ref", "commit_sha", "release", "build", "formation",
        "started_by_label", "worker", "created_at", "started_at", "finished_at", "failure_step",
        "failure_reason", "step_table", "log",
    )  # fmt: skip
    readonly_fields = ("step_table", "log")
    actions = ("cancel",)

    @admin.display(description="Commit")
    def short_sha(self, deployment: Deployment) -> str:
        return deployment.commit_sha[:8]

    @admin.display(description="Steps")
    def step_table(self, deployment: Deployment) -> str:
        rows = [
            (name, times.get("started_at", ""), times.get("finished_at", ""))
            for name, times in deployment.steps.items()
        ]
        if not rows:
            return "-"
        return format_html(
            "<table><tr><th>step</th><th>started</th><th>finished</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description="Log (redacted)")
    def log(self, deployment: Deployment) -> str:
        lines = list(
            DeploymentLog.objects.filter(deployment=deployment)
            .order_by("-id")
            .values_list("stream", "line")[:LOG_LINES_SHOWN]
        )[::-1]
        text = "\n".join(f"[{stream}] {line}" for stream, line in lines)
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', text or "-")

    @admin.action(description="Cancel")
    def cancel(self, request, queryset):
        tenant = services.current_tenant()
        actor = Actor.from_request(request)
        for deployment in queryset:
            _run_service(
                self, request, str(deployment.pk),
                lambda d=deployment: services.deployment_cancel(
                    deployment=d, tenant=tenant, actor=actor
                ).state,
            )  # fmt: skip


class ReleaseAdminBase(ReadOnlyMixin, ModelAdmin):
    list_display = ("app", "version", "status", "description", "created_by_label", "created_at")
    list_filter = ("status",)
    search_fields = ("app__name", "description")
    list_select_related = ("app",)
    fields = (
        "app", "version", "status", "description", "build", "config_keys", "process_types",
        "release_command", "rollback_of", "created_by_label", "created_at",
    )  # fmt: skip
    actions = ("rollback",)

    @admin.action(description="Roll back to this release")
    def rollback(self, request, queryset):
        tenant = services.current_tenant()
        actor = Actor.from_request(request)
        for release in queryset.select_related("app", "build"):
            _run_service(
                self, request, f"{release.app} v{release.version}",
                lambda r=release: _queued(
                    services.release_rollback(
                        app=r.app, release=r, tenant=tenant, actor=actor
                    )
                ),
            )  # fmt: skip


class ProcessEventAdminBase(ReadOnlyMixin, ModelAdmin):
    """Processes that ended without being asked to (OOM kills, crashes), newest first."""

    list_display = ("at", "app", "process", "reason", "exit_code", "signal", "deployment_key")
    list_filter = ("reason", "process_type")
    search_fields = ("app__name",)
    list_select_related = ("app",)
    fields = (
        "app", "deployment", "deployment_key", "process_type", "index", "reason", "exit_code",
        "signal", "at", "created_at",
    )  # fmt: skip

    @admin.display(description="Process", ordering="process_type")
    def process(self, event: ProcessEvent) -> str:
        return f"{event.process_type}.{event.index}"


@admin.register(App)
class AppAdmin(TenantScopedAdminMixin, AppAdminBase):
    pass


@admin.register(Deployment)
class DeploymentAdmin(TenantScopedAdminMixin, DeploymentAdminBase):
    pass


@admin.register(Release)
class ReleaseAdmin(TenantScopedAdminMixin, ReleaseAdminBase):
    pass


@admin.register(ProcessEvent)
class ProcessEventAdmin(TenantScopedAdminMixin, ProcessEventAdminBase):
    pass
