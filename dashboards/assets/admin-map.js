// The technicians' map: devices (circles) and gateways (squares) at their exact positions,
// and a line from each device to every gateway that heard it in the last 24 hours, its colour
// the mean RSSI (with the figure in the line's tooltip, never colour alone).
(function () {
  "use strict";
  var el = document.getElementById("admin-map");
  if (!el || !window.L) { return; }
  var de = (document.documentElement.lang || "de") === "de";
  // RSSI classes (dBm): strong, fair, weak, at the edge.
  var classes = [
    { above: -90, colour: "#1b7837", de: "stark (über −90 dBm)", en: "strong (above −90 dBm)" },
    { above: -105, colour: "#b8860b", de: "mittel (−105 bis −90 dBm)", en: "fair (−105 to −90 dBm)" },
    { above: -115, colour: "#d95f02", de: "schwach (−115 bis −105 dBm)", en: "weak (−115 to −105 dBm)" },
    { above: -Infinity, colour: "#b00020", de: "an der Grenze (unter −115 dBm)", en: "at the edge (below −115 dBm)" }
  ];
  function colour(rssi) {
    for (var i = 0; i < classes.length; i++) { if (rssi === null || rssi > classes[i].above) { return classes[i].colour; } }
    return classes[classes.length - 1].colour;
  }
  fetch("/admin/api/v1/map", { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(function (data) {
      el.textContent = "";
      var map = L.map(el, { scrollWheelZoom: false, zoomSnap: 0.25 });
      fetch("/api/v1/land.geojson").then(function (r) { return r.json(); }).then(function (land) {
        L.geoJSON(land, { interactive: false, style: { color: "#7d8a6a", weight: 1, fillColor: "#f1efe4", fillOpacity: 1 } }).addTo(map).bringToBack();
      }).catch(function () {});
      var at = {};
      var points = [];
      data.gateways.forEach(function (g) {
        at["g:" + g.id] = [g.lat, g.lon];
        points.push([g.lat, g.lon]);
        L.marker([g.lat, g.lon], {
          keyboard: true,
          title: "Gateway " + (g.name || g.id),
          icon: L.divIcon({ className: "gateway-marker", iconSize: [24, 24], html: "" })
        }).bindPopup(document.createTextNode("Gateway " + g.id + (g.name ? " – " + g.name : ""))).addTo(map);
      });
      data.devices.forEach(function (d) {
        at["d:" + d.id] = [d.lat, d.lon];
        points.push([d.lat, d.lon]);
      });
      var lines = 0;
      data.links.forEach(function (l) {
        var a = at["d:" + l.dev_eui];
        var b = at["g:" + l.gateway_id];
        if (!a || !b) { return; }
        var rssi = l.rssi_mean === null ? null : Math.round(l.rssi_mean);
        L.polyline([a, b], { color: colour(rssi), weight: 3, opacity: 0.9 })
          .bindTooltip(l.dev_eui + " → " + l.gateway_id + ": " + (rssi === null ? "–" : rssi + " dBm") + ", " + l.uplinks + " Uplinks")
          .addTo(map);
        lines += 1;
      });
      data.devices.forEach(function (d) {
        var link = document.createElement("a");
        link.href = "/admin/devices/" + encodeURIComponent(d.id);
        link.textContent = (d.name || d.id) + " (" + d.id + ")";
        L.circleMarker([d.lat, d.lon], { radius: 7, color: "#1a1a1a", weight: 2, fillColor: "#ffffff", fillOpacity: 1 })
          .bindPopup(link).addTo(map);
      });
      if (points.length) { map.fitBounds(points, { padding: [30, 30], maxZoom: 15 }); } else { map.setView([54.3, 9.7], 7); }
      var legend = document.getElementById("admin-map-legend");
      if (legend) {
        var list = document.createElement("ul");
        classes.forEach(function (c) {
          var item = document.createElement("li");
          var swatch = document.createElement("span");
          swatch.className = "line-swatch";
          swatch.style.backgroundColor = c.colour;
          item.appendChild(swatch);
          item.appendChild(document.createTextNode(" " + (de ? c.de : c.en)));
          list.appendChild(item);
        });
        legend.appendChild(list);
      }
      el.setAttribute("data-ready", data.devices.length + "," + data.gateways.length + "," + lines);
    })
    .catch(function (e) { if (window.console) { console.error("admin map:", e); } });
}());
