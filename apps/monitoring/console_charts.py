"""A monitor's pictures in the tenant console: its response times over a chosen range and its
90 daily uptime bars.

The response-time chart is data produced here (a point per time slot: the average response
time of the checks in it, the slots holding a failed check as red marks, a caption with the
average, slowest and fastest) and drawn in the browser with the vendored uPlot
(static/console/charts.js, apps/core/charts.py); the inline SVG drawn here stays in a
<noscript> for browsers without JavaScript (it stretches to the page's width, `viewBox`,
non-scaling strokes). The uptime bars are a status strip, not a plot: HTML, as before. The data
comes from the selectors: response times from the monitor's results (raw, for ranges up to 7
days) or from its hourly rollups (longer ranges), the bars from the rollups' daily sums."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from apps.core.charts import chart_plot, epoch, json_number

from . import selectors
from .models import Monitor

RANGES = {
    "24h": (dt.timedelta(hours=24), "24 hours"),
    "7d": (dt.timedelta(days=7), "7 days"),
    "30d": (dt.timedelta(days=30), "30 days"),
    "90d": (dt.timedelta(days=90), "90 days"),
}
DEFAULT_RANGE = "24h"
BUCKETS = 336  # the SVG's x units: 24 h in ~4 min, 7 d in 30 min, 90 d in ~6 h
HEIGHT = 100  # the SVG's y units
LINE = "#2563eb"
FAILED = "#dc2626"
LEVEL_COLOURS = {
    "full": "#15803d",
    "high": "#65a30d",
    "partial": "#d97706",
    "low": "#b91c1c",
    "maintenance": "#2563eb",
    "no_data": "#d1d5db",
}
LEVEL_LABELS = {
    "full": "99.9 % or more",
    "high": "99 to 99.9 %",
    "partial": "95 to 99 %",
    "low": "under 95 %",
    "maintenance": "maintenance only",
    "no_data": "no data",
}
SOURCES = {
    "results": "monitor results (each check, kept raw for 7 days)",
    "rollups": "hourly rollups of the monitor results (hourly averages)",
}


def _buckets(points, since: dt.datetime, span: dt.timedelta) -> tuple[dict, set]:
    """Average response time per bucket, and the buckets holding a failed check."""
    sums: dict[int, list[float]] = {}
    failed: set[int] = set()
    for at, ms, ok in points:
        bucket = int((at - since) / span * BUCKETS)
        if not 0 <= bucket < BUCKETS:
            continue
        if not ok:
            failed.add(bucket)
        if ms is not None:
            total = sums.setdefault(bucket, [0.0, 0])
            total[0] += ms
            total[1] += 1
    return {b: total / count for b, (total, count) in sums.items()}, failed


def _runs(values: dict[int, float]) -> list[list[int]]:
    """The buckets in runs: a run breaks where the gap is more than three times the usual one
    (no check answered then), so checks sparser than the buckets still join."""
    runs: list[list[int]] = []
    buckets = sorted(values)
    gaps = sorted(b - a for a, b in itertools.pairwise(buckets))
    longest = 3 * gaps[len(gaps) // 2] if gaps else 1
    previous = None
    for bucket in buckets:
        if previous is None or bucket - previous > longest:
            runs.append([])
        runs[-1].append(bucket)
        previous = bucket
    return runs


def _spec(
    values: dict[int, float], failed: set[int], *, since: dt.datetime, span: dt.timedelta,
    summary: str,
) -> dict:  # fmt: skip
    """The data charts.js draws: a point per time slot with a response time (its middle), a
    gap (None) between runs, a red tick per slot holding a failed check."""

    def middle(bucket: float) -> int:
        return epoch(since + span * ((bucket + 0.5) / BUCKETS))

    xs: list[int] = []
    ys: list[float | None] = []
    end = None
    for run in _runs(values):
        if end is not None:  # the gap between two runs
            xs.append(middle((end + run[0]) / 2))
            ys.append(None)
        for bucket in run:
            xs.append(middle(bucket))
            ys.append(json_number(values[bucket], 1))
        end = run[-1]
    return {
        "x": xs,
        "x_min": epoch(since),
        "x_max": epoch(since + span),
        "x_kind": "time",
        "series": [{"label": "response time", "values": ys, "colour": LINE, "kind": "line"}],
        "unit": "ms",
        "y_label": "Response time (ms)",
        "height": 180,
        "decimals": 0,
        "limit": None,
        "marks": [
            {"x": middle(b), "colour": FAILED, "label": "failed check(s)", "style": "tick"}
            for b in sorted(failed)
        ],
        "summary": summary,
    }


def _polylines(values: dict[int, float], top: float) -> str:
    """One polyline per run of buckets (`_runs`)."""
    runs: list[list[str]] = [
        [f"{b + 0.5:g},{HEIGHT - min(values[b], top) / top * HEIGHT:.1f}" for b in run]
        for run in _runs(values)
    ]
    lines = []
    for run in runs:
        if len(run) == 1:  # a lone point still shows
            x, y = run[0].split(",")
            run = [f"{float(x) - 0.5:g},{y}", f"{float(x) + 0.5:g},{y}"]
        lines.append(
            f'<polyline points="{" ".join(run)}" fill="none" stroke="{LINE}" stroke-width="2" '
            'vector-effect="non-scaling-stroke" stroke-linejoin="round"/>'
        )
    return "".join(lines)


def response_chart(
    monitor: Monitor, *, range_name: str = DEFAULT_RANGE, now: dt.datetime | None = None
) -> dict:
    """{"plot", "spec", "svg", "caption", "source", "points", "range", "label"} of the
    response-time chart: `plot` is what the page shows (uPlot draws `spec`; `svg` is kept in
    its <noscript>)."""
    now = now or timezone.now()
    span, label = RANGES.get(range_name, RANGES[DEFAULT_RANGE])
    since = now - span
    source, points = selectors.response_times(monitor=monitor, since=since, now=now)
    values, failed = _buckets(points, since, span)
    timed = [ms for _at, ms, _ok in points if ms is not None]
    peak = max(values.values(), default=0)
    top = (peak * 1.15) or 1
    marks = "".join(
        f'<line x1="{b + 0.5:g}" x2="{b + 0.5:g}" y1="{HEIGHT - 8}" y2="{HEIGHT}" '
        f'stroke="{FAILED}" stroke-width="2" vector-effect="non-scaling-stroke"/>'
        for b in sorted(failed)
    )
    if timed:
        average = sum(timed) / len(timed)
        summary = (
            f"Response time over the last {label}: average {average:.0f} ms, "
            f"slowest {max(timed):.0f} ms, fastest {min(timed):.0f} ms"
        )
    else:
        summary = f"No response times in the last {label}"
    if failed:
        summary += f"; failures in {len(failed)} of {BUCKETS} time slots"
    svg = (
        f'<svg viewBox="0 0 {BUCKETS} {HEIGHT}" preserveAspectRatio="none" role="img" '
        f'aria-label="{summary}" '
        'style="display:block;width:100%;height:9rem;background:rgba(127,127,127,.06);'
        f'border-radius:4px">{_polylines(values, top)}{marks}</svg>'
    )
    axis = format_html(
        '<div style="display:flex;justify-content:space-between;font-size:.75rem">'
        "<span>{} ago</span><span>peak {} ms</span><span>now</span></div>",
        label,
        f"{peak:.0f}",
    )
    fallback = mark_safe(svg + axis)  # noqa: S308 (numbers and our own words only)
    spec = _spec(values, failed, since=since, span=span, summary=summary)
    return {
        "plot": chart_plot(chart_id="response-chart-plot", spec=spec, fallback=fallback),
        "spec": spec,
        "svg": fallback,
        "caption": summary,
        "source": SOURCES[source],
        "points": len(points),
        "range": range_name if range_name in RANGES else DEFAULT_RANGE,
        "label": label,
    }


def _bar_text(day: dict) -> str:
    if day["uptime_pct"] is not None:
        return f"{day['day'].isoformat()}: {day['uptime_pct']:g} % up"
    return f"{day['day'].isoformat()}: {LEVEL_LABELS[day['level']]}"


def uptime_bars(monitor: Monitor, *, now: dt.datetime | None = None) -> dict:
    """{"html", "summary", "legend", "days", "worst"}: the 90 daily bars (one per UTC day,
    today last), coloured by the day's uptime; each bar's tooltip says its day and uptime, the
    whole is one image to assistive technology, named by its summary, and the days below
    99.9 % are listed in text beside it."""
    days = selectors.daily_uptime(monitor=monitor, now=now)
    up = sum(d["up_s"] for d in days)
    down = sum(d["down_s"] for d in days)
    total = up + down
    pct = round(100.0 * up / total, 3) if total else None
    worse = [d for d in days if d["uptime_pct"] is not None and d["uptime_pct"] < 99.9]
    summary = (
        f"{len(days)}-day uptime: no data yet"
        if pct is None
        else f"{len(days)}-day uptime {pct:g} %, {len(worse)} day(s) below 99.9 %"
    )
    bars = format_html_join(
        "",
        '<span class="qs-uptime-bar" data-level="{}" title="{}" style="background:{}"></span>',
        ((d["level"], _bar_text(d), LEVEL_COLOURS[d["level"]]) for d in days),
    )
    html = format_html(
        '<div class="qs-uptime-bars" role="img" aria-label="{}" id="uptime-bars">{}</div>'
        '<div style="display:flex;justify-content:space-between;font-size:.75rem">'
        "<span>{} days ago</span><span>today</span></div>",
        summary,
        bars,
        len(days),
    )
    legend = [(LEVEL_COLOURS[level], text) for level, text in LEVEL_LABELS.items()]
    return {
        "html": html,
        "summary": summary,
        "legend": legend,
        "days": days,
        "worst": [(d["day"], d["uptime_pct"]) for d in sorted(worse, key=_pct)[:10]],
    }


def _pct(day: dict) -> float:
    return day["uptime_pct"]
