"""Apps, deployments and releases in the tenant console (/console/ on the tenant's host).

The lists are the operator console's admin classes, minus its tenant picker: the console's
request already runs in the tenant's schema. An app's own pages are the console's
(console_views/): "Add app" is a form that creates one from a git URL, an app's change page is
its overview (deploy, processes, charts, scale, restart), and its tabs are env vars, domains,
runtime logs, releases (rollback) and activity; a deployment has a page with its steps and its
log streaming live. Every member reads; members and up deploy, restart, scale, cancel and roll
back, admins and up change env vars and domains and delete apps, as in the API; nothing while
the tenant is suspended (read-only)."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import path

from apps.tenants.console import console_read_only, console_role, console_site
from apps.tenants.console_mixins import ConsoleAccess
from apps.tenants.roles import role_at_least

from . import console_views as views
from .admin import AppAdminBase, DeploymentAdminBase, ProcessEventAdminBase, ReleaseAdminBase
from .models import App, Deployment, ProcessEvent, Release

# (route under <app id>/, view, URL name suffix): console:deploy_app_<suffix>
APP_PAGES = (
    ("", views.app_overview_view, "overview"),
    ("deploy/", views.app_deploy_view, "deploy"),
    ("restart/", views.app_restart_view, "restart"),
    ("scale/", views.app_scale_view, "scale"),
    ("delete/", views.app_delete_view, "delete"),
    ("env/", views.env_view, "env"),
    ("env/unset/", views.env_unset_view, "env_unset"),
    ("env/reveal/", views.env_reveal_view, "env_reveal"),
    ("domains/", views.domains_view, "domains"),
    ("domains/<str:domain_id>/verify/", views.domain_verify_view, "domain_verify"),
    ("domains/<str:domain_id>/remove/", views.domain_remove_view, "domain_remove"),
    ("logs/", views.logs_view, "logs"),
    ("logs/lines/", views.logs_lines_view, "logs_lines"),
    ("releases/", views.releases_view, "releases"),
    ("releases/<str:release_id>/rollback/", views.rollback_view, "rollback"),
    ("activity/", views.activity_view, "activity"),
    ("deployments/<str:deployment_id>/", views.deployment_view, "deployment"),
    ("deployments/<str:deployment_id>/status/", views.deployment_status_view, "deployment_status"),
    ("deployments/<str:deployment_id>/stream/", views.deployment_stream_view, "deployment_stream"),
    ("deployments/<str:deployment_id>/cancel/", views.deployment_cancel_view, "deployment_cancel"),
)


@admin.register(App, site=console_site)
class AppConsoleAdmin(ConsoleAccess, AppAdminBase):
    list_display = ("name", "status", "source", "release", "updated_at")
    list_display_links = ("name",)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [path("add/", wrap(views.app_create_view), name="deploy_app_add")]
        own += [
            path(f"<str:object_id>/{route}", wrap(view), name=f"deploy_app_{name}")
            for route, view, name in APP_PAGES
        ]
        return own + super().get_urls()

    def has_add_permission(self, request, obj=None) -> bool:
        """The changelist's "Add app" button: members and up (the form calls app_create)."""
        role = console_role(request)
        return not console_read_only(request) and role_at_least(role, views.CREATE_ROLE)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return views.app_overview_view(request, object_id)


def _app_page(request, model, object_id: str, page: str, **kwargs) -> HttpResponseRedirect:
    """The app page that shows one of its deployments or releases: the console's lists link to
    the admin's change URL, which leads there (one page per object, with its live log)."""
    try:
        app_id = model.objects.filter(pk=object_id).values_list("app_id", flat=True).first()
    except (ValueError, ValidationError):
        app_id = None
    if app_id is None:
        raise Http404
    return redirect(f"{console_site.name}:deploy_app_{page}", object_id=app_id, **kwargs)


@admin.register(Deployment, site=console_site)
class DeploymentConsoleAdmin(ConsoleAccess, DeploymentAdminBase):
    def change_view(self, request, object_id, form_url="", extra_context=None):
        return _app_page(request, Deployment, object_id, "deployment", deployment_id=object_id)


@admin.register(Release, site=console_site)
class ReleaseConsoleAdmin(ConsoleAccess, ReleaseAdminBase):
    def change_view(self, request, object_id, form_url="", extra_context=None):
        return _app_page(request, Release, object_id, "releases")


@admin.register(ProcessEvent, site=console_site)
class ProcessEventConsoleAdmin(ConsoleAccess, ProcessEventAdminBase):
    pass
