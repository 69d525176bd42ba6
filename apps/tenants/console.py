"""The tenant console: a second admin site at /console/ on each tenant's host.

Members see their own tenant's members, invitations and API keys (other apps register theirs
with `console_site.register`). What they may change follows their role, and every change goes
through the same services as the API (which audit it); the admin's own LogEntry is not written,
because its content types live in the tenant schema while its table lives in the public one.

Pages that are not model admins (billing's) are added with `console_site.page_register`: their
URL under /console/, and a section of their own in the sidebar and on the front page.

A tenant that is not active (suspended) is read-only here as in the API: every write (POST) is
refused with 423, and the pages offer no add, change, delete or action (a registered page may
opt out: paying the bill of a tenant suspended for not paying it). Changelists filter only by
their own `list_filter` (and date hierarchy): any other lookup in the query string answers 400, so
no one learns what a column holds (a message body, a token) by filtering on it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import FieldListFilter
from django.contrib.admin.utils import get_fields_from_path
from django.db.models import Count, Field, Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.http import urlencode
from unfold.admin import ModelAdmin
from unfold.sites import UnfoldAdminSite

from apps.core.actor import Actor
from apps.core.problems import ApplicationError

from . import services
from .models import Invitation, InvitationStatus, Membership, Role, TenantStatus
from .permissions import person_role
from .roles import role_at_least
from .usage import usage_count, usage_counters

LOGIN_URL = "/accounts/login/"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# Site views that change no tenant data: they work on a read-only tenant too.
ALLOWED_WHEN_READ_ONLY = frozenset({"logout", "password_change"})


def console_role(request) -> str | None:
    """The caller's role in the tenant of this host (once per request)."""
    if not hasattr(request, "_console_role"):
        tenant = getattr(request, "tenant", None)
        role = None
        if tenant is not None and request.user.is_active:
            role, _ = person_role(request.user, tenant)
        request._console_role = role
    return request._console_role


def console_read_only(request) -> bool:
    """True when the tenant of this host may be read but not changed: anything but active
    (suspended; deleted and provisioning tenants are not routed at all)."""
    tenant = getattr(request, "tenant", None)
    return tenant is not None and tenant.status != TenantStatus.ACTIVE


def filter_parameters(model_admin, request) -> frozenset[str]:
    """The query parameters the changelist's own filters read (`list_filter`, date hierarchy),
    built as Django's ChangeList builds its filters; once per request and model admin."""
    cache = request.__dict__.setdefault("_console_filter_parameters", {})
    key = type(model_admin)
    if key not in cache:
        names: set[str] = set()
        model = model_admin.model
        for item in model_admin.get_list_filter(request):
            if callable(item):  # a ListFilter class (SimpleListFilter and the like)
                spec = item(request, {}, model, model_admin)
            else:
                field, make = item if isinstance(item, (list, tuple)) else (item, None)
                make = make or FieldListFilter.create
                path = None
                if not isinstance(field, Field):
                    path, field = field, get_fields_from_path(model, field)[-1]
                spec = make(field, request, {}, model, model_admin, field_path=path)
            names.update(spec.expected_parameters())
        if hierarchy := model_admin.date_hierarchy:
            names.update(f"{hierarchy}__{part}" for part in ("year", "month", "day"))
        cache[key] = frozenset(names)
    return cache[key]


def console_lookup_allowed(model_admin, lookup: str, request) -> bool:
    """Only the lookups of the page's own filters; search goes through `search_fields`."""
    return request is not None and lookup in filter_parameters(model_admin, request)


@dataclass(frozen=True)
class ConsolePage:
    """A page of the console that is not a model admin: at /console/<route>, named
    `console:<name>`, and shown in the sidebar as `title` under `section` (the first page of a
    section is the section's link). The view gets the request only after the console's checks
    (signed in, a member, no writes to a read-only tenant unless `writable_when_read_only`)."""

    route: str
    name: str
    view: Callable
    title: str
    section: str
    in_sidebar: bool = True
    writable_when_read_only: bool = False


class TenantConsoleSite(UnfoldAdminSite):
    settings_name = "UNFOLD_CONSOLE"
    site_header = "Tenant console"
    site_title = "Quayside console"
    index_title = "Your tenant"
    site_url = None
    enable_nav_sidebar = True
    index_template = "console/index.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self._pages: list[ConsolePage] = []

    def page_register(self, page: ConsolePage) -> None:
        """Add a page; before the console's URLs are first built (import the module that
        registers it where config/urls_tenant.py imports the console sections)."""
        self._pages = [p for p in self._pages if p.name != page.name] + [page]

    def extra_urls(self) -> list:
        """Unfold's hook: URLs placed before the admin's own (and its catch-all)."""
        return [
            path(page.route, self.admin_view(page.view), name=page.name) for page in self._pages
        ]

    def get_app_list(self, request, app_label=None):
        """The model admins' sections plus one per registered page section, by name."""
        app_list = super().get_app_list(request, app_label)
        if app_label is not None or console_role(request) is None:
            return app_list
        sections: dict[str, dict] = {}
        for page in self._pages:
            if not page.in_sidebar:
                continue
            url = reverse(f"{self.name}:{page.name}")
            section = sections.setdefault(
                page.section,
                {
                    "name": page.section,
                    "app_label": f"page-{page.name}",
                    "app_url": url,
                    "has_module_perms": True,
                    "models": [],
                },
            )
            section["models"].append(
                {
                    "name": page.title,
                    "object_name": f"page-{page.name}",
                    "perms": {"view": True},
                    "admin_url": url,
                    "add_url": None,
                    "view_only": True,
                }
            )
        return sorted([*app_list, *sections.values()], key=lambda app: str(app["name"]).lower())

    def has_permission(self, request) -> bool:
        return console_role(request) is not None

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @functools.wraps(view)
        def members_only(request, *args, **kwargs):
            if request.user.is_authenticated and console_role(request) is None:
                # Signed in but not a member: the same answer as a tenant that does not exist.
                raise Http404("No such tenant.")
            if (
                request.method not in SAFE_METHODS
                and console_role(request) is not None
                and console_read_only(request)
                and getattr(view, "__name__", "") not in ALLOWED_WHEN_READ_ONLY
                and not any(
                    page.writable_when_read_only and page.view is view for page in self._pages
                )
            ):
                return self.read_only_refusal(request)
            return inner(request, *args, **kwargs)

        return members_only

    def read_only_refusal(self, request) -> TemplateResponse:
        """Every write to a read-only tenant, whatever the page: 423, as the API answers."""
        context = {
            **self.each_context(request),
            "title": f"This tenant is {request.tenant.status}",
            "back_url": reverse(f"{self.name}:index"),
        }
        return TemplateResponse(request, "console/read_only.html", context, status=423)

    def login(self, request, extra_context=None):
        if request.user.is_authenticated:
            # Signed in but not a member: the same answer as a tenant that does not exist.
            raise Http404("No such tenant.")
        next_url = request.GET.get("next") or "/console/"
        return HttpResponseRedirect(f"{LOGIN_URL}?{urlencode({'next': next_url})}")

    def each_context(self, request):
        context = super().each_context(request)
        tenant = getattr(request, "tenant", None)
        if tenant is not None:
            context["site_header"] = tenant.name
            context["console_role"] = console_role(request)
            context["console_read_only"] = console_read_only(request)
        return context


console_site = TenantConsoleSite(name="console")


# The app-create page of the deploy section (its model admin's add view), when registered.
FIRST_APP_URL_NAME = "deploy_app_add"
FIRST_APP_DOCS = "/api/docs/"  # the API reference (this host serves it), until that page exists


def first_app_path(request) -> dict | None:
    """The "deploy your first app" card's steps, while the tenant has no app (counted by deploy's
    usage counter, so this module imports no deploy code); None once it has one."""
    counter = usage_counters().get("apps")
    if counter is None or usage_count(counter, request.tenant) > 0:
        return None
    try:
        create_url = reverse(f"{console_site.name}:{FIRST_APP_URL_NAME}")
    except NoReverseMatch:
        create_url = None
    return {
        "create_url": create_url,
        "may_create": role_at_least(console_role(request), Role.MEMBER)
        and not console_read_only(request),
        "docs_url": FIRST_APP_DOCS,
    }


def dashboard_callback(request, context: dict) -> dict:
    tenant = request.tenant
    counts = Membership.objects.filter(tenant=tenant).aggregate(
        members=Count("pk"),
        admins=Count("pk", filter=Q(role__in=[Role.OWNER, Role.ADMIN])),
    )
    context["console"] = {
        "tenant": tenant,
        "role": console_role(request),
        "members": counts["members"],
        "admins": counts["admins"],
        "pending_invitations": Invitation.objects.filter(
            tenant=tenant, status=InvitationStatus.PENDING
        ).count(),
        "first_app": first_app_path(request),
    }
    return context


class ConsoleModelAdmin(ModelAdmin):
    """Scoped to the request's tenant; `manage_role` may add, change and delete (not while the
    tenant is read-only)."""

    manage_role: str = Role.ADMIN
    tenant_field = "tenant"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(**{self.tenant_field: request.tenant})

    def role(self, request) -> str | None:
        return console_role(request)

    def has_module_permission(self, request) -> bool:
        return self.role(request) is not None

    def has_view_permission(self, request, obj=None) -> bool:
        return self.role(request) is not None

    def may_manage(self, request) -> bool:
        return not console_read_only(request) and role_at_least(
            self.role(request), self.manage_role
        )

    def has_add_permission(self, request) -> bool:
        return self.may_manage(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.may_manage(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.may_manage(request)

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        return console_lookup_allowed(self, lookup, request)

    def get_actions(self, request):
        if console_read_only(request):
            return {}
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deletes go through services, one by one
        return actions

    # Services write the audit log; the admin's LogEntry would point at tenant content types.
    def log_addition(self, request, obj, message):
        return None

    def log_change(self, request, obj, message):
        return None

    def log_deletions(self, request, queryset):
        return None

    def log_deletion(self, request, obj, object_repr):
        return None

    def run_service(self, request, label: str, call) -> bool:
        """Call a service; a refusal becomes an error message (and the form is shown again)."""
        try:
            call()
        except ApplicationError as exc:
            self.message_user(request, f"{label}: {exc.detail}", messages.ERROR)
            request._console_refused = True
            return False
        return True

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "_console_refused", False):
            return HttpResponseRedirect(request.path)
        if secret := getattr(request, "_console_secret", None):
            return self.secret_page(request, obj, secret)
        return super().response_add(request, obj, post_url_continue)

    def secret_page(self, request, obj, secret: str) -> TemplateResponse:
        """A secret made for `obj` (an API key, a signing secret), shown on this response only:
        never put in a message, which would keep it in a cookie or the session."""
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": f"Copy the secret of {obj}",
            "opts": opts,
            "object": obj,
            "secret": secret,
            "back_url": reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist"
            ),
        }
        return TemplateResponse(request, "console/secret_once.html", context)  # never_cache

    def response_change(self, request, obj):
        if getattr(request, "_console_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "_console_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_delete(request, obj_display, obj_id)


class MembershipForm(forms.ModelForm):
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in services.ASSIGNABLE_ROLES])

    class Meta:
        model = Membership
        fields = ("role",)


@admin.register(Membership, site=console_site)
class MembershipConsoleAdmin(ConsoleModelAdmin):
    list_display = ("user_email", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email",)
    list_select_related = ("user",)
    form = MembershipForm
    readonly_fields = ("user_email", "created_at")
    fields = ("user_email", "role", "created_at")

    @admin.display(description="Email", ordering="user__email")
    def user_email(self, obj: Membership) -> str:
        return obj.user.email

    def has_module_permission(self, request) -> bool:
        return False  # in the sidebar as Team > Members and invitations (the accounts app's)

    def has_add_permission(self, request) -> bool:
        return False  # people join by invitation

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.role == Role.OWNER:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.role == Role.OWNER:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        original = Membership.objects.get(pk=obj.pk)
        self.run_service(
            request,
            original.user.email,
            lambda: services.membership_role_change(
                membership=original,
                role=form.cleaned_data["role"],
                actor=Actor.from_request(request, role=self.role(request)),
            ),
        )

    def delete_model(self, request, obj):
        self.run_service(
            request,
            obj.user.email,
            lambda: services.membership_remove(
                membership=obj, actor=Actor.from_request(request, role=self.role(request))
            ),
        )


class InvitationForm(forms.ModelForm):
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in services.ASSIGNABLE_ROLES])

    class Meta:
        model = Invitation
        fields = ("email", "role")


@admin.register(Invitation, site=console_site)
class InvitationConsoleAdmin(ConsoleModelAdmin):
    list_display = ("email", "role", "status", "expires_at", "created_at")
    list_filter = ("status", "role")
    search_fields = ("email",)
    form = InvitationForm
    actions = ("revoke_selected", "resend_selected")

    def has_module_permission(self, request) -> bool:
        return False  # in the sidebar as Team > Members and invitations (the accounts app's)

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # invitations are revoked or resent, not edited

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        created: list[Invitation] = []
        self.run_service(
            request,
            form.cleaned_data["email"],
            lambda: created.append(
                services.invitation_create(
                    tenant=request.tenant,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    actor=Actor.from_request(request, role=self.role(request)),
                )
            ),
        )
        if created:
            obj.__dict__.update(created[0].__dict__)

    @admin.action(description="Revoke the selected invitations")
    def revoke_selected(self, request, queryset):
        done = sum(
            self.run_service(
                request,
                invitation.email,
                lambda i=invitation: services.invitation_revoke(
                    invitation=i, actor=Actor.from_request(request, role=self.role(request))
                ),
            )
            for invitation in queryset
        )
        if done:
            self.message_user(request, f"{done} invitation(s) revoked.", messages.SUCCESS)

    @admin.action(description="Resend the selected invitations")
    def resend_selected(self, request, queryset):
        done = sum(
            self.run_service(
                request,
                invitation.email,
                lambda i=invitation: services.invitation_resend(
                    invitation=i, actor=Actor.from_request(request, role=self.role(request))
                ),
            )
            for invitation in queryset
        )
        if done:
            self.message_user(request, f"{done} invitation(s) sent again.", messages.SUCCESS)
