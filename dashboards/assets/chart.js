// History charts: each chart is drawn from its own data table (the same numbers a screen reader
// user reads there), with uPlot. Without this script the tables and summaries remain.
(function () {
  "use strict";
  if (!window.uPlot) { return; }
  var de = (document.documentElement.lang || "de") === "de";
  var timeFormat = new Intl.DateTimeFormat(de ? "de-DE" : "en-GB", { dateStyle: "short", timeStyle: "short" });
  // Times as people on the coast read them, whatever the visitor's own time zone.
  function berlin(ts) { return uPlot.tzDate(new Date(ts * 1000), "Europe/Berlin"); }
  // Axis ticks in the page's language: hours over a day, dates over longer windows.
  var locale = de ? "de-DE" : "en-GB";
  var hours = new Intl.DateTimeFormat(locale, { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit" });
  var days = new Intl.DateTimeFormat(locale, { timeZone: "Europe/Berlin", day: "numeric", month: "short" });
  document.querySelectorAll("figure.chart").forEach(function (fig) {
    var table = document.getElementById(fig.getAttribute("data-table"));
    if (!table) { return; }
    var xs = [];
    var ys = [];
    var lows = [];
    var highs = [];
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      xs.push(Date.parse(tr.getAttribute("data-t")) / 1000);
      ys.push(parseFloat(tr.getAttribute("data-v")));
      lows.push(parseFloat(tr.getAttribute("data-min")));
      highs.push(parseFloat(tr.getAttribute("data-max")));
    });
    table.querySelectorAll("tbody time[datetime]").forEach(function (el) {
      el.textContent = timeFormat.format(new Date(el.getAttribute("datetime")));
    });
    if (xs.length === 0) { return; }
    // Where the sensor sent nothing for longer than the page's gap, the line breaks (a null
    // point) instead of pretending to know the values in between.
    var gap = parseFloat(fig.getAttribute("data-gap")) || Infinity;
    var px = [];
    var py = [];
    var plo = [];
    var phi = [];
    for (var i = 0; i < xs.length; i += 1) {
      if (i > 0 && xs[i] - xs[i - 1] > gap) { px.push(xs[i - 1] + 1); py.push(null); plo.push(null); phi.push(null); }
      px.push(xs[i]);
      py.push(ys[i]);
      plo.push(isNaN(lows[i]) ? ys[i] : lows[i]);
      phi.push(isNaN(highs[i]) ? ys[i] : highs[i]);
    }
    // The x-axis is the window the page names (24 hours, 7 or 30 days), not just the data.
    var since = Date.parse(fig.getAttribute("data-since")) / 1000;
    var until = Date.parse(fig.getAttribute("data-until")) / 1000;
    if (isNaN(since) || isNaN(until) || until <= since) { since = px[0]; until = px[px.length - 1]; }
    // The y-axis follows the data with a margin; it starts at zero only where zero means
    // something (counts, precipitation).
    var fromZero = fig.getAttribute("data-zero") === "true";
    // The station's levels of this quantity, drawn as dashed lines and kept in view.
    var levels = (fig.getAttribute("data-levels") || "").split(",").map(parseFloat)
      .filter(function (v) { return isFinite(v); });
    function yRange(u, min, max) {
      var known = plo.concat(phi, levels).filter(function (v) { return v !== null && isFinite(v); });
      var lo = Math.min.apply(null, known);
      var hi = Math.max.apply(null, known);
      if (!isFinite(lo) || !isFinite(hi)) { lo = min; hi = max; }
      var pad = Math.max((hi - lo) * 0.1, Math.abs(hi) * 0.02, 0.1);
      return [fromZero ? Math.min(0, lo) : lo - pad, hi + pad];
    }
    var target = fig.querySelector(".chart-canvas");
    var unit = fig.getAttribute("data-unit") || "";
    var options = {
      width: Math.max(280, Math.min(fig.clientWidth || 600, 900)),
      height: 220,
      legend: { show: false },
      tzDate: berlin,
      scales: { x: { time: true, range: [since, until] }, y: { range: yRange } },
      series: [
        {},
        { label: fig.getAttribute("data-label"), stroke: "#00558c", width: 2 },
        { label: "min", stroke: "rgba(0,85,140,0.25)", width: 1 },
        { label: "max", stroke: "rgba(0,85,140,0.25)", width: 1 }
      ],
      // The spread of each interval (minimum to maximum) as a band around the mean.
      bands: [{ series: [3, 2], fill: "rgba(0,85,140,0.12)" }],
      axes: [
        {
          stroke: "#1a1a1a",
          values: function (u, splits) {
            var format = until - since > 2 * 86400 ? days : hours;
            return splits.map(function (ts) { return format.format(new Date(ts * 1000)); });
          }
        },
        { stroke: "#1a1a1a", label: unit, size: 60 }
      ],
      hooks: {
        // What the chart shows, for the tests and anyone curious: its x-range once drawn.
        draw: [function (u) {
          var ctx = u.ctx;
          ctx.save();
          ctx.setLineDash([6, 4]);
          ctx.lineWidth = 1.5;
          ctx.strokeStyle = "#b00020";
          levels.forEach(function (v) {
            var y = u.valToPos(v, "y", true);
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
          });
          ctx.restore();
          fig.setAttribute("data-levels-drawn", String(levels.length));
          fig.setAttribute("data-x-min", String(u.scales.x.min));
          fig.setAttribute("data-x-max", String(u.scales.x.max));
          fig.setAttribute("data-drawn", String(xs.length));
        }]
      }
    };
    new uPlot(options, [px, py, plo, phi], target);
  });
}());
