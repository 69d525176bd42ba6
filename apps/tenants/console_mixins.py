"""Mixins for the tenant console (/console/ on the tenant's host) of any app."""

from __future__ import annotations

from .console import console_lookup_allowed, console_read_only, console_role
from .models import Role
from .roles import role_at_least


class ConsoleAccess:
    """Tenant-console access for the operator console's model admins: `view_role` and up read;
    members and up run the actions; nothing is added, changed or deleted, nor any action run,
    while the tenant is read-only (suspended). Only the page's own filters may filter it."""

    view_role: str = Role.VIEWER

    def has_module_permission(self, request) -> bool:
        return role_at_least(console_role(request), self.view_role)

    def has_view_permission(self, request, obj=None) -> bool:
        return role_at_least(console_role(request), self.view_role)

    def has_add_permission(self, request, obj=None) -> bool:
        return not console_read_only(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return not console_read_only(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not console_read_only(request) and super().has_delete_permission(request, obj)

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        return console_lookup_allowed(self, lookup, request)

    def get_actions(self, request):
        if console_read_only(request) or not role_at_least(console_role(request), Role.MEMBER):
            return {}
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
