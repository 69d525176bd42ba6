"""What the tenant console's team pages share (members and invitations, API keys): the caller's
role against the API's role floors, a page inside the admin's chrome with the team's tabs, and
a service's refusal turned into a message (or a 403 when the service says the role forbids it,
which a page that shows only the controls a role may use meets on a forged request only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse

from apps.core.problems import ApplicationError
from apps.tenants.console import console_role, console_site
from apps.tenants.console_pages import console_actor, console_may, console_require, console_url

PER_PAGE = 50


url = console_url

may = console_may

require = console_require

actor = console_actor


def run(request: HttpRequest, label: str, call: Callable[[], Any]) -> Any | None:
    """Call a service. A role refusal (403) is raised as PermissionDenied; any other refusal
    (invalid input, conflict, quota) becomes an error message and None."""
    try:
        result = call()
    except ApplicationError as exc:
        if exc.status == 403:
            raise PermissionDenied(str(exc.detail)) from exc
        messages.error(request, f"{label}: {exc.detail}")
        return None
    return True if result is None else result


def page_number(request: HttpRequest) -> int:
    value = request.GET.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) < 10_000 else 1


def paged(queryset, request: HttpRequest, per_page: int = PER_PAGE) -> tuple[list, int, bool]:
    """One page of `queryset` (one query): its rows, the page number, whether more follow."""
    page = page_number(request)
    start = (page - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])
    return rows[:per_page], page, len(rows) > per_page


def render(
    request: HttpRequest, template: str, *, title: str, tab: str, status: int = 200, **context
) -> TemplateResponse:
    """A team page inside the console's chrome; `tab` is the current one of the team's tabs
    (members, api_keys, webhooks)."""
    base = {
        **console_site.each_context(request),
        "title": title,
        "tab": tab,
        "role": console_role(request),
    }
    return TemplateResponse(request, template, {**base, **context}, status=status)
