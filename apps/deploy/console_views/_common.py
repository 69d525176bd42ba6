"""What the tenant console's app pages share: finding the app (404 for another tenant's, whose
rows are not in this schema), the caller's role and the API's role floors, rendering a page
inside the admin's chrome, and turning a service's refusal into a message, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from rest_framework.exceptions import APIException

from apps.core.problems import ApplicationError
from apps.tenants.console import console_site
from apps.tenants.console_pages import console_actor, console_may, console_require
from apps.tenants.models import Role

from .. import selectors
from ..models import App

# The API's `required_roles` (apps/deploy/api/*_views.py), mirrored: the console may not let a
# role do what the API refuses it.
CREATE = DEPLOY = RESTART = SCALE = ROLLBACK = CANCEL = Role.MEMBER
ENV_WRITE = REVEAL = DOMAIN_WRITE = DELETE = Role.ADMIN

TABS = (
    ("overview", "Overview"),
    ("env", "Env vars"),
    ("domains", "Domains"),
    ("logs", "Logs"),
    ("releases", "Releases"),
    ("activity", "Activity"),
)


def url(name: str, *args: Any) -> str:
    """A console URL of these pages (`console:deploy_app_<name>`)."""
    return reverse(f"{console_site.name}:deploy_app_{name}", args=args)


def app_or_404(object_id) -> App:
    app = selectors.app_get(object_id)
    if app is None:
        raise Http404("No such app.")
    return app


may = console_may

require = console_require

actor = console_actor


def run(request: HttpRequest, label: str, call: Callable[[], Any]) -> Any | None:
    """Call a service; a refusal (invalid input, conflict, quota…) becomes an error message and
    None. The service's problem is shown as the API words it."""
    try:
        return call()
    except (ApplicationError, APIException) as exc:
        detail = getattr(exc, "detail", None) or str(exc)
        messages.error(request, f"{label}: {detail}")
        return None


def render(
    request: HttpRequest,
    template: str,
    *,
    app: App | None,
    title: str,
    tab: str = "",
    status: int = 200,
    **context: Any,
) -> TemplateResponse:
    """A page of an app inside the console's chrome, with the app's tabs."""
    base = {
        **console_site.each_context(request),
        "title": title,
        "opts": App._meta,
        "app": app,
        "tab": tab,
        "changelist_url": reverse(f"{console_site.name}:deploy_app_changelist"),
    }
    if app is not None:
        base["original"] = app
        base["tabs"] = [(name, label, url(name, app.pk), name == tab) for name, label in TABS]
        base["app_host"] = selectors.app_hostname(app=app, tenant_slug=request.tenant.slug)
    return TemplateResponse(request, template, {**base, **context}, status=status)
