"""The tenant console's "Export and import" page (/console/config/ on the tenant's host).

Members download the configuration (owners and admins also with values sealed to a
passphrase); owners and admins upload a document, see the dry run's plan, then apply it. The
uploaded document travels back with the "Apply" button as a hidden field, so what is applied is
what the plan was shown for. The same services as /api/v1/export and /api/v1/import, and the
same roles."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from apps.core.actor import Actor
from apps.core.problems import ApplicationError, InvalidInput
from apps.tenants.console import ConsolePage, console_read_only, console_role, console_site
from apps.tenants.models import Role
from apps.tenants.roles import role_at_least

from . import services

EXPORT_ROLE = Role.MEMBER
VALUES_ROLE = Role.ADMIN
IMPORT_ROLE = Role.ADMIN
MAX_UPLOAD = 2 * 1024 * 1024


class ExportForm(forms.Form):
    include_values = forms.BooleanField(required=False, label="Include env var values and URLs")
    passphrase = forms.CharField(
        required=False, widget=forms.PasswordInput, strip=False,
        help_text="With values: at least 12 characters; you need it again to import.",
    )  # fmt: skip


class ImportForm(forms.Form):
    file = forms.FileField(required=False, label="Document (.json)")
    document = forms.CharField(required=False, widget=forms.HiddenInput)
    passphrase = forms.CharField(required=False, widget=forms.PasswordInput, strip=False)
    deploy = forms.BooleanField(required=False, label="Deploy the apps created or changed")

    def document_json(self):
        upload = self.cleaned_data.get("file")
        if upload is not None:
            if upload.size > MAX_UPLOAD:
                raise InvalidInput("The document is larger than 2 MB.", field="file")
            raw = upload.read().decode("utf-8", "replace")
        else:
            raw = self.cleaned_data.get("document") or ""
        try:
            return json.loads(raw), raw
        except ValueError as exc:
            raise InvalidInput("Choose a JSON document made by an export.", field="file") from exc


def _download(document: dict, tenant) -> HttpResponse:
    response = HttpResponse(
        json.dumps(document, indent=2, sort_keys=True), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="quayside-{tenant.slug}.json"'
    response["Cache-Control"] = "no-store"
    return response


def _context(request, **extra) -> dict:
    role = console_role(request)
    return {
        **console_site.each_context(request),
        "title": "Export and import",
        "may_export": role_at_least(role, EXPORT_ROLE),
        "may_seal": role_at_least(role, VALUES_ROLE),
        "may_import": role_at_least(role, IMPORT_ROLE) and not console_read_only(request),
        "export_form": ExportForm(),
        "import_form": ImportForm(),
        **extra,
    }


def _export(request: HttpRequest) -> HttpResponse:
    form = ExportForm(request.POST)
    form.is_valid()
    include = bool(form.cleaned_data.get("include_values"))
    if include and not role_at_least(console_role(request), VALUES_ROLE):
        raise PermissionDenied
    try:
        document = services.config_export(
            tenant=request.tenant, actor=Actor.from_request(request), include_values=include,
            passphrase=form.cleaned_data.get("passphrase"),
        )  # fmt: skip
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return TemplateResponse(request, "console/portability.html", _context(request))
    return _download(document, request.tenant)


def _import(request: HttpRequest) -> TemplateResponse:
    if not role_at_least(console_role(request), IMPORT_ROLE):
        raise PermissionDenied
    form = ImportForm(request.POST, request.FILES)
    form.is_valid()
    apply = request.POST.get("action") == "apply"
    try:
        document, raw = form.document_json()
        result = services.config_import(
            tenant=request.tenant, actor=Actor.from_request(request), document=document,
            passphrase=form.cleaned_data.get("passphrase"), dry_run=not apply,
            deploy=bool(form.cleaned_data.get("deploy")) and apply,
        )  # fmt: skip
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return TemplateResponse(request, "console/portability.html", _context(request))
    if apply:
        summary = result["summary"]
        messages.success(
            request,
            f"Imported: {summary['create']} created, {summary['update']} updated, "
            f"{summary['unchanged']} unchanged.",
        )
    carried = ImportForm(initial={"document": raw})
    return TemplateResponse(
        request, "console/portability.html",
        _context(request, result=result, applied=apply, carry_form=carried),
    )  # fmt: skip


def portability_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if not role_at_least(console_role(request), EXPORT_ROLE):
            raise PermissionDenied
        if request.POST.get("action") == "export":
            return _export(request)
        return _import(request)
    return TemplateResponse(request, "console/portability.html", _context(request))


console_site.page_register(
    ConsolePage("config/", "portability", portability_page, "Export and import", "Settings")
)
