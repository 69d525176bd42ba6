"""Add-ons in the tenant console (/console/addons/addon/): the list (every app's add-ons), an
"Add" form and a page per add-on (console_views.py). Registered where config/urls_tenant.py
imports the console sections."""

from django.contrib import admin
from django.urls import path

from apps.tenants.console import console_read_only, console_role, console_site
from apps.tenants.console_mixins import ConsoleAccess
from apps.tenants.roles import role_at_least

from . import console_views as views
from .admin import AddonAdminBase
from .models import Addon


@admin.register(Addon, site=console_site)
class AddonConsoleAdmin(ConsoleAccess, AddonAdminBase):
    actions = ()

    def get_urls(self):
        wrap = self.admin_site.admin_view
        own = [
            path("add/", wrap(views.addon_add_view), name="addons_addon_add"),
            path("<str:object_id>/", wrap(views.addon_detail_view), name="addons_addon_detail"),
        ]
        return own + super().get_urls()

    def has_add_permission(self, request, obj=None) -> bool:
        return not console_read_only(request) and role_at_least(console_role(request), views.WRITE)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return views.addon_detail_view(request, object_id)
