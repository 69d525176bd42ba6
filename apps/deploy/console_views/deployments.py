"""A deployment's page in the tenant console: its steps as a progress bar and its build and
release log streaming live. The stream is the API's own event stream (the generator and the
per-caller stream slots of api/deployment_views.py), authenticated by the console's session;
the steps are read from a small JSON status the page polls while the deployment runs."""

from __future__ import annotations

from django.db import connection
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.views.decorators.http import require_POST, require_safe
from rest_framework.exceptions import Throttled

from .. import selectors, services, tls
from ..api.deployment_views import _event_stream, _Stream, _StreamSlot
from ..models import FINAL_STATES, Deployment, DeploymentKind, DeploymentState
from ..pipeline import FULL, REUSE
from . import _common as c

LOG_LINES_SHOWN = 2000


def _deployment_or_404(app, deployment_id) -> Deployment:
    deployment = selectors.deployment_get(app=app, deployment_id=deployment_id)
    if deployment is None:
        raise Http404("No such deployment.")
    return deployment


def progress(deployment: Deployment) -> dict:
    """The deployment's steps for the progress bar: each `done`, `current`, `failed`,
    `skipped` (canceled before it) or `todo`, and the share done."""
    names = [DeploymentState.QUEUED.value]
    names += [str(s) for s in (FULL if deployment.kind == DeploymentKind.DEPLOY else REUSE)]
    names.append(DeploymentState.LIVE.value)
    state = deployment.state
    failed_step = deployment.failure_step if state == DeploymentState.FAILED else ""
    steps = []
    for name in names:
        times = deployment.steps.get(name) or {}
        if name == DeploymentState.QUEUED:
            status = "current" if state == DeploymentState.QUEUED else "done"
        elif name == failed_step:
            status = "failed"
        elif name == state:
            status = "done" if state == DeploymentState.LIVE else "current"
        elif times.get("finished_at"):
            status = "done"
        elif times:
            status = "failed" if state == DeploymentState.FAILED else "current"
        else:
            status = "skipped" if state in FINAL_STATES else "todo"
        steps.append({"name": name, "status": status})
    done = sum(step["status"] == "done" for step in steps)
    return {
        "state": state,
        "final": state in FINAL_STATES,
        "failure_reason": deployment.failure_reason,
        "steps": steps,
        "percent": 100 if state == DeploymentState.LIVE else round(done * 100 / len(steps)),
    }


@require_safe
def deployment_view(request: HttpRequest, object_id: str, deployment_id: str) -> HttpResponse:
    app = c.app_or_404(object_id)
    deployment = _deployment_or_404(app, deployment_id)
    lines = selectors.deployment_logs(deployment=deployment, limit=LOG_LINES_SHOWN)
    return c.render(
        request,
        "console/deploy/deployment.html",
        app=app,
        title=f"{app.name}: {deployment.kind} {str(deployment.pk)[:8]}",
        tab="overview",
        deployment=deployment,
        progress=progress(deployment),
        lines=lines,
        after=lines[-1].id if lines else 0,
        app_url=tls.app_url(selectors.app_hostname(app=app, tenant_slug=request.tenant.slug)),
        stream_url=c.url("deployment_stream", app.pk, deployment.pk),
        status_url=c.url("deployment_status", app.pk, deployment.pk),
        may_cancel=c.may(request, c.CANCEL) and deployment.state not in FINAL_STATES,
    )


@require_safe
def deployment_status_view(request: HttpRequest, object_id: str, deployment_id: str):
    app = c.app_or_404(object_id)
    return JsonResponse(progress(_deployment_or_404(app, deployment_id)))


@require_safe
def deployment_stream_view(request: HttpRequest, object_id: str, deployment_id: str):
    """The API's server-sent events (`log` per line, `end`, `reconnect`) for a session user:
    lines after `?after=` or the Last-Event-ID header; at most DEPLOY_LOG_STREAMS_PER_USER
    streams per person, shared with the API."""
    app = c.app_or_404(object_id)
    deployment = _deployment_or_404(app, deployment_id)
    after = 0
    for given in (request.GET.get("after", ""), request.headers.get("Last-Event-ID", "")):
        if given.isascii() and given.isdigit() and len(given) <= 18:
            after = max(after, int(given))
    try:
        slot = _StreamSlot.take(f"user:{request.user.pk}")
    except Throttled as exc:
        response = HttpResponse(str(exc.detail), status=429, content_type="text/plain")
        response["Retry-After"] = str(int(exc.wait or 30))
        return response
    response = StreamingHttpResponse(
        _Stream(_event_stream(connection.tenant, deployment.pk, after), slot.release),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@require_POST
def deployment_cancel_view(request: HttpRequest, object_id: str, deployment_id: str):
    app = c.app_or_404(object_id)
    c.require(request, c.CANCEL)
    deployment = _deployment_or_404(app, deployment_id)
    c.run(
        request,
        "Cancel",
        lambda: services.deployment_cancel(
            deployment=deployment, tenant=request.tenant, actor=c.actor(request)
        ),
    )
    return HttpResponseRedirect(c.url("deployment", app.pk, deployment.pk))
