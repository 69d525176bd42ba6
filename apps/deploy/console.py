"""Apps, deployments and releases in the tenant console (/console/ on the tenant's host).

The same admin classes as the operator console, minus its tenant picker: the console's request
already runs in the tenant's schema. Every member reads; members and up run the actions
(deploy, restart, cancel, rollback), which call the services; none while the tenant is
suspended (read-only)."""

from django.contrib import admin

from apps.tenants.console import console_site
from apps.tenants.console_mixins import ConsoleAccess

from .admin import AppAdminBase, DeploymentAdminBase, ProcessEventAdminBase, ReleaseAdminBase
from .models import App, Deployment, ProcessEvent, Release


@admin.register(App, site=console_site)
class AppConsoleAdmin(ConsoleAccess, AppAdminBase):
    pass


@admin.register(Deployment, site=console_site)
class DeploymentConsoleAdmin(ConsoleAccess, DeploymentAdminBase):
    pass


@admin.register(Release, site=console_site)
class ReleaseConsoleAdmin(ConsoleAccess, ReleaseAdminBase):
    pass


@admin.register(ProcessEvent, site=console_site)
class ProcessEventConsoleAdmin(ConsoleAccess, ProcessEventAdminBase):
    pass
