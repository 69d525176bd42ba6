"""Mixins for operator-console (Django admin) pages, of any app."""

from __future__ import annotations

from django import forms


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


class VersionGuardForm(forms.ModelForm):
    """A change form that refuses a stale save (apps/core/versioning.py). The version the page
    was opened at travels in a hidden field; when the object has moved on since, the form is
    shown again with a message saying so, and nothing is saved. The service gets the same
    number as `expected_version`, which settles the race of two saves in the same instant."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    STALE = (
        "Someone else changed this {what} after you opened this page (it is now at version "
        "{current}, you opened version {seen}). Nothing was saved: reload the page to see "
        "their change, then make yours again."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["expected_version"] = self.instance.version

    def clean(self):
        cleaned = super().clean()
        seen = cleaned.get("expected_version")
        if self.instance.pk and seen is not None:
            model = type(self.instance)
            current = (
                model._default_manager.filter(pk=self.instance.pk)
                .values_list("version", flat=True)
                .first()
            )
            if current != seen:
                raise forms.ValidationError(
                    self.STALE.format(what=model._meta.verbose_name, current=current, seen=seen),
                    code="version_conflict",
                )
        return cleaned
