// The overview map: public stations as markers on Leaflet, over the configured tiles or, with
// none configured, on a plain background. The list below the map has the same stations.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) { return; }
  var de = (document.documentElement.lang || "de") === "de";
  fetch("/api/v1/stations", { headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(function (stations) {
      el.textContent = "";
      var map = L.map(el, { scrollWheelZoom: false });
      var tiles = el.getAttribute("data-tile-url");
      if (tiles) {
        L.tileLayer(tiles, { attribution: el.getAttribute("data-tile-attribution") || "", maxZoom: 18 }).addTo(map);
      }
      var points = [];
      var markers = [];
      stations.forEach(function (s) {
        if (s.lat === null || s.lon === null || s.lat === undefined) { return; }
        // A focusable marker (Leaflet gives keyboard markers tabindex 0 and role "button"):
        // Tab reaches it, Enter opens its popup, Escape closes it again.
        var icon = L.divIcon({ className: "station-marker", iconSize: [22, 22], html: "" });
        var label = (!de && s.name_en) || s.name || s.id;
        var marker = L.marker([s.lat, s.lon], { icon: icon, keyboard: true, title: label });
        var name = "Station " + label + (de ? ", Werte anzeigen" : ", show values");
        // The element exists once the map has a view, so it is named on every add.
        marker.on("add", function () { marker.getElement().setAttribute("aria-label", name); });
        // Everything from the API becomes text nodes, never HTML.
        var text = document.createElement("div");
        s.latest.forEach(function (v, i) {
          if (i > 0) { text.appendChild(document.createElement("br")); }
          text.appendChild(document.createTextNode((de ? v.label_de : v.label_en) + ": " + v.value + " " + v.unit
            + (v.stale ? (de ? " (veraltet)" : " (outdated)") : "")));
        });
        var link = document.createElement("a");
        link.href = "/stations/" + encodeURIComponent(s.id);
        link.textContent = label;
        var box = document.createElement("div");
        box.appendChild(link);
        box.appendChild(text);
        marker.bindPopup(box);
        var tip = document.createElement("span");
        tip.textContent = label;
        marker.bindTooltip(tip);
        // The popup takes the focus when it opens and gives it back to its marker on close,
        // so keyboard and screen reader users land on the station link at once.
        marker.on("popupopen", function () {
          var close = marker.getPopup().getElement().querySelector(".leaflet-popup-close-button");
          if (close) { close.setAttribute("aria-label", de ? "Schließen" : "Close"); close.title = de ? "Schließen" : "Close"; }
          link.focus();
        });
        marker.on("popupclose", function () {
          var element = marker.getElement();
          if (element && document.activeElement && box.contains(document.activeElement)) { element.focus(); }
          else if (element && document.activeElement === document.body) { element.focus(); }
        });
        markers.push(marker);
        points.push([s.lat, s.lon]);
      });
      if (points.length) {
        map.fitBounds(points, { padding: [30, 30], maxZoom: 14 });
      } else {
        map.setView([54.3, 9.7], 7);
      }
      markers.forEach(function (m) { m.addTo(map); });
      // Leaflet's own Escape handling needs the focus on the map itself, not on a marker or
      // the popup's link, so Escape anywhere in the map closes the open popup.
      el.addEventListener("keydown", function (e) {
        if (e.key === "Escape") { map.closePopup(); }
      });
      el.setAttribute("data-ready", String(points.length));
    })
    // The list below still has every station; the console says what went wrong.
    .catch(function (e) { if (window.console) { console.error("map:", e); } });
}());
