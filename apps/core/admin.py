from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import FieldTextFilter, RangeDateTimeFilter
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from . import platform_config
from .actor import Actor
from .config_vars import REGISTRY, ConfigVar, VarType
from .integrations import integrations_check
from .models import AuditEvent, ConfigVariable, Node
from .nodes import stale_cutoff
from .problems import ApplicationError, InvalidInput


@admin.register(AuditEvent)
class AuditEventAdmin(ModelAdmin):
    list_display = ("created_at", "action", "severity", "actor_label", "tenant_label", "target")
    list_filter = [
        ("tenant_label", FieldTextFilter),
        ("actor_label", FieldTextFilter),
        ("action", FieldTextFilter),
        "severity",
        ("created_at", RangeDateTimeFilter),
    ]
    list_filter_submit = True
    search_fields = ("action", "actor_label", "tenant_label", "target_id", "request_id")
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="Target")
    def target(self, obj: AuditEvent) -> str:
        return f"{obj.target_type} {obj.target_id}".strip()

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ConfigValueForm(forms.Form):
    """One variable's new value, with a widget for its type; validated by the declaration."""

    def __init__(self, *args, var: ConfigVar, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.var = var
        help_text = f"{var.describe_bounds().capitalize()}. Default: {var.default!r}."
        if var.type == VarType.ENUM:
            choices = [(choice, choice) for choice in var.choices]
            field = forms.ChoiceField(choices=choices, widget=UnfoldAdminSelectWidget)
        elif var.type == VarType.BOOL:
            choices = [("true", "true"), ("false", "false")]
            field = forms.ChoiceField(choices=choices, widget=UnfoldAdminSelectWidget)
        else:
            field = forms.CharField(widget=UnfoldAdminTextInputWidget, strip=True)
        field.help_text = help_text
        field.label = "Value"
        self.fields["value"] = field

    def clean_value(self):
        text = self.cleaned_data["value"]
        try:
            return self.var.parse(str(text))
        except InvalidInput as error:
            raise forms.ValidationError(error.detail) from None


def _as_text(var: ConfigVar, value) -> str:
    if var.type == VarType.BOOL:
        return "true" if value else "false"
    return str(value)


@admin.register(ConfigVariable)
class ConfigVariableAdmin(ModelAdmin):
    """Not a plain model list: the page lists every declared variable (apps/core/config_vars.py),
    overridden or not, and stale overrides of names no longer declared. Changes go through
    apps.core.platform_config, which validates and audits them."""

    list_template = "core/admin_config_variables.html"

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        edit = path(
            "edit/<str:name>/",
            self.admin_site.admin_view(self.edit_view),
            name="core_configvariable_edit",
        )
        reset = path(
            "reset/<str:name>/",
            self.admin_site.admin_view(self.reset_view),
            name="core_configvariable_reset",
        )
        return [edit, reset, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Platform configuration",
            "opts": self.model._meta,
            "entries": platform_config.config_list(),
            "can_change": self.has_change_permission(request),
        }
        return TemplateResponse(request, self.list_template, context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        try:
            row = ConfigVariable.objects.filter(pk=object_id).first()
        except (ValueError, DjangoValidationError):  # not a UUID: no such row
            row = None
        if row is None:
            return HttpResponseRedirect(reverse("admin:core_configvariable_changelist"))
        return HttpResponseRedirect(reverse("admin:core_configvariable_edit", args=[row.name]))

    def edit_view(self, request, name: str):
        if not self.has_change_permission(request):
            raise PermissionDenied
        var = REGISTRY.get(name)
        if var is None:
            raise Http404("No such config variable.")
        entry = platform_config.config_entry(name)
        if request.method == "POST":
            form = ConfigValueForm(request.POST, var=var)
            if form.is_valid():
                platform_config.config_set(
                    name=name, value=form.cleaned_data["value"], actor=Actor.from_request(request)
                )
                self.message_user(request, f"{name} set.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:core_configvariable_changelist"))
        else:
            form = ConfigValueForm(initial={"value": _as_text(var, entry.value)}, var=var)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change {name}",
            "opts": self.model._meta,
            "var": var,
            "entry": entry,
            "form": form,
        }
        return TemplateResponse(request, "core/admin_config_variable_edit.html", context)

    def reset_view(self, request, name: str):
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied
        try:
            platform_config.config_reset(name=name, actor=Actor.from_request(request))
        except ApplicationError as error:
            self.message_user(request, error.detail, messages.ERROR)
        else:
            self.message_user(request, f"{name} reset to its default.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:core_configvariable_changelist"))


class StaleFilter(admin.SimpleListFilter):
    title = "freshness"
    parameter_name = "stale"

    def lookups(self, request, model_admin):
        return [("yes", "Stale"), ("no", "Reporting")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(last_seen_at__lt=stale_cutoff())
        if self.value() == "no":
            return queryset.filter(last_seen_at__gte=stale_cutoff())
        return queryset


@admin.register(Node)
class NodeAdmin(ModelAdmin):
    """Read-only: nodes report themselves (apps/core/nodes.py). Deleting a row is allowed; a
    live node comes back with its next report."""

    list_display = (
        "name", "kind", "freshness", "hostname", "pid", "cpu", "memory", "load_1m", "version",
        "last_seen_at",
    )  # fmt: skip
    list_filter = ("kind", StaleFilter)
    search_fields = ("name", "hostname")
    readonly_fields = [f.name for f in Node._meta.fields]

    @admin.display(description="Status")
    def freshness(self, node: Node):
        if node.is_stale:
            return format_html(
                '<span class="stale-badge bg-red-100 text-red-700 px-2 rounded">stale ({}s)</span>',
                int(node.age_s),
            )
        unhealthy = node.details.get("healthy") is False
        label, colour = ("unhealthy", "amber") if unhealthy else ("ok", "green")
        return format_html(
            '<span class="bg-{}-100 text-{}-700 px-2 rounded">{}</span>', colour, colour, label
        )

    @admin.display(description="CPU %")
    def cpu(self, node: Node) -> str:
        return "" if node.cpu_pct is None else f"{node.cpu_pct:.1f}"

    @admin.display(description="Memory")
    def memory(self, node: Node) -> str:
        if node.memory_rss_bytes is None:
            return ""
        share = f" ({node.memory_pct:.1f} %)" if node.memory_pct is not None else ""
        return f"{node.memory_rss_bytes / 2**20:.0f} MiB{share}"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        integrations = path(
            "integrations/",
            self.admin_site.admin_view(self.integrations_view),
            name="core_integrations",
        )
        return [integrations, *super().get_urls()]

    def integrations_view(self, request):
        if not request.user.is_staff:
            raise PermissionDenied
        health = integrations_check(refresh=request.GET.get("refresh") == "1")
        context = {
            **self.admin_site.each_context(request),
            "title": "Integrations health",
            "health": health,
        }
        return TemplateResponse(request, "admin/core/integrations.html", context)
