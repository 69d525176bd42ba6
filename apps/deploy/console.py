"""Apps, deployments and releases in the tenant console (/console/ on the tenant's host).

The same admin classes as the operator console, minus its tenant picker: the console's request
already runs in the tenant's schema. Every member reads; members and up run the actions
(deploy, restart, cancel, rollback), which call the services."""

from django.contrib import admin

from apps.tenants.console import console_role, console_site
from apps.tenants.models import Role
from apps.tenants.roles import role_at_least

from .admin import AppAdminBase, DeploymentAdminBase, ReleaseAdminBase
from .models import App, Deployment, Release


class ConsoleAccess:
    def has_module_permission(self, request) -> bool:
        return console_role(request) is not None

    def has_view_permission(self, request, obj=None) -> bool:
        return console_role(request) is not None

    def get_actions(self, request):
        if not role_at_least(console_role(request), Role.MEMBER):
            return {}
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(App, site=console_site)
class AppConsoleAdmin(ConsoleAccess, AppAdminBase):
    pass


@admin.register(Deployment, site=console_site)
class DeploymentConsoleAdmin(ConsoleAccess, DeploymentAdminBase):
    pass


@admin.register(Release, site=console_site)
class ReleaseConsoleAdmin(ConsoleAccess, ReleaseAdminBase):
    pass
