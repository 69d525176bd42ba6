"""An app's pages in the tenant console: create one from a git URL, its overview (URL, deploy a
branch or commit, processes with restarts, CPU and memory charts, scale, restart, recent
deployments) and deleting it after typing its name. Every write calls the API's service."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_POST

from apps.core.problems import ApplicationError

from .. import selectors, services, tls, usage_charts
from ..api.processes import runtime_processes
from ..models import MAX_PROCESSES_PER_TYPE, Deployment
from . import _common as c

RECENT_DEPLOYMENTS = 10


class AppCreateForm(forms.Form):
    name = forms.CharField(
        max_length=30, help_text="2 to 30 lower-case letters, digits and hyphens."
    )
    git_url = forms.CharField(
        label="Git URL",
        max_length=500,
        help_text="https://… of the repository (a token in the URL is stored encrypted).",
    )
    branch = forms.CharField(max_length=255, initial="main")
    health_check_path = forms.CharField(
        max_length=200, required=False, help_text="Optional, such as /healthz."
    )


class DeployForm(forms.Form):
    ref = forms.CharField(
        max_length=255, required=False, help_text="A branch, tag or commit; empty: the branch."
    )


def _field_errors(form: forms.Form, exc) -> None:
    """A service's InvalidInput names its field: show it next to that field."""
    errors = getattr(exc, "errors", None) or [{}]
    field = errors[0].get("field")
    form.add_error(field if field in form.fields else None, str(getattr(exc, "detail", exc)))


def app_create_view(request: HttpRequest) -> HttpResponse:
    """/console/deploy/app/add/: a new app from a git URL, then its page (to deploy it)."""
    c.require(request, c.CREATE)
    form = AppCreateForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            app, _secret = services.app_create(
                tenant=request.tenant, actor=c.actor(request), **form.cleaned_data
            )
        except ApplicationError as exc:
            _field_errors(form, exc)
            status = exc.status
        else:
            messages.success(request, f"{app.name} was created. Deploy it below.")
            return HttpResponseRedirect(c.url("overview", app.pk))
    elif request.method == "POST":
        status = 400
    return c.render(
        request, "console/deploy/app_add.html", app=None, title="New app", form=form,
        status=status,
    )  # fmt: skip


def app_overview_view(request: HttpRequest, object_id: str) -> HttpResponse:
    app = c.app_or_404(object_id)
    tenant = request.tenant
    processes, runtime_error = runtime_processes(app) if app.live_deployment_id else ([], "")
    formation = selectors.formation_get(app=app)
    release = app.current_release
    process_types = sorted((release.process_types if release else {}) or formation)
    active = (
        Deployment.objects.filter(pk=app.active_deployment_id).first()
        if app.active_deployment_id
        else None
    )
    recent = list(
        selectors.deployments_list(app=app).order_by("-created_at", "-id")[:RECENT_DEPLOYMENTS]
    )
    return c.render(
        request,
        "console/deploy/app_overview.html",
        app=app,
        title=app.name,
        tab="overview",
        app_url=tls.app_url(selectors.app_hostname(app=app, tenant_slug=tenant.slug)),
        deploy_form=DeployForm(initial={"ref": ""}),
        processes=processes,
        runtime_error=runtime_error,
        scale_rows=[(t, formation.get(t, 0)) for t in process_types],
        max_per_type=MAX_PROCESSES_PER_TYPE,
        active=active,
        recent=recent,
        usage=usage_charts.usage_panel(app, tenant=tenant),
        exits=usage_charts.exits_panel(app),
        may_deploy=c.may(request, c.DEPLOY),
        may_delete=c.may(request, c.DELETE),
    )


@require_POST
def app_deploy_view(request: HttpRequest, object_id: str) -> HttpResponse:
    """Deploy the branch head or a chosen ref; then the deployment's page, to watch it."""
    app = c.app_or_404(object_id)
    c.require(request, c.DEPLOY)
    form = DeployForm(request.POST)
    ref = form.cleaned_data["ref"].strip() if form.is_valid() else ""
    deployment = c.run(
        request,
        "Deploy",
        lambda: services.deployment_create(
            app=app, tenant=request.tenant, actor=c.actor(request), ref=ref, source="console"
        ),
    )
    if deployment is None:
        return HttpResponseRedirect(c.url("overview", app.pk))
    return HttpResponseRedirect(c.url("deployment", app.pk, deployment.pk))


@require_POST
def app_restart_view(request: HttpRequest, object_id: str) -> HttpResponse:
    app = c.app_or_404(object_id)
    c.require(request, c.RESTART)
    deployment = c.run(
        request,
        "Restart",
        lambda: services.app_restart(app=app, tenant=request.tenant, actor=c.actor(request)),
    )
    if deployment is None:
        return HttpResponseRedirect(c.url("overview", app.pk))
    messages.success(request, "Restart queued: fresh processes replace the running ones.")
    return HttpResponseRedirect(c.url("deployment", app.pk, deployment.pk))


@require_POST
def app_scale_view(request: HttpRequest, object_id: str) -> HttpResponse:
    """Counts per process type (`count-<type>` fields); beyond the plan's processes limit the
    service's 409 quota problem is shown as a message."""
    app = c.app_or_404(object_id)
    c.require(request, c.SCALE)
    formation: dict[str, int] = {}
    for key, value in request.POST.items():
        if not key.startswith("count-"):
            continue
        try:
            formation[key[len("count-") :]] = int(value)
        except ValueError:
            messages.error(request, f"Scale: {key[6:]} needs a whole number.")
            return HttpResponseRedirect(c.url("overview", app.pk))
    deployment = c.run(
        request,
        "Scale",
        lambda: services.app_scale(
            app=app, tenant=request.tenant, actor=c.actor(request), formation=formation
        ),
    )
    if deployment is not None:
        shown = ", ".join(f"{t}={n}" for t, n in sorted(deployment.formation.items()))
        messages.success(request, f"Scaling to {shown}.")
    return HttpResponseRedirect(c.url("overview", app.pk) + "#processes")


def app_delete_view(request: HttpRequest, object_id: str) -> HttpResponse:
    """Delete the app once its name is typed (GET: the confirmation page)."""
    app = c.app_or_404(object_id)
    error = ""
    if request.method == "POST":
        c.require(request, c.DELETE)
        if request.POST.get("confirm_name", "").strip() != app.name:
            error = f"Type {app.name} to delete it."
        else:
            name = app.name
            done = c.run(
                request,
                "Delete",
                lambda: (
                    services.app_delete(app=app, tenant=request.tenant, actor=c.actor(request))
                    or True
                ),
            )
            if done:
                messages.success(request, f"{name} was deleted.")
                return HttpResponseRedirect(c.url("changelist"))
            return HttpResponseRedirect(c.url("delete", app.pk))
    return c.render(
        request,
        "console/deploy/app_delete.html",
        app=app,
        title=f"Delete {app.name}",
        tab="overview",
        error=error,
        may_delete=c.may(request, c.DELETE),
        status=400 if error else 200,
    )
