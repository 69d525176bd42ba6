"""The console pages of outgoing webhooks were under `monitoring/` before webhooks got an app of
their own (`…/monitoring/webhookendpoint/…`); those addresses keep working, answered with a 308
to the same page under `webhooks/` (method and body kept, query string too)."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.urls import re_path

MOVED = r"(?P<rest>webhook(?:endpoint|message)/.*)$"


class PermanentRedirect(HttpResponseRedirect):
    status_code = 308


def _moved(request, rest: str, *, prefix: str):
    query = request.META.get("QUERY_STRING", "")
    return PermanentRedirect(f"/{prefix}/webhooks/{rest}" + (f"?{query}" if query else ""))


def moved_urlpatterns(prefix: str) -> list:
    """Routes for `/<prefix>/monitoring/webhook…`, placed before the admin site's own."""
    return [re_path(rf"^{prefix}/monitoring/{MOVED}", _moved, {"prefix": prefix})]
