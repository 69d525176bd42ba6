"""What the journeys check of a chart drawn by static/console/charts.js with the vendored uPlot:
uPlot's root is in the chart, its canvas has a size that fits the chart's box, and the series'
colour is on it (the library drew the data, not only the axes)."""

from __future__ import annotations

_INSPECT = """([selector, colour]) => {
    const box = document.querySelector(selector);
    const canvas = box && box.querySelector('.uplot canvas');
    if (!canvas) return null;
    const want = [1, 3, 5].map(i => parseInt(colour.slice(i, i + 2), 16));
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let ink = 0;
    for (let i = 0; i < pixels.length; i += 4) {
        if (pixels[i + 3] > 200 && Math.abs(pixels[i] - want[0]) + Math.abs(pixels[i + 1] - want[1])
            + Math.abs(pixels[i + 2] - want[2]) < 40) ink++;
    }
    const r = canvas.getBoundingClientRect();
    return {width: r.width, height: r.height, box: box.getBoundingClientRect().width, ink,
            legend: box.querySelectorAll('.u-legend .u-series').length};
}"""


def chart_drawn(page, selector: str, *, colour: str = "#2563eb") -> dict:
    """Waits for uPlot's canvas inside `selector` and returns its width, height, the box's
    width, the pixels of `colour` and the legend's rows; asserts it drew something."""
    page.wait_for_selector(f"{selector} .uplot canvas", state="attached")
    drawn = page.evaluate(_INSPECT, [selector, colour])
    assert drawn, f"no uPlot canvas in {selector}"
    assert drawn["width"] > 0 and drawn["height"] > 0, drawn
    assert drawn["width"] <= drawn["box"] + 1, drawn  # it fits its box
    assert drawn["ink"] > 20, drawn  # the series' line or bars, in their colour
    return drawn
