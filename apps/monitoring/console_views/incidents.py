"""An incident's page in the tenant console: what happened (monitor, cause, times, duration),
who acknowledged or resolved it and their notes, and, for members and up while it is open,
acknowledge (an optional note) and resolve (a note saying how). Both call the API's services
(incident_acknowledge, incident_resolve), which audit them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_POST

from apps.core.problems import ApplicationError

from .. import selectors, services
from ..models import Incident, IncidentStatus
from . import _common as c

CHECKS_AROUND = 10


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: what you are looking at.",
        label="Acknowledge note",
    )


class ResolveForm(forms.Form):
    note = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required: how it was resolved (a fix deployed, a false alarm…).",
        label="Resolution note",
    )


def _people(incident: Incident) -> dict:
    """The emails of whoever acknowledged or resolved it (one query, none when nobody did)."""
    ids = {pk for pk in (incident.acknowledged_by_id, incident.resolved_by_id) if pk}
    if not ids:
        return {}
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "email"))


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s"


def _page(request, incident: Incident, *, ack_form=None, resolve_form=None, status: int = 200):
    people = _people(incident)
    checks = list(
        selectors.results_for_monitor(
            monitor=incident.monitor, filters={"since": incident.started_at}
        ).order_by("checked_at", "id")[:CHECKS_AROUND]
    )
    is_open = incident.status == IncidentStatus.OPEN
    return c.render(
        request,
        "console/monitoring/incident.html",
        title=f"Incident: {incident.monitor.name}",
        opts=Incident._meta,
        incident=incident,
        duration=_duration(incident.duration_s),
        acknowledged_by=people.get(incident.acknowledged_by_id, ""),
        resolved_by=people.get(incident.resolved_by_id, ""),
        checks=checks,
        may_acknowledge=is_open and incident.acknowledged_at is None and c.may(request),
        may_resolve=is_open and c.may(request),
        ack_form=ack_form or AcknowledgeForm(),
        resolve_form=resolve_form or ResolveForm(),
        status=status,
    )


def incident_view(request: HttpRequest, object_id: str) -> HttpResponse:
    return _page(request, c.incident_or_404(object_id))


def _act(request: HttpRequest, object_id: str, form_class, service, done: str, form_key: str):
    incident = c.incident_or_404(object_id)
    c.require(request)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            service(
                incident=incident,
                tenant=request.tenant,
                actor=c.actor(request),
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            if exc.status == 400:
                c.field_error(form, exc)
                return _page(request, incident, status=400, **{form_key: form})
            messages.error(request, exc.detail)
        else:
            messages.success(request, done)
        return HttpResponseRedirect(c.url("incident_change", incident.pk))
    return _page(request, incident, status=400, **{form_key: form})


@require_POST
def incident_acknowledge_view(request: HttpRequest, object_id: str) -> HttpResponse:
    return _act(request, object_id, AcknowledgeForm, services.incident_acknowledge,
                "Acknowledged: the team sees you are on it.", "ack_form")  # fmt: skip


@require_POST
def incident_resolve_view(request: HttpRequest, object_id: str) -> HttpResponse:
    return _act(request, object_id, ResolveForm, services.incident_resolve,
                "Resolved, with your note.", "resolve_form")  # fmt: skip
