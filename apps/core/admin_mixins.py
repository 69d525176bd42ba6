"""Mixins for operator-console (Django admin) pages, of any app."""

from __future__ import annotations


class ReadOnlyMixin:
    """A model admin whose pages show rows but never add, change or delete them: changes go
    through admin actions that call the services, which write the audit log. The admin's own
    change log (LogEntry) is not written either: it keys content types of the public schema,
    and such rows often live in a tenant's."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def log_addition(self, *args, **kwargs):
        return None

    def log_change(self, *args, **kwargs):
        return None

    def log_deletion(self, *args, **kwargs):
        return None
