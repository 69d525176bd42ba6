"""An app's runtime logs in the tenant console: the recent output of its processes (secrets
redacted by `app_runtime_logs`, as the API serves them), filtered by a search, and followed by
polling the JSON variant every few seconds."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from .. import services
from . import _common as c

LINES = (100, 500, 2000)


def _lines(request: HttpRequest, app) -> tuple[list[str], str, int]:
    query = request.GET.get("q", "").strip()[:200]
    wanted = request.GET.get("lines", "")
    count = int(wanted) if wanted.isdigit() and int(wanted) in LINES else LINES[1]
    lines = services.app_runtime_logs(app=app, lines=count)
    if query:
        needle = query.lower()
        lines = [line for line in lines if needle in line.lower()]
    return lines, query, count


@require_safe
def logs_view(request: HttpRequest, object_id: str) -> HttpResponse:
    app = c.app_or_404(object_id)
    lines, query, count = _lines(request, app)
    return c.render(
        request,
        "console/deploy/logs.html",
        app=app,
        title=f"{app.name}: logs",
        tab="logs",
        lines=lines,
        query=query,
        count=count,
        counts=LINES,
        follow=request.GET.get("follow") == "1",
        lines_url=c.url("logs_lines", app.pk),
    )


@require_safe
def logs_lines_view(request: HttpRequest, object_id: str) -> JsonResponse:
    app = c.app_or_404(object_id)
    lines, query, _count = _lines(request, app)
    return JsonResponse({"lines": lines, "q": query})
