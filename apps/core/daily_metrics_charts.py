"""The operator dashboard's charts of the daily aggregates (apps/core/daily_metrics.py).

This module produces each chart's data (one point per UTC day: bars for counts per day, a line
for levels such as MRR or checks per minute; a day with no row is a gap, not a zero) and its
text (title, summary, source, dates). The browser draws it with the vendored uPlot
(static/console/charts.js, apps/core/charts.py), like the app pages' CPU and memory and a
monitor's response times; nothing comes from a CDN. The inline SVG drawn here stays in a
<noscript> for browsers without JavaScript (it stretches to its card, `viewBox`)."""

from __future__ import annotations

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from .charts import chart_plot, epoch, json_number
from .daily_metrics import Series, retention_days

HEIGHT = 100  # the SVG's y units; x units are days
COLOUR = "#2563eb"
SOURCE = "daily aggregates"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _bars(values: list[float | None], top: float) -> str:
    out = []
    for x, value in enumerate(values):
        if not value:
            continue
        height = min(value, top) / top * HEIGHT
        out.append(
            f'<rect x="{x + 0.1:g}" y="{HEIGHT - height:.2f}" width="0.8" '
            f'height="{height:.2f}" fill="{COLOUR}"/>'
        )
    return "".join(out)


def _lines(values: list[float | None], top: float) -> str:
    runs: list[list[str]] = [[]]
    for x, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(f"{x + 0.5:g},{HEIGHT - min(value, top) / top * HEIGHT:.2f}")
    out = []
    for run in runs:
        if len(run) == 1:  # a lone day still shows
            x, y = run[0].split(",")
            run = [f"{float(x) - 0.4:g},{y}", f"{float(x) + 0.4:g},{y}"]
        if run:
            out.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke="{COLOUR}" '
                'stroke-width="2" vector-effect="non-scaling-stroke" stroke-linejoin="round"/>'
            )
    return "".join(out)


def series_spec(series: Series, *, summary: str = "") -> dict:
    """The data charts.js draws: a point per UTC day (midnight), None for a day not collected."""
    return {
        "x": [epoch(day) for day in series.days],
        "x_min": epoch(series.days[0]) - 43200,
        "x_max": epoch(series.days[-1]) + 43200,
        "x_kind": "day",
        "series": [
            {
                "label": series.title,
                "values": [json_number(v) for v in series.values],
                "colour": COLOUR,
                "kind": "bars" if series.kind == "bar" else "line",
            }
        ],
        "unit": series.unit,
        "y_label": series.unit,
        "height": 130,
        "decimals": 2,
        "integer": series.kind == "bar",  # counts per day: whole ticks
        "limit": None,
        "marks": [],
        "summary": summary,
    }


def series_chart(series: Series) -> SafeString:
    """One figure: title and source, the chart, the first, middle and last dates."""
    days = len(series.days)
    known = [v for v in series.values if v is not None]
    peak = max(known, default=0)
    top = peak * 1.1 or 1
    body = _bars(series.values, top) if series.kind == "bar" else _lines(series.values, top)
    title = series.title + (f" ({series.dimension.upper()})" if series.dimension else "")
    if known:
        summary = f"latest {_number(series.latest)} {series.unit}, peak {_number(peak)}" + (
            f", {_number(series.total)} in {days} days" if series.kind == "bar" else ""
        )
    else:
        summary = "not collected yet for these days"
    label = f"{title} over the last {days} days: {summary}"
    first, middle, last = series.days[0], series.days[days // 2], series.days[-1]
    svg = format_html(
        "{}"
        '<div style="display:flex;justify-content:space-between;font-size:.75rem">'
        "<span>{}</span><span>{}</span><span>{}</span></div>",
        mark_safe(  # noqa: S308 (numbers; the label is escaped)
            f'<svg viewBox="0 0 {days} {HEIGHT}" preserveAspectRatio="none" role="img" '
            f'aria-label="{escape(label)}" '
            'style="display:block;width:100%;height:6rem;background:rgba(127,127,127,.06);'
            f'border-radius:4px">{body}</svg>'
        ),
        first.strftime("%d %b"),
        middle.strftime("%d %b"),
        last.strftime("%d %b"),
    )
    chart_id = f"daily-{series.name}" + (f"-{series.dimension}" if series.dimension else "")
    return format_html(
        '<figure class="qs-chart qs-daily-chart" data-series="{}" data-dimension="{}" '
        'data-points="{}" style="margin:0;max-width:100%;min-width:0">'
        '<figcaption style="font-size:.85rem;margin-bottom:.25rem">'
        "<strong>{}</strong> <span>{}</span>"
        '<span style="display:block;font-size:.75rem">Source: {}</span>'
        "</figcaption>{}</figure>",
        series.name,
        series.dimension,
        len(known),
        title,
        summary,
        SOURCE,
        chart_plot(chart_id=chart_id, spec=series_spec(series, summary=label), fallback=svg),
    )


def charts_panel(series: list[Series]) -> list[SafeString]:
    return [series_chart(one) for one in series]


def source_note() -> str:
    return (
        f"Source: daily aggregates (core.DailyMetric), collected hourly for yesterday and today by "
        f"the core.collect_daily_metrics beat task and kept {retention_days()} days."
    )
