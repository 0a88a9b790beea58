// Live values for the overview page: polls the public API and updates the table cells in
// place. The page is complete without this script; it only keeps the numbers fresh.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "de";
  var toggle = document.getElementById("live-toggle");
  var status = document.getElementById("live-status");
  var paused = false;
  var timer = null;
  var numberFormat = new Intl.NumberFormat(lang === "de" ? "de-DE" : "en-GB", { maximumFractionDigits: 3 });
  var timeFormat = new Intl.DateTimeFormat(lang === "de" ? "de-DE" : "en-GB", { dateStyle: "short", timeStyle: "medium" });

  function showTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      el.textContent = timeFormat.format(new Date(el.getAttribute("datetime")));
    });
  }

  function update(stations) {
    var changed = 0;
    stations.forEach(function (station) {
      var section = document.querySelector('section[data-station="' + CSS.escape(station.id) + '"]');
      if (!section) { return; }
      station.latest.forEach(function (v) {
        var row = section.querySelector('tr[data-quantity="' + CSS.escape(v.quantity) + '"]');
        if (!row) { return; }
        var time = row.querySelector("time");
        if (time.getAttribute("datetime") === v.time) { return; }
        row.querySelector(".number").textContent = numberFormat.format(v.value);
        time.setAttribute("datetime", v.time);
        time.textContent = timeFormat.format(new Date(v.time));
        changed += 1;
      });
    });
    if (changed > 0) {
      status.textContent = (lang === "de" ? "Aktualisiert: " : "Updated: ") + timeFormat.format(new Date());
    }
  }

  function poll() {
    fetch("/api/v1/stations", { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(update)
      .catch(function () { /* try again at the next tick */ });
  }

  function start() { timer = window.setInterval(poll, 5000); }

  toggle.hidden = false;
  toggle.addEventListener("click", function () {
    paused = !paused;
    if (paused) { window.clearInterval(timer); } else { poll(); start(); }
    toggle.textContent = paused ? toggle.dataset.resume : toggle.dataset.pause;
    toggle.setAttribute("aria-pressed", paused ? "true" : "false");
  });
  toggle.setAttribute("aria-pressed", "false");
  showTimes(document);
  start();
})();
