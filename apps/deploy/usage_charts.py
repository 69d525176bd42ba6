"""The app page's charts of CPU and memory over the last 24 hours, and its recent process exits,
for the operator console and the tenant console alike (AppAdminBase shows them).

This module produces the data: one series per process (`web.0`, …) at 5-minute resolution (the
busiest minute of each 5), the plan's limit (a dashed line), exits as vertical marks (red: OOM
kill), and a caption with the peak. The browser draws it with the vendored uPlot
(static/console/charts.js, apps/core/charts.py); the inline SVG drawn here is kept in a
<noscript> for browsers without JavaScript (it stretches to the page's width, `viewBox`, and
reads at 375 px). Text stays HTML."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from apps.core.charts import chart_plot, epoch, json_number

from . import selectors, usage_selectors
from .models import App, ProcessEvent, ProcessExitReason

BUCKET = dt.timedelta(minutes=5)
WINDOW = usage_selectors.HISTORY
BUCKETS = int(WINDOW / BUCKET)  # 288: the SVG's x units
HEIGHT = 100  # the SVG's y units
COLOURS = ("#2563eb", "#16a34a", "#9333ea", "#0891b2", "#ca8a04", "#db2777", "#4b5563")
EXITS_SHOWN = 20
MB = 1024 * 1024

Buckets = dict[int, tuple[int | None, int]]  # bucket → (cpu millicores, memory bytes), max of


def _buckets(series: list[usage_selectors.Series], since: dt.datetime) -> dict[str, Buckets]:
    """Per process (`web.0`), across its deployments, the busiest sample of each bucket."""
    lines: dict[str, Buckets] = defaultdict(dict)
    for one in series:
        line = lines[f"{one.process_type}.{one.index}"]
        for at, cpu, memory in one.points:
            bucket = int((at - since) / BUCKET)
            if not 0 <= bucket < BUCKETS:
                continue
            old_cpu, old_memory = line.get(bucket, (None, 0))
            if cpu is not None and (old_cpu is None or cpu > old_cpu):
                old_cpu = cpu
            line[bucket] = (old_cpu, max(old_memory, memory))
    return dict(sorted(lines.items()))


def _polylines(values: dict[int, float], top: float, colour: str) -> str:
    """One polyline per run of consecutive buckets (a gap: the process did not run)."""
    runs: list[list[str]] = []
    previous = None
    for bucket in sorted(values):
        if previous is None or bucket != previous + 1:
            runs.append([])
        y = HEIGHT - min(values[bucket], top) / top * HEIGHT
        runs[-1].append(f"{bucket + 0.5:g},{y:.1f}")
        previous = bucket
    lines = []
    for run in runs:
        if len(run) == 1:  # a lone point still shows
            x, y = run[0].split(",")
            run = [f"{float(x) - 0.5:g},{y}", f"{float(x) + 0.5:g},{y}"]
        lines.append(
            f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
            'stroke-width="2" vector-effect="non-scaling-stroke" stroke-linejoin="round"/>'
        )
    return "".join(lines)


def _exit_marks(exits: list[ProcessEvent], since: dt.datetime) -> str:
    marks = []
    for event in exits:
        x = (event.at - since) / BUCKET
        if not 0 <= x <= BUCKETS:
            continue
        oom = event.reason == ProcessExitReason.OOM_KILLED
        marks.append(
            f'<line x1="{x:.2f}" x2="{x:.2f}" y1="0" y2="{HEIGHT}" '
            f'stroke="{"#dc2626" if oom else "#ea580c"}" stroke-width="1.5" '
            'vector-effect="non-scaling-stroke"/>'
        )
    return "".join(marks)


def _exit_points(exits: list[ProcessEvent], since: dt.datetime, now: dt.datetime) -> list[dict]:
    """The exits as the chart's marks: when, colour, and what the tooltip says."""
    points = []
    for event in exits:
        if not since <= event.at <= now:
            continue
        oom = event.reason == ProcessExitReason.OOM_KILLED
        points.append(
            {
                "x": epoch(event.at),
                "colour": "#dc2626" if oom else "#ea580c",
                "label": f"{event.process_type}.{event.index} "
                + ("OOM killed" if oom else "exited"),
                "style": "line",
            }
        )
    return points


def _spec(
    lines: dict[str, dict[int, float]],
    *,
    since: dt.datetime,
    now: dt.datetime,
    unit: str,
    y_label: str,
    limit: float | None,
    marks: list[dict],
    summary: str,
) -> dict:
    """The data charts.js draws: every 5-minute bucket (its middle), a series per process
    with None where the process did not run."""
    return {
        "x": [epoch(since + BUCKET * b + BUCKET / 2) for b in range(BUCKETS)],
        "x_min": epoch(since),
        "x_max": epoch(now),
        "x_kind": "time",
        "series": [
            {
                "label": name,
                "values": [json_number(values.get(b), 1) for b in range(BUCKETS)],
                "colour": COLOURS[i % len(COLOURS)],
                "kind": "line",
            }
            for i, (name, values) in enumerate(lines.items())
        ],
        "unit": unit,
        "y_label": y_label,
        "height": 150,
        "decimals": 0,
        "limit": json_number(limit, 1) if limit else None,
        "marks": marks,
        "summary": summary,
    }


def _chart(
    chart_id: str,
    title: str,
    lines: dict[str, dict[int, float]],
    limit: float | None,
    unit: str,
    marks: str,
    spec_args: dict,
) -> tuple[SafeString, dict]:
    """The figure (caption, the element charts.js draws into, the SVG without JavaScript) and
    its data."""
    peak = max((v for values in lines.values() for v in values.values()), default=0)
    top = max(peak, limit or 0) * 1.1 or 1
    body = "".join(
        _polylines(values, top, COLOURS[i % len(COLOURS)])
        for i, values in enumerate(lines.values())
        if values
    )
    if limit:
        y = HEIGHT - limit / top * HEIGHT
        body += (
            f'<line x1="0" x2="{BUCKETS}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dc2626" '
            'stroke-dasharray="6 4" stroke-width="1" vector-effect="non-scaling-stroke"/>'
        )
    svg = (
        f'<svg viewBox="0 0 {BUCKETS} {HEIGHT}" preserveAspectRatio="none" role="img" '
        f'aria-label="{title}: peak {peak:.0f} {unit}" '
        'style="display:block;width:100%;height:7rem;background:rgba(127,127,127,.06);'
        f'border-radius:4px">{body}{marks}</svg>'
        '<div style="display:flex;justify-content:space-between;font-size:.7rem;opacity:.7">'
        "<span>24 h ago</span><span>12 h</span><span>now</span></div>"
    )
    caption = f"{title}: peak {peak:.0f} {unit}" + (f", limit {limit:.0f} {unit}" if limit else "")
    spec = _spec(lines, unit=unit, y_label=title, limit=limit, summary=caption, **spec_args)
    figure = format_html(
        '<figure class="qs-chart" id="{}" style="margin:0 0 1rem 0;max-width:100%;min-width:0">'
        '<figcaption style="font-size:.8rem;margin-bottom:.25rem">{}</figcaption>{}</figure>',
        chart_id,
        caption,
        chart_plot(
            chart_id=f"{chart_id}-plot",
            spec=spec,
            fallback=mark_safe(svg),  # noqa: S308 (numbers and fixed words only; the title is ours)
        ),
    )
    return figure, spec


def usage_data(app: App, *, tenant, now: dt.datetime | None = None) -> dict | None:
    """{"memory": (figure, spec), "cpu": (figure, spec), "processes": [names]} over the last
    24 hours, or None before the first sample. Three queries."""
    now = now or timezone.now()
    since = now - WINDOW
    series = usage_selectors.usage_series(app=app, since=since, until=now)
    if not series:
        return None
    exits = usage_selectors.exits_between(app=app, since=since, until=now)
    lines = _buckets(series, since)
    limits = selectors.resource_limits(tenant=tenant)
    memory_limit = next(
        (s.memory_limit_bytes for s in reversed(series) if s.memory_limit_bytes), None
    )
    marks = _exit_marks(exits, since)
    spec_args = {"since": since, "now": now, "marks": _exit_points(exits, since, now)}
    memory = {name: {b: m / MB for b, (_c, m) in values.items()} for name, values in lines.items()}
    cpu = {
        name: {b: c for b, (c, _m) in values.items() if c is not None}
        for name, values in lines.items()
    }
    memory_mb = round(memory_limit / MB) if memory_limit else limits.memory_mb
    return {
        "memory": _chart("usage-memory", "Memory (MB)", memory, memory_mb, "MB", marks, spec_args),
        "cpu": _chart(
            "usage-cpu",
            "CPU (millicores)",
            cpu,
            limits.cpu_millicores,
            "millicores",
            marks,
            spec_args,
        ),
        "processes": list(lines),
    }


def usage_panel(app: App, *, tenant, now: dt.datetime | None = None) -> SafeString:
    """Memory and CPU charts of the app's processes over the last 24 hours. Three queries."""
    data = usage_data(app, tenant=tenant, now=now)
    if data is None:
        return format_html(
            "<p>{}</p>",
            "No samples yet: CPU and memory are sampled every minute while the app runs, "
            "and kept for 24 hours.",
        )
    legend = format_html_join(
        "",
        '<li style="display:inline-flex;align-items:center;gap:.3rem;margin-right:1rem">'
        '<span style="display:inline-block;width:.8rem;height:.2rem;background:{}"></span>{}'
        "</li>",
        ((COLOURS[i % len(COLOURS)], name) for i, name in enumerate(data["processes"])),
    )
    return format_html(
        '<div class="qs-usage-charts" style="width:100%;max-width:48rem">{}{}'
        '<noscript><ul style="list-style:none;padding:0;margin:0;font-size:.8rem">{}</ul>'
        "</noscript>"
        '<ul style="list-style:none;padding:0;margin:0;font-size:.8rem">'
        '<li style="display:inline-flex;align-items:center;gap:.3rem;margin-right:1rem">'
        '<span style="display:inline-block;width:2px;height:.8rem;background:#dc2626"></span>'
        "OOM kill</li>"
        '<li style="display:inline-flex;align-items:center;gap:.3rem">'
        '<span style="display:inline-block;width:2px;height:.8rem;background:#ea580c"></span>'
        "other exit</li></ul></div>",
        data["memory"][0],
        data["cpu"][0],
        legend,
    )


def exits_panel(app: App, *, now: dt.datetime | None = None) -> SafeString:
    """The app's last exits and its counts over 24 hours. Two queries."""
    now = now or timezone.now()
    summary = usage_selectors.crash_summary(app=app, now=now)
    if summary.last_crash is None:
        return format_html("<p>{}</p>", "No process has exited without being asked to.")
    recent = list(app.process_events.order_by("-at", "-id")[:EXITS_SHOWN])
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}.{}</td><td><strong>{}</strong></td><td>{}</td></tr>",
        (
            (
                event.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                event.process_type,
                event.index,
                "OOM killed" if event.reason == ProcessExitReason.OOM_KILLED else "crashed",
                _status(event),
            )
            for event in recent
        ),
    )
    return format_html(
        "<p>In the last 24 hours: {} exit(s), {} OOM kill(s).</p>"
        '<div style="overflow-x:auto"><table><tr><th>when</th><th>process</th>'
        "<th>reason</th><th>exit</th></tr>{}</table></div>",
        summary.crashes,
        summary.oom_kills,
        rows,
    )


def _status(event: ProcessEvent) -> str:
    if event.signal is not None:
        return f"signal {event.signal}"
    return "-" if event.exit_code is None else f"code {event.exit_code}"
