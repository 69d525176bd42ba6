"""A status page's preview in the tenant console: the public page as /status/<slug>/ renders
it (the same selector and template), for this tenant's page, public or not yet, never cached.
Shown in a frame on the page's edit form (same origin only) and openable on its own."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_safe

from .. import selectors
from ..status_views import _html


@require_safe
@xframe_options_sameorigin
def status_page_preview_view(request: HttpRequest, object_id: str) -> HttpResponse:
    page = selectors.status_page_get(object_id)
    if page is None:
        raise Http404("No such status page.")
    payload = selectors.status_page_payload(page_id=page.pk, public_only=False)
    response = HttpResponse(_html(payload), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response
