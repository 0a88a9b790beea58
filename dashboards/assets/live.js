// Live values: listens to the server's event stream and updates the value cells in place.
// The page is complete without this script; it only keeps the numbers fresh. The button stops
// and restarts the updates (WCAG 2.2.2: moving or updating content can be paused).
(function () {
  "use strict";
  var lang = document.documentElement.lang || "de";
  var de = lang === "de";
  var toggle = document.getElementById("live-toggle");
  var status = document.getElementById("live-status");
  if (!toggle || !status || !window.EventSource) { return; }
  var numberFormat = new Intl.NumberFormat(de ? "de-DE" : "en-GB", { maximumFractionDigits: 3 });
  // The time as the server writes it: Europe/Berlin, "01.12.2026, 19:05 MEZ".
  var timeFormat = new Intl.DateTimeFormat(de ? "de-DE" : "en-GB", {
    timeZone: "Europe/Berlin", day: "2-digit", month: "2-digit", year: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  var source = null;

  function say(text) { status.textContent = text; }

  function apply(v) {
    // The table rows and the overview's cards alike.
    var selector = '[data-station="' + CSS.escape(v.station) + '"][data-quantity="' + CSS.escape(v.quantity) + '"]';
    document.querySelectorAll(selector).forEach(function (row) {
      var time = row.querySelector("time");
      if (time && time.getAttribute("datetime") === v.time) { return; }
      var scale = row.getAttribute("data-scale");
      row.querySelector(".number").textContent = numberFormat.format(scale ? Math.round(v.value * Number(scale)) : v.value);
      if (time) {
        time.setAttribute("datetime", v.time);
        time.textContent = timeFormat.format(new Date(v.time));
      }
      // The level the new value reaches, in words (its colour only repeats them).
      var level = row.querySelector(".level");
      if (v.level) {
        if (!level) {
          level = document.createElement("strong");
          var number = row.querySelector(".number");
          var after = number.nextSibling;
          number.parentNode.insertBefore(level, after && after.nextSibling);
          number.parentNode.insertBefore(document.createTextNode(" "), level);
        }
        level.className = "level level-" + Math.min(v.level.rank, 3);
        level.textContent = de ? v.level.label_de : v.level.label_en;
      } else if (level) {
        // Below the station's first level.
        level.className = "level level-0";
        level.textContent = de ? "unauffällig" : "normal";
      }
      // A fresh value is no longer outdated.
      row.classList.remove("stale");
      var note = row.querySelector(".stale-note");
      if (note) { note.remove(); }
      row.classList.add("flash");
      window.setTimeout(function () { row.classList.remove("flash"); }, 1500);
    });
    say((de ? "Neuer Wert: " : "New value: ") + v.station + ", " + (de ? v.label_de : v.label_en) + " "
      + numberFormat.format(v.value) + " " + v.unit);
  }

  function connect() {
    source = new EventSource("/api/v1/stream");
    source.addEventListener("reading", function (e) {
      try { apply(JSON.parse(e.data)); } catch (err) { /* a malformed event changes nothing */ }
    });
    source.onopen = function () { say(de ? "Live-Aktualisierung läuft." : "Live updates on."); };
    source.onerror = function () { say(de ? "Verbindung unterbrochen, neuer Versuch …" : "Connection lost, retrying …"); };
  }

  function pause() {
    if (source) { source.close(); source = null; }
    toggle.textContent = toggle.getAttribute("data-resume");
    toggle.setAttribute("aria-pressed", "true");
    say(de ? "Live-Aktualisierung angehalten." : "Live updates paused.");
  }

  function resume() {
    toggle.textContent = toggle.getAttribute("data-pause");
    toggle.setAttribute("aria-pressed", "false");
    connect();
  }

  toggle.hidden = false;
  toggle.addEventListener("click", function () { if (source) { pause(); } else { resume(); } });
  connect();
}());
