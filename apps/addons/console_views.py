"""Add-ons in the tenant console: add one to an app, and one page per add-on (status, size,
attach/detach, rotate, reveal the URL after the password again, destroy after typing its name).
Viewers read; admins and the owner change, as in the API; a forged POST from a lower role is
403; another tenant's add-on is not in this schema (404)."""

from __future__ import annotations

import functools

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from rest_framework.exceptions import APIException

from apps.core.problems import ApplicationError
from apps.deploy import selectors as deploy_selectors
from apps.tenants.console import console_read_only, console_site
from apps.tenants.console_pages import console_actor, console_may, console_require
from apps.tenants.models import Role

from . import selectors, services
from .backups import selectors as backup_selectors
from .backups import services as backup_services
from .models import Addon, AddonKind

WRITE = Role.ADMIN  # the API's required_roles for every change (restores and downloads too)
BACKUP = Role.MEMBER  # taking a backup, as in the API
BACKUPS_SHOWN = 20


class AddonForm(forms.Form):
    app = forms.ChoiceField()
    kind = forms.ChoiceField(choices=AddonKind.choices)
    name = forms.CharField(max_length=63, required=False, help_text="Empty: a name is chosen.")
    env_var = forms.CharField(
        max_length=255, required=False, help_text="Empty: DATABASE_URL or REDIS_URL."
    )


class PasswordForm(forms.Form):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Your password again: revealing the URL is recorded in the audit log.",
    )


class ConfirmForm(forms.Form):
    confirm = forms.CharField(label="Type the add-on's name to delete it and its data")


def url(name: str, *args) -> str:
    return reverse(f"{console_site.name}:addons_addon_{name}", args=args)


def _may(request) -> bool:
    return console_may(request, WRITE)


def _require(request, least: str = "") -> None:
    console_require(request, least or WRITE)


_actor = console_actor


def _run(request, label: str, call):
    try:
        return call()
    except (ApplicationError, APIException) as exc:
        messages.error(request, f"{label}: {getattr(exc, 'detail', None) or exc}")
        return None


def _addon_or_404(object_id) -> Addon:
    addon = selectors.addons_all().filter(pk=object_id).first() if _uuid(object_id) else None
    if addon is None:
        raise Http404("No such add-on.")
    return addon


def _uuid(value) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _render(request, template: str, title: str, status: int = 200, **context) -> HttpResponse:
    base = {
        **console_site.each_context(request),
        "title": title,
        "opts": Addon._meta,
        "app": None,
        "changelist_url": reverse(f"{console_site.name}:addons_addon_changelist"),
    }
    return TemplateResponse(request, template, {**base, **context}, status=status)


def addon_add_view(request: HttpRequest) -> HttpResponse:
    _require(request)
    apps = list(deploy_selectors.apps_list().order_by("name").values_list("pk", "name"))
    form = AddonForm(request.POST or None, initial={"app": request.GET.get("app", "")})
    form.fields["app"].choices = [(str(pk), name) for pk, name in apps]
    status = 200
    if request.method == "POST":
        if form.is_valid() and not console_read_only(request):
            data = form.cleaned_data
            app = deploy_selectors.app_get(data["app"])
            create = functools.partial(
                services.addon_create, app=app, tenant=request.tenant, actor=_actor(request),
                kind=data["kind"], name=data["name"].strip(), env_var=data["env_var"].strip(),
            )  # fmt: skip
            addon = _run(request, "Add-on", create)
            if addon is not None:
                messages.success(request, f"{addon.name} is being provisioned.")
                return HttpResponseRedirect(url("detail", addon.pk))
        status = 400
    return _render(request, "console/addons/add.html", "Add an add-on", status, form=form)


@never_cache
def addon_detail_view(request: HttpRequest, object_id: str) -> HttpResponse:
    """GET: the add-on and its backups; POST `action` = rotate | detach | attach | reveal |
    destroy | restore (admins and the owner) | backup (members and up), as in the API."""
    addon = _addon_or_404(object_id)
    password, confirm, revealed, status = PasswordForm(), ConfirmForm(), None, 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "backup":
            _require(request, BACKUP)
        else:
            _require(request)
        if console_read_only(request):
            raise PermissionDenied("This tenant is read-only.")
        common = {"addon": addon, "tenant": request.tenant, "actor": _actor(request)}
        if action == "reveal":
            password = PasswordForm(request.POST)
            if password.is_valid() and not request.user.check_password(
                password.cleaned_data["password"]
            ):
                password.add_error("password", "That is not your password.")
            if password.is_valid():
                revealed = _run(
                    request, "Reveal", functools.partial(services.addon_reveal, **common)
                )
            else:
                status = 400
        elif action == "destroy":
            confirm = ConfirmForm(request.POST)
            destroy = functools.partial(services.addon_destroy, **common)
            if confirm.is_valid() and _run(
                request, "Delete", lambda: destroy(confirm=confirm.cleaned_data["confirm"])
            ):
                messages.success(request, f"{addon.name} is being deleted.")
                return HttpResponseRedirect(url("changelist"))
            status = 400
        elif action == "backup":
            backup = _run(
                request, "Backup", functools.partial(backup_services.backup_create, **common)
            )
            if backup is not None:
                messages.success(request, "A backup is being taken; it is listed below.")
            return HttpResponseRedirect(url("detail", addon.pk))
        elif action == "restore":
            backup = backup_selectors.backup_get(
                app=addon.app, addon_ref=addon.pk, backup_id=request.POST.get("backup_id", "")
            )
            if backup is None:
                raise Http404("No such backup.")
            restore = functools.partial(
                backup_services.backup_restore, backup=backup, tenant=request.tenant,
                actor=_actor(request), confirm=request.POST.get("confirm", ""),
            )  # fmt: skip
            if _run(request, "Restore", restore) is not None:
                messages.success(
                    request, f"Restoring {addon.name}: the app stops meanwhile and starts after."
                )
            return HttpResponseRedirect(url("detail", addon.pk))
        elif action in ("rotate", "detach", "attach"):
            call = getattr(services, f"addon_{action}")
            if _run(request, action.title(), functools.partial(call, **common)):
                messages.success(request, f"{addon.name}: {action} done; the app is deploying.")
            return HttpResponseRedirect(url("detail", addon.pk))
        else:
            return HttpResponse("Unknown action.", status=400)
    return _render(
        request,
        "console/addons/addon.html",
        f"{addon.app.name}: {addon.name}",
        status,
        addon=addon,
        may_write=_may(request),
        password_form=password,
        confirm_form=confirm,
        revealed=revealed,
        may_backup=console_may(request, BACKUP),
        backups=list(
            backup_selectors.backups_list(app=addon.app, addon_ref=addon.pk)[:BACKUPS_SHOWN]
        ),
    )


@never_cache
def backup_download_view(request: HttpRequest, object_id: str, backup_id: str):
    """A backup, decrypted as it streams (admins and the owner; audited, as in the API)."""
    _require(request)
    addon = _addon_or_404(object_id)
    backup = backup_selectors.backup_get(app=addon.app, addon_ref=addon.pk, backup_id=backup_id)
    if backup is None:
        raise Http404("No such backup.")
    chunks = _run(request, "Download", functools.partial(
        backup_services.backup_download, backup=backup, tenant=request.tenant,
        actor=_actor(request),
    ))  # fmt: skip
    if chunks is None:
        return HttpResponseRedirect(url("detail", addon.pk))
    response = StreamingHttpResponse(chunks, content_type="application/octet-stream")
    filename = backup_services.download_filename(backup)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
