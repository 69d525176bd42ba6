"""What the tenant console's monitoring pages share: finding a monitor or incident (404 for
another tenant's: its rows are not in this schema), the API's role floors, rendering inside the
admin's chrome, and a service's refusal shown as a message or next to its field, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse

from apps.core.problems import ApplicationError
from apps.tenants.console import console_site
from apps.tenants.console_pages import console_actor, console_may, console_require
from apps.tenants.models import Role

from .. import selectors
from ..models import Incident, Monitor

# The API's `required_roles` (apps/monitoring/api/views.py), mirrored: viewers read, members
# create, pause and resume monitors and acknowledge and resolve incidents.
WRITE = Role.MEMBER


def url(name: str, *args: Any) -> str:
    """A console URL of these pages (`console:monitoring_<name>`)."""
    return reverse(f"{console_site.name}:monitoring_{name}", args=args)


def monitor_or_404(object_id) -> Monitor:
    monitor = selectors.monitor_get(object_id)
    if monitor is None:
        raise Http404("No such monitor.")
    return monitor


def incident_or_404(object_id) -> Incident:
    incident = selectors.incident_get(object_id)
    if incident is None:
        raise Http404("No such incident.")
    return incident


def may(request: HttpRequest, minimum: str = WRITE) -> bool:
    return console_may(request, minimum)


def require(request: HttpRequest, minimum: str = WRITE) -> None:
    console_require(request, minimum)


actor = console_actor


def run(request: HttpRequest, label: str, call: Callable[[], Any]) -> Any | None:
    """Call a service; a refusal becomes an error message and None."""
    try:
        return call()
    except ApplicationError as exc:
        messages.error(request, f"{label}: {exc.detail}")
        return None


def field_error(form: forms.Form, exc: ApplicationError) -> None:
    """A service's InvalidInput names its field: show it next to that field."""
    errors = getattr(exc, "errors", None) or [{}]
    field = errors[0].get("field")
    form.add_error(field if field in form.fields else None, exc.detail)


def render(
    request: HttpRequest, template: str, *, title: str, opts, status: int = 200, **context: Any
) -> TemplateResponse:
    """A monitoring page inside the console's chrome."""
    base = {
        **console_site.each_context(request),
        "title": title,
        "opts": opts,
        "monitors_url": reverse(f"{console_site.name}:monitoring_monitor_changelist"),
        "incidents_url": reverse(f"{console_site.name}:monitoring_incident_changelist"),
        "status_pages_url": reverse(f"{console_site.name}:monitoring_statuspage_changelist"),
    }
    return TemplateResponse(request, template, {**base, **context}, status=status)
