"""What the consoles' charts share: the element `static/console/charts.js` draws into with the
vendored uPlot (`static/vendor/uplot/`), the chart's data beside it as a `json_script` block,
and the server's SVG kept in a <noscript> for browsers without JavaScript.

The chart modules (apps/deploy/usage_charts.py, apps/monitoring/console_charts.py,
apps/core/daily_metrics_charts.py) produce the data (timestamps, series, units, marks, the
summary) and their text; the drawing is the browser's. A page with charts loads the assets:
`{% include "console/_charts.html" %}` in a template, or `CHART_MEDIA` on a ModelAdmin."""

from __future__ import annotations

import datetime as dt
import math

from django import forms
from django.utils.html import format_html, json_script
from django.utils.safestring import SafeString

UPLOT = "vendor/uplot/uPlot.iife.min.js"
UPLOT_CSS = "vendor/uplot/uPlot.min.css"
SCRIPT = "console/charts.js"
CHART_MEDIA = forms.Media(js=[UPLOT, SCRIPT], css={"all": [UPLOT_CSS]})


def epoch(at: dt.datetime | dt.date) -> int:
    """Unix seconds (UTC) of a moment, or of a UTC day's midnight: uPlot's x values."""
    if not isinstance(at, dt.datetime):
        at = dt.datetime.combine(at, dt.time(), tzinfo=dt.UTC)
    return int(at.timestamp())


def json_number(number: float | None, digits: int = 2) -> float | None:
    """A JSON-safe number (Decimals become floats; NaN and None a gap)."""
    if number is None:
        return None
    number = float(number)
    return None if math.isnan(number) else round(number, digits)


def chart_plot(*, chart_id: str, spec: dict, fallback: str = "") -> SafeString:
    """The element charts.js draws `spec` into, the spec as JSON (`<chart_id>-data`), and
    `fallback` (the server's SVG, already safe) shown only without JavaScript."""
    return format_html(
        '<div class="qs-chart-plot" data-chart-id="{}"></div>{}<noscript>{}</noscript>',
        chart_id,
        json_script(spec, f"{chart_id}-data"),
        fallback,
    )
