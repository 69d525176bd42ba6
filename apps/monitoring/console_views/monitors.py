"""A monitor's pages in the tenant console: create one of any kind (HTTP, TCP, TLS certificate,
heartbeat: one form whose fields follow the kind), and its page (state, uptime, the
response-time chart, 90 daily uptime bars, recent checks and incidents, pause and resume).
Writes call the API's services (monitor_create, monitor_pause, monitor_resume)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_POST

from apps.core.problems import ApplicationError

from .. import console_charts, selectors, services
from ..models import HttpMethod, Monitor, MonitorKind, MonitorStatus
from . import _common as c

RECENT_CHECKS = 20
RECENT_INCIDENTS = 10
# Which kinds each kind-dependent field of the form applies to (the rest apply to all).
KIND_FIELDS = {
    "url": ("http",),
    "method": ("http",),
    "expected_status": ("http",),
    "keyword": ("http",),
    "host": ("tcp", "tls"),
    "port": ("tcp", "tls"),
    "tls_expiry_days": ("tls",),
    "period_s": ("heartbeat",),
    "grace_s": ("heartbeat",),
    "interval_s": ("http", "tcp", "tls"),
    "timeout_s": ("http", "tcp", "tls"),
}


class MonitorCreateForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            ("http", "HTTP(S): a URL answers"),
            ("tcp", "TCP: a port accepts connections"),
            ("tls", "TLS: a certificate is valid and not about to expire"),
            ("heartbeat", "Heartbeat: a job pings us on time"),
        ],
        initial="http",
    )
    name = forms.CharField(max_length=100)
    url = forms.CharField(
        label="URL", max_length=2000, required=False, help_text="http:// or https://…"
    )
    method = forms.ChoiceField(choices=HttpMethod.choices, initial=HttpMethod.GET, required=False)
    expected_status = forms.CharField(
        label="Expected status",
        max_length=200,
        required=False,
        help_text="Codes or ranges, comma-separated: 200-299, 301. Empty: any 2xx or 3xx.",
    )
    keyword = forms.CharField(
        max_length=500, required=False, help_text="Optional: text the page must contain."
    )
    host = forms.CharField(max_length=253, required=False, help_text="A host name or address.")
    port = forms.IntegerField(required=False, min_value=1, max_value=65535)
    tls_expiry_days = forms.IntegerField(
        label="Warn days before expiry", required=False, min_value=1, initial=14
    )
    period_s = forms.IntegerField(
        label="Period (seconds)",
        required=False,
        min_value=60,
        help_text="How often the job pings: 3600 = hourly, 86400 = daily.",
    )
    grace_s = forms.IntegerField(
        label="Grace (seconds)",
        required=False,
        min_value=10,
        help_text="How late a ping may be. Empty: 5 min (an hour for daily jobs).",
    )
    interval_s = forms.IntegerField(
        label="Check every (seconds)", required=False, min_value=1, initial=60
    )
    timeout_s = forms.IntegerField(
        label="Timeout (seconds)", required=False, min_value=1, initial=10
    )

    def fields_for_kind(self):
        """(field, kinds it applies to as a space-separated string) for the template."""
        return [(field, " ".join(KIND_FIELDS.get(field.name, ()))) for field in self]

    def service_fields(self) -> dict:
        """The cleaned values that apply to the chosen kind, as monitor_create takes them."""
        data = self.cleaned_data
        kind = data["kind"]
        out: dict = {"name": data["name"]}
        for name in services.EDITABLE[MonitorKind(kind)]:
            if name == "name" or name not in self.fields:
                continue
            value = data.get(name)
            if value in (None, ""):
                continue
            if name == "expected_status":
                value = [part.strip() for part in value.split(",") if part.strip()]
            out[name] = value
        return out


def monitor_create_view(request: HttpRequest) -> HttpResponse:
    """/console/monitoring/monitor/add/: a new monitor of any kind, then its page."""
    c.require(request)
    kind = request.GET.get("kind", "")
    initial = {"kind": kind if kind in MonitorKind.values else MonitorKind.HTTP}
    form = MonitorCreateForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            monitor = services.monitor_create(
                tenant=request.tenant,
                actor=c.actor(request),
                kind=form.cleaned_data["kind"],
                **form.service_fields(),
            )
        except ApplicationError as exc:
            c.field_error(form, exc)
            status = exc.status
        else:
            messages.success(request, f"{monitor.name} was created; its first check runs now.")
            return HttpResponseRedirect(c.url("monitor_change", monitor.pk))
    elif request.method == "POST":
        status = 400
    return c.render(
        request, "console/monitoring/monitor_add.html", title="New monitor", opts=Monitor._meta,
        form=form, status=status,
    )  # fmt: skip


def _target(monitor: Monitor) -> str:
    if monitor.kind == MonitorKind.HTTP:
        return monitor.url_masked
    if monitor.kind == MonitorKind.HEARTBEAT:
        return f"a ping every {monitor.period_s} s (grace {monitor.grace_s} s)"
    return f"{monitor.host}:{monitor.port}"


def monitor_view(request: HttpRequest, object_id: str) -> HttpResponse:
    """A monitor's page: its state, the response-time chart over `?range=`, 90 uptime bars,
    recent checks and incidents; pause or resume for members and up."""
    monitor = c.monitor_or_404(object_id)
    chart = console_charts.response_chart(monitor, range_name=request.GET.get("range", ""))
    recent = list(selectors.results_for_monitor(monitor=monitor)[:RECENT_CHECKS])
    incidents = list(
        selectors.incidents_list(filters={"monitor": monitor.pk}).order_by("-started_at", "-id")[
            :RECENT_INCIDENTS
        ]
    )
    return c.render(
        request,
        "console/monitoring/monitor.html",
        title=monitor.name,
        opts=Monitor._meta,
        original=monitor,
        monitor=monitor,
        target=_target(monitor),
        ping_url=(
            f"{settings.ROOT_URL}/ping/{monitor.ping_token}"
            if monitor.kind == MonitorKind.HEARTBEAT
            else ""
        ),
        uptime=selectors.uptime_summary(monitor=monitor),
        chart=chart,
        ranges=[(name, label) for name, (_span, label) in console_charts.RANGES.items()],
        bars=console_charts.uptime_bars(monitor),
        recent=recent,
        incidents=incidents,
        paused=monitor.status == MonitorStatus.PAUSED,
        may_write=c.may(request),
    )


@require_POST
def monitor_pause_view(request: HttpRequest, object_id: str) -> HttpResponse:
    monitor = c.monitor_or_404(object_id)
    c.require(request)
    done = c.run(
        request,
        "Pause",
        lambda: services.monitor_pause(
            monitor=monitor, tenant=request.tenant, actor=c.actor(request)
        ),
    )
    if done is not None:
        messages.success(request, f"{monitor.name} is paused: no checks, no alerts.")
    return HttpResponseRedirect(c.url("monitor_change", monitor.pk))


@require_POST
def monitor_resume_view(request: HttpRequest, object_id: str) -> HttpResponse:
    monitor = c.monitor_or_404(object_id)
    c.require(request)
    done = c.run(
        request,
        "Resume",
        lambda: services.monitor_resume(
            monitor=monitor, tenant=request.tenant, actor=c.actor(request)
        ),
    )
    if done is not None:
        messages.success(request, f"{monitor.name} is checked again, from now.")
    return HttpResponseRedirect(c.url("monitor_change", monitor.pk))
