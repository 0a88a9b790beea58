// History charts: each chart is drawn from its own data table (the same numbers a screen reader
// user reads there), with uPlot. Without this script the tables and summaries remain.
(function () {
  "use strict";
  if (!window.uPlot) { return; }
  var de = (document.documentElement.lang || "de") === "de";
  var timeFormat = new Intl.DateTimeFormat(de ? "de-DE" : "en-GB", { dateStyle: "short", timeStyle: "short" });
  document.querySelectorAll("figure.chart").forEach(function (fig) {
    var table = document.getElementById(fig.getAttribute("data-table"));
    if (!table) { return; }
    var xs = [];
    var ys = [];
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      xs.push(Date.parse(tr.getAttribute("data-t")) / 1000);
      ys.push(parseFloat(tr.getAttribute("data-v")));
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
    for (var i = 0; i < xs.length; i += 1) {
      if (i > 0 && xs[i] - xs[i - 1] > gap) { px.push(xs[i - 1] + 1); py.push(null); }
      px.push(xs[i]);
      py.push(ys[i]);
    }
    var target = fig.querySelector(".chart-canvas");
    var unit = fig.getAttribute("data-unit") || "";
    var options = {
      width: Math.max(280, Math.min(fig.clientWidth || 600, 900)),
      height: 220,
      legend: { show: false },
      series: [{}, { label: fig.getAttribute("data-label"), stroke: "#00558c", width: 2 }],
      axes: [{ stroke: "#1a1a1a" }, { stroke: "#1a1a1a", label: unit, size: 60 }]
    };
    new uPlot(options, [px, py], target);
    fig.setAttribute("data-drawn", String(xs.length));
  });
}());
