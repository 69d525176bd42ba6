"""Outgoing webhook endpoints on the tenant console's team pages (/console/team/webhooks/):
the list, adding one (URL, events; its signing secret shown once, on the page that answers the
POST), and an endpoint's page with its delivery log (each message's attempts: when, why, the
response code), "send a test event", replaying a delivery, enabling and disabling, deleting.

Roles are the API's (apps/webhooks/api/views.py): every member reads the endpoints; the
delivery log (whole payloads go out in it) and every change are for owners and admins. A page
shows only the controls the caller may use; a forged POST gets 403. Another tenant's endpoint
is not in this schema: 404. Reads go through selectors.py, writes through services.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core.problems import ApplicationError
from apps.tenants.console import console_role, console_site
from apps.tenants.console_pages import console_actor, console_may, console_require, console_url
from apps.tenants.models import Role
from apps.tenants.roles import role_at_least

from . import selectors, services
from .models import WebhookAttempt, WebhookEndpoint, WebhookMessage

READ = Role.VIEWER
MANAGE = LOG = Role.ADMIN  # the API's floors: changes, and the deliveries (payloads)
MESSAGES_PER_PAGE = 25


# --- What every page here does (apps/tenants/console_pages.py; _run as accounts' console_common,
# which this app may not import) ---------------------------------------------------------------

_url, _may, _require, _actor = console_url, console_may, console_require, console_actor


def _run(request: HttpRequest, label: str, call: Callable[[], Any]) -> Any | None:
    """A service's refusal becomes a message and None (403s are raised: forged requests)."""
    try:
        result = call()
    except ApplicationError as exc:
        if exc.status == 403:
            raise PermissionDenied(str(exc.detail)) from exc
        messages.error(request, f"{label}: {exc.detail}")
        return None
    return True if result is None else result


def _render(request: HttpRequest, template: str, *, title: str, status: int = 200, **context):
    base = {
        **console_site.each_context(request),
        "title": title,
        "tab": "webhooks",
        "role": console_role(request),
    }
    return TemplateResponse(request, template, {**base, **context}, status=status)


def _endpoint(endpoint_id) -> WebhookEndpoint:
    endpoint = selectors.webhook_endpoint_get(endpoint_id)
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


# --- Pages ----------------------------------------------------------------------------------


class EndpointForm(forms.Form):
    url = forms.CharField(
        max_length=2000,
        label="URL",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/hooks/quayside"}),
    )
    event_types = forms.CharField(
        required=False,
        max_length=2000,
        label="Events",
        widget=forms.TextInput(attrs={"placeholder": "deployment.*, monitor.down"}),
        help_text="Event types or patterns, comma separated; empty for every event.",
    )
    description = forms.CharField(required=False, max_length=500)

    def clean_event_types(self) -> list[str]:
        raw = self.cleaned_data.get("event_types") or ""
        return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]


@never_cache
def endpoints_view(request: HttpRequest) -> HttpResponse:
    """GET: the endpoints; POST: add one, answered with its signing secret, once."""
    form = EndpointForm()
    status = 200
    if request.method == "POST":
        _require(request, MANAGE)
        form = EndpointForm(request.POST)
        if form.is_valid():
            made = _run(
                request,
                form.cleaned_data["url"],
                lambda: services.webhook_endpoint_create(
                    tenant=request.tenant, actor=_actor(request), **form.cleaned_data
                ),
            )
            if made is not None:
                endpoint, secret = made
                return _render(
                    request,
                    "console/team/secret_once.html",
                    title=f"Signing secret of {endpoint.url}",
                    heading=f"The signing secret of {endpoint.url}",
                    secret=secret,
                    what="signing secret",
                    kept="Quayside keeps it encrypted, to sign with, and never shows it again; "
                    "if it is lost, rotate it.",
                    usage="Verify each delivery's webhook-signature header with it "
                    "(Standard Webhooks).",
                    back_url=_url("team_webhook", endpoint.pk),
                    back_label="Go to the endpoint",
                )
        status = 400
    return _render(
        request,
        "console/webhooks/endpoints.html",
        title="Webhooks",
        endpoints=list(selectors.webhook_endpoints_list().order_by("-created_at", "-id")),
        form=form,
        may_manage=_may(request, MANAGE),
        status=status,
    )


@dataclass(frozen=True)
class MessageRow:
    message: WebhookMessage
    attempts: list[WebhookAttempt]
    last: WebhookAttempt | None
    may_replay: bool


def _page(request: HttpRequest) -> int:
    value = request.GET.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) < 10_000 else 1


def endpoint_view(request: HttpRequest, endpoint_id) -> HttpResponse:
    """An endpoint, and (owners and admins) its delivery log, newest first, a page at a time:
    two queries for a page whatever its messages and attempts."""
    endpoint = _endpoint(endpoint_id)
    manage = _may(request, MANAGE)
    rows, page, has_next = None, 1, False
    if role_at_least(console_role(request), LOG):
        page = _page(request)
        start = (page - 1) * MESSAGES_PER_PAGE
        found = list(
            selectors.webhook_messages_for_endpoint(endpoint=endpoint).order_by(
                "-created_at", "-id"
            )[start : start + MESSAGES_PER_PAGE + 1]
        )
        has_next = len(found) > MESSAGES_PER_PAGE
        rows = []
        for message in found[:MESSAGES_PER_PAGE]:
            attempts = list(message.attempts.all())
            rows.append(
                MessageRow(
                    message=message,
                    attempts=attempts,
                    last=attempts[0] if attempts else None,
                    may_replay=manage
                    and endpoint.enabled
                    and message.event_type != services.TEST_EVENT_TYPE,
                )
            )
    return _render(
        request,
        "console/webhooks/endpoint.html",
        title=f"Webhook endpoint {endpoint.url}",
        endpoint=endpoint,
        rows=rows,
        page=page,
        has_next=has_next,
        may_manage=manage,
    )


@require_POST
def endpoint_test_view(request: HttpRequest, endpoint_id) -> HttpResponse:
    """Send a `webhook.test` event now (not retried) and say how it went."""
    _require(request, MANAGE)
    endpoint = _endpoint(endpoint_id)
    attempt = _run(
        request,
        "Test event",
        lambda: services.webhook_endpoint_test(
            endpoint=endpoint, tenant=request.tenant, actor=_actor(request)
        ),
    )
    if isinstance(attempt, WebhookAttempt):
        if attempt.ok:
            messages.success(
                request,
                f"Test event delivered: HTTP {attempt.status_code} in {attempt.duration_ms} ms.",
            )
        else:
            messages.warning(
                request,
                "Test event not delivered: "
                + (attempt.error or f"HTTP {attempt.status_code}")
                + ".",
            )
    return HttpResponseRedirect(_url("team_webhook", endpoint.pk) + "#deliveries")


@require_POST
def message_replay_view(request: HttpRequest, endpoint_id, msg_id: str) -> HttpResponse:
    """Send one message again, now (same webhook-id); the deliverer makes the attempt."""
    _require(request, MANAGE)
    endpoint = _endpoint(endpoint_id)
    message = selectors.webhook_message_get(endpoint=endpoint, msg_id=msg_id)
    if message is None:
        raise Http404("No such delivery.")
    done = _run(
        request,
        f"Replay {msg_id}",
        lambda: services.webhook_message_replay(
            message=message, endpoint=endpoint, tenant=request.tenant, actor=_actor(request)
        ),
    )
    if done is not None:
        messages.success(
            request, f"{message.event_type} ({msg_id}) is queued to be sent again, now."
        )
    return HttpResponseRedirect(_url("team_webhook", endpoint.pk) + f"#msg-{msg_id}")


@require_POST
def endpoint_enabled_view(request: HttpRequest, endpoint_id) -> HttpResponse:
    """POST enabled=1 enables (clears the failure streak), enabled=0 disables."""
    _require(request, MANAGE)
    endpoint = _endpoint(endpoint_id)
    enable = request.POST.get("enabled") == "1"
    who = {"endpoint": endpoint, "tenant": request.tenant, "actor": _actor(request)}
    if enable:
        done = _run(request, endpoint.url, lambda: services.webhook_endpoint_enable(**who))
    else:
        done = _run(
            request, endpoint.url, lambda: services.webhook_endpoint_update(**who, enabled=False)
        )
    if done is not None:
        messages.success(request, f"{endpoint.url} is {'enabled' if enable else 'disabled'}.")
    return HttpResponseRedirect(_url("team_webhook", endpoint.pk))


def endpoint_delete_view(request: HttpRequest, endpoint_id) -> HttpResponse:
    """GET: what deleting does; POST: delete the endpoint and its delivery log."""
    _require(request, MANAGE)
    endpoint = _endpoint(endpoint_id)
    if request.method == "POST":
        done = _run(
            request,
            endpoint.url,
            lambda: services.webhook_endpoint_delete(
                endpoint=endpoint, tenant=request.tenant, actor=_actor(request)
            ),
        )
        if done is not None:
            messages.success(request, f"{endpoint.url} was deleted.")
            return HttpResponseRedirect(_url("team_webhooks"))
        return HttpResponseRedirect(_url("team_webhook", endpoint.pk))
    return _render(
        request,
        "console/team/confirm.html",
        title=f"Delete {endpoint.url}?",
        heading=f"Delete the endpoint {endpoint.url}?",
        explanation="No more events are sent to it, and its delivery log is deleted with it. "
        "This cannot be undone.",
        allowed=_may(request, MANAGE),
        refusal="",
        button="Delete endpoint",
        danger=True,
        cancel_url=_url("team_webhook", endpoint.pk),
    )
