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
      stations.forEach(function (s) {
        if (s.lat === null || s.lon === null || s.lat === undefined) { return; }
        var marker = L.circleMarker([s.lat, s.lon], {
          radius: 9, color: "#00558c", weight: 3, fillColor: "#ffffff", fillOpacity: 1
        }).addTo(map);
        var values = s.latest.map(function (v) {
          return (de ? v.label_de : v.label_en) + ": " + v.value + " " + v.unit;
        }).join("<br>");
        var link = document.createElement("a");
        link.href = "/stations/" + encodeURIComponent(s.id);
        link.textContent = s.id;
        var box = document.createElement("div");
        box.appendChild(link);
        var text = document.createElement("div");
        text.innerHTML = values.replace(/[&<>"]/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }).replace(/&#60;br&#62;/g, "<br>");
        box.appendChild(text);
        marker.bindPopup(box);
        marker.bindTooltip(s.id);
        points.push([s.lat, s.lon]);
      });
      if (points.length) {
        map.fitBounds(points, { padding: [30, 30], maxZoom: 14 });
      } else {
        map.setView([54.3, 9.7], 7);
      }
      el.setAttribute("data-ready", String(points.length));
    })
    .catch(function () { /* the list below still has every station */ });
}());
