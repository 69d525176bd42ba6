/* The consoles' charts, drawn with the vendored uPlot (static/vendor/uplot/).
 *
 * The server writes, for each chart, an element `<div class="qs-chart-plot" data-chart-id="ID">`
 * and a `json_script` block `<script type="application/json" id="ID-data">` holding
 *   x:       timestamps (Unix seconds, UTC),
 *   series:  [{label, values (null: a gap), colour, kind: "line" | "bars"}],
 *   unit, y_label, x_kind ("time" | "day"), height (px), decimals, integer (counts: whole
 *   y ticks),
 *   limit:   an optional dashed line (the plan's limit), drawn red,
 *   marks:   [{x, colour, label, style: "line" | "tick"}] (exits, failed checks),
 *   x_min, x_max: the x axis's span (the chart's period, whatever the data covers),
 *   summary: the text the figure's caption also says (the canvas's label).
 * Everything a reader needs is in the HTML around it (caption, summary, source); the server's
 * SVG stays in a <noscript> for browsers without JavaScript. No build step, no dependency but
 * uPlot; redrawn at the container's width whenever it changes (375 px phones included).
 */
(function () {
  "use strict";

  var GRID = "rgba(127,127,127,.22)";
  /* The y steps of a count (sign-ups, deployments): whole numbers only. */
  var WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6];
  /* uPlot's time ticks, in 24-hour UTC and "7 Dec": [step, format, then the format added when
   * the year, month, day, hour, minute or second rolls over, mode 1: added below]. */
  var TIME_TICKS = [
    [86400 * 365, "{YYYY}", null, null, null, null, null, null, 1],
    [86400 * 28, "{MMM}", "\n{YYYY}", null, null, null, null, null, 1],
    [86400, "{D} {MMM}", "\n{YYYY}", null, null, null, null, null, 1],
    [3600, "{HH}:{mm}", "\n{D} {MMM} {YYYY}", null, "\n{D} {MMM}", null, null, null, 1],
    [60, "{HH}:{mm}", "\n{D} {MMM} {YYYY}", null, "\n{D} {MMM}", null, null, null, 1],
  ];

  function number(value, decimals) {
    if (value == null || isNaN(value)) return "–";
    return value.toLocaleString("en", {
      maximumFractionDigits: decimals == null ? 0 : decimals,
      minimumFractionDigits: 0,
    });
  }

  function utc(seconds) {
    return uPlot.tzDate(new Date(seconds * 1e3), "Etc/UTC");
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function when(seconds, kind) {
    if (seconds == null) return "–";
    var d = utc(seconds);
    var day = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
    return kind === "day" ? day : day + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  /* Points where a value stands alone between gaps: a line cannot show them, a dot does. */
  function isolated(u, i, show) {
    if (show) return null;
    var values = u.data[i];
    var idxs = [];
    for (var j = 0; j < values.length; j++) {
      if (values[j] != null && values[j - 1] == null && values[j + 1] == null) idxs.push(j);
    }
    return idxs.length ? idxs : null;
  }

  /* The plan's limit (dashed) and the marks (exits, failed checks), over the series. */
  function overlays(spec) {
    return function (u) {
      var ctx = u.ctx;
      var left = u.bbox.left;
      var top = u.bbox.top;
      var width = u.bbox.width;
      var height = u.bbox.height;
      var ratio = window.devicePixelRatio || 1;
      ctx.save();
      ctx.beginPath();
      ctx.rect(left, top, width, height);
      ctx.clip();
      if (spec.limit != null) {
        var y = Math.round(u.valToPos(spec.limit, "y", true)) + 0.5;  // a crisp 1 px line
        ctx.strokeStyle = "#dc2626";
        ctx.lineWidth = ratio;
        ctx.setLineDash([6 * ratio, 4 * ratio]);
        ctx.beginPath();
        ctx.moveTo(left, y);
        ctx.lineTo(left + width, y);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      (spec.marks || []).forEach(function (mark) {
        var x = Math.round(u.valToPos(mark.x, "x", true));
        ctx.strokeStyle = mark.colour;
        ctx.lineWidth = 2 * Math.round(ratio);  // whole pixels: the colour stays the colour
        ctx.beginPath();
        ctx.moveTo(x, mark.style === "tick" ? top + height - 10 * ratio : top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
      });
      ctx.restore();
    };
  }

  /* A small box following the cursor with the time and each series' value there. */
  function tooltip(spec) {
    var box;
    return {
      hooks: {
        init: function (u) {
          box = document.createElement("div");
          box.className = "qs-chart-tip";
          box.setAttribute("aria-hidden", "true");
          box.style.display = "none";
          u.over.appendChild(box);
        },
        setCursor: function (u) {
          var idx = u.cursor.idx;
          if (idx == null || u.cursor.left < 0) {
            box.style.display = "none";
            return;
          }
          var lines = [when(u.data[0][idx], spec.x_kind) + (spec.x_kind === "day" ? "" : " UTC")];
          spec.series.forEach(function (s, i) {
            var v = u.data[i + 1][idx];
            if (v != null) lines.push(s.label + ": " + number(v, spec.decimals) + " " + spec.unit);
          });
          (spec.marks || []).forEach(function (mark) {
            var x = u.data[0];
            var next = idx + 1 < x.length ? x[idx + 1] : Infinity;
            if (mark.label && mark.x >= x[idx] && mark.x < next) lines.push(mark.label);
          });
          if (lines.length === 1) lines.push("no data");
          box.textContent = lines.join("\n");
          box.style.display = "block";
          var left = u.cursor.left + 12;
          if (left + box.offsetWidth > u.over.clientWidth) left = u.cursor.left - box.offsetWidth - 12;
          box.style.left = Math.max(0, left) + "px";
          box.style.top = Math.max(0, u.cursor.top - box.offsetHeight - 8) + "px";
        },
      },
    };
  }

  function options(spec, el, width) {
    var ink = getComputedStyle(el).color;
    var axis = {stroke: ink, grid: {stroke: GRID, width: 1}, ticks: {stroke: GRID, width: 1}};
    var series = [{
      label: spec.x_kind === "day" ? "Day (UTC)" : "Time (UTC)",
      value: function (u, v) { return when(v, spec.x_kind); },
    }];
    spec.series.forEach(function (s) {
      var bars = s.kind === "bars";
      series.push({
        label: s.label,
        stroke: s.colour,
        fill: bars ? s.colour : undefined,
        width: bars ? 0 : 2,
        spanGaps: false,
        paths: bars ? uPlot.paths.bars({size: [0.8, 40], align: 0}) : undefined,
        points: bars ? {show: false} : {filter: isolated},
        value: function (u, v) { return v == null ? "–" : number(v, spec.decimals) + " " + spec.unit; },
      });
    });
    return {
      width: width,
      height: spec.height || 140,
      tzDate: utc,
      series: series,
      /* Several series (an app's processes) need a legend; one is named by the caption. */
      legend: {show: spec.series.length > 1, live: true},
      cursor: {points: {size: 6}, drag: {x: false, y: false}},
      scales: {
        x: {
          time: true,
          range: function (u, min, max) {
            return spec.x_min != null ? [spec.x_min, spec.x_max] : [min, max];
          },
        },
        y: {
          range: function (u, min, max) {
            var top = Math.max(max || 0, spec.limit || 0) * 1.1;
            return [0, top > 0 ? top : 1];
          },
        },
      },
      axes: [
        Object.assign({}, axis, {values: TIME_TICKS}),
        Object.assign({}, axis, spec.integer ? {incrs: WHOLE_STEPS} : {}, {
          label: spec.y_label,
          labelSize: 18,
          size: 48,
          values: function (u, splits) {
            return splits.map(function (v) { return number(v, v % 1 ? 2 : 0); });
          },
        }),
      ],
      plugins: [tooltip(spec)],
      hooks: {draw: [overlays(spec)]},
    };
  }

  function draw(el) {
    if (el.dataset.drawn) return;
    var source = document.getElementById(el.dataset.chartId + "-data");
    if (!source || !window.uPlot) return;
    var spec = JSON.parse(source.textContent);
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    el.dataset.drawn = "1";
    var plot = new uPlot(options(spec, el, el.clientWidth || 300), data, el);
    plot.root.querySelector("canvas").setAttribute("aria-label", spec.summary || "");
    plot.root.querySelector("canvas").setAttribute("role", "img");
    var width = el.clientWidth;
    var resize = function () {
      if (el.clientWidth && el.clientWidth !== width) {
        width = el.clientWidth;
        plot.setSize({width: width, height: spec.height || 140});
      }
    };
    if (window.ResizeObserver) new ResizeObserver(resize).observe(el);
    else window.addEventListener("resize", resize);
  }

  /* The few rules uPlot's stylesheet leaves to us: the plot fills its box, the tooltip. */
  function style() {
    if (document.getElementById("qs-chart-style")) return;
    var css = document.createElement("style");
    css.id = "qs-chart-style";
    css.textContent =
      ".qs-chart-plot { width: 100%; min-width: 0; overflow: hidden; }" +
      ".qs-chart-plot .uplot { font-family: inherit; color: inherit; max-width: 100%; }" +
      ".qs-chart-plot .u-legend { font-size: .8rem; text-align: left; }" +
      ".qs-chart-plot .u-legend th { font-weight: 500; }" +
      ".qs-chart-tip { position: absolute; z-index: 10; pointer-events: none; white-space: pre;" +
      " font-size: .75rem; line-height: 1.3; padding: .3rem .45rem; border-radius: .3rem;" +
      " background: #0f172a; color: #f8fafc; box-shadow: 0 1px 4px rgb(0 0 0 / .3); }";
    document.head.appendChild(css);
  }

  function drawAll() {
    style();
    document.querySelectorAll(".qs-chart-plot[data-chart-id]").forEach(draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
