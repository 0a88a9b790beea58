// The overview map: public stations as markers on Leaflet, over the configured tiles or, with
// none configured, over the land around the stations (Natural Earth, /api/v1/land.geojson).
// A selector chooses the quantity the markers show: its value as a label, its level (or its
// place between the lowest and highest value) as a colour, explained by the legend. The list
// below the map has the same stations.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) { return; }
  var de = (document.documentElement.lang || "de") === "de";
  var locale = de ? "de-DE" : "en-GB";

  function t(german, english) { return de ? german : english; }
  function node(tag, className, text) {
    var e = document.createElement(tag);
    if (className) { e.className = className; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  // How a value reads on the map: a gauge's water level in whole centimetres above its datum
  // (as on the pages), everything else in its unit.
  function shown(s, v) {
    if (v.quantity === "water_level" && s.datum) {
      return { value: Math.round(v.value * 100), unit: "cm", long: "cm " + t("über", "above") + " " + s.datum, digits: 0 };
    }
    return { value: v.value, unit: v.unit, long: v.unit, digits: Math.abs(v.value) >= 100 ? 0 : 1 };
  }
  function format(x, digits) {
    return x.toLocaleString(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  }

  // The quantities the stations have, the most common first, with their names.
  function quantities(stations) {
    var seen = {};
    var order = [];
    stations.forEach(function (s) {
      s.latest.forEach(function (v) {
        if (!seen[v.quantity]) { seen[v.quantity] = { id: v.quantity, label: t(v.label_de, v.label_en), n: 0 }; order.push(seen[v.quantity]); }
        seen[v.quantity].n += 1;
      });
    });
    order.sort(function (a, b) { return b.n - a.n || a.label.localeCompare(b.label, locale); });
    return order;
  }

  // The classes a quantity's markers fall into: its levels where any station has them (a
  // value's level is in the API), otherwise four equal steps from the lowest to the highest
  // value shown.
  function classes(stations, quantity) {
    var levels = {};
    var values = [];
    var unit = "";
    stations.forEach(function (s) {
      (s.levels || []).forEach(function (l) {
        if (l.quantity !== quantity) { return; }
        var ranked = s.levels.filter(function (o) { return o.quantity === quantity && o.above <= l.above; }).length;
        levels[ranked] = levels[ranked] || t(l.label_de, l.label_en);
      });
      s.latest.forEach(function (v) {
        if (v.quantity === quantity) { var d = shown(s, v); values.push(d.value); unit = unit || d.long; }
      });
    });
    var ranks = Object.keys(levels).map(Number).sort();
    if (ranks.length) {
      var entries = [{ css: "swatch-level-0", text: t("unauffällig", "normal") }];
      ranks.forEach(function (r) { entries.push({ css: "swatch-level-" + Math.min(r, 3), text: levels[r] }); });
      return { unit: unit, entries: entries, of: function (s, v) { return "swatch-level-" + (v.level ? Math.min(v.level.rank, 3) : 0); } };
    }
    var low = Math.min.apply(null, values);
    var high = Math.max.apply(null, values);
    var steps = high > low ? 4 : 1;
    var width = (high - low) / steps;
    var digits = width >= 10 ? 0 : width >= 0.1 ? 1 : 2;
    var ramp = [];
    for (var i = 0; i < steps; i++) {
      var from = low + i * width;
      ramp.push({ css: "swatch-ramp-" + i, text: steps === 1 ? format(low, digits) : format(from, digits) + " – " + format(from + width, digits) });
    }
    return {
      unit: unit,
      entries: ramp,
      of: function (s, v) {
        var x = shown(s, v).value;
        return "swatch-ramp-" + (steps === 1 ? 0 : Math.min(steps - 1, Math.floor((x - low) / width)));
      }
    };
  }

  fetch("/api/v1/stations", { headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(function (stations) {
      el.textContent = "";
      // Quarter zoom steps: the stations fill the map, so their markers stay apart on a phone.
      var map = L.map(el, { scrollWheelZoom: false, zoomSnap: 0.25 });
      var tiles = el.getAttribute("data-tile-url");
      if (tiles) {
        L.tileLayer(tiles, { attribution: el.getAttribute("data-tile-attribution") || "", maxZoom: 18 }).addTo(map);
      } else {
        land(map);
      }
      var located = stations.filter(function (s) { return s.lat !== null && s.lon !== null && s.lat !== undefined; });
      var choices = quantities(located);
      // The legend follows the map (on a phone it would cover the markers inside it).
      var legend = node("div", "map-legend");
      legend.setAttribute("aria-live", "polite");
      el.parentNode.insertBefore(legend, el.nextSibling);

      // The selector sits above the map, outside Leaflet's keyboard handling.
      var select = null;
      if (choices.length) {
        var controls = node("div", "map-controls");
        var label = node("label", null, t("Auf der Karte: ", "On the map: "));
        label.htmlFor = "map-quantity";
        select = node("select");
        select.id = "map-quantity";
        choices.forEach(function (q) {
          var option = node("option", null, q.label);
          option.value = q.id;
          select.appendChild(option);
        });
        var preferred = choices.filter(function (q) { return q.id === "water_level"; })[0] || choices[0];
        select.value = preferred.id;
        controls.appendChild(label);
        controls.appendChild(select);
        el.parentNode.insertBefore(controls, el);
      }

      var markers = located.map(function (s) {
        var name = (!de && s.name_en) || s.name || s.id;
        var marker = L.marker([s.lat, s.lon], { keyboard: true, title: name });
        marker.station = s;
        marker.stationName = name;
        // Everything from the API becomes text nodes, never HTML.
        var text = node("div");
        s.latest.forEach(function (v, i) {
          if (i > 0) { text.appendChild(node("br")); }
          var d = shown(s, v);
          text.appendChild(document.createTextNode(t(v.label_de, v.label_en) + ": " + format(d.value, 2) + " " + d.long
            + (v.level ? " (" + t(v.level.label_de, v.level.label_en) + ")" : "")
            + (v.stale ? t(" (veraltet)", " (outdated)") : "")));
        });
        var link = node("a", null, name);
        link.href = "/stations/" + encodeURIComponent(s.id);
        var box = node("div");
        box.appendChild(link);
        box.appendChild(text);
        marker.bindPopup(box);
        // The popup takes the focus when it opens and gives it back to its marker on close,
        // so keyboard and screen reader users land on the station link at once.
        marker.on("popupopen", function () {
          var close = marker.getPopup().getElement().querySelector(".leaflet-popup-close-button");
          if (close) { close.setAttribute("aria-label", t("Schließen", "Close")); close.title = t("Schließen", "Close"); }
          link.focus();
        });
        marker.on("popupclose", function () {
          var element = marker.getElement();
          if (element && document.activeElement && box.contains(document.activeElement)) { element.focus(); }
          else if (element && document.activeElement === document.body) { element.focus(); }
        });
        // The element exists once the map has a view and is replaced by every new icon, so it
        // is named on every add.
        marker.on("add", function () { name_(marker); });
        return marker;
      });

      // What a marker says to a screen reader: the station, and the shown value in words.
      function name_(marker) {
        var element = marker.getElement();
        if (element) { element.setAttribute("aria-label", marker.ariaText || ("Station " + marker.stationName)); }
      }

      function show(quantity) {
        var c = quantity ? classes(located, quantity) : null;
        markers.forEach(function (marker) {
          var s = marker.station;
          var v = quantity ? s.latest.filter(function (x) { return x.quantity === quantity; })[0] : null;
          var dot = node("span", "marker-dot " + (v ? c.of(s, v) : "swatch-none"));
          var html = node("span", "marker");
          html.appendChild(dot);
          marker.ariaText = "Station " + marker.stationName + t(", Werte anzeigen", ", show values");
          if (v) {
            var d = shown(s, v);
            var words = format(d.value, d.digits) + " " + d.unit
              + (v.level ? " · " + t(v.level.label_de, v.level.label_en) : "")
              + (v.stale ? t(" (veraltet)", " (outdated)") : "");
            html.appendChild(node("span", "marker-label" + (v.stale ? " stale" : ""), words));
            marker.ariaText = "Station " + marker.stationName + ": " + t(v.label_de, v.label_en) + " " + words
              + t(", Werte anzeigen", ", show values");
          }
          marker.setIcon(L.divIcon({ className: "station-marker", iconSize: [24, 24], html: html }));
          name_(marker);
        });
        var box = legend;
        box.textContent = "";
        if (!c) { return; }
        var title = select.options[select.selectedIndex].text + (c.unit ? " (" + c.unit + ")" : "");
        box.appendChild(node("strong", null, title));
        var list = node("ul");
        c.entries.forEach(function (e) {
          var item = node("li");
          item.appendChild(node("span", "marker-dot " + e.css));
          item.appendChild(document.createTextNode(" " + e.text));
          list.appendChild(item);
        });
        var none = node("li");
        none.appendChild(node("span", "marker-dot swatch-none"));
        none.appendChild(document.createTextNode(t(" nicht gemessen", " not measured")));
        list.appendChild(none);
        box.appendChild(list);
      }

      var points = markers.map(function (m) { return m.getLatLng(); });
      if (points.length) {
        map.fitBounds(points, { padding: [30, 30], maxZoom: 14 });
      } else {
        map.setView([54.3, 9.7], 7);
      }
      show(select ? select.value : null);
      markers.forEach(function (m) { m.addTo(map); });
      if (select) { select.addEventListener("change", function () { show(select.value); }); }
      // Leaflet's own Escape handling needs the focus on the map itself, not on a marker or
      // the popup's link, so Escape anywhere in the map closes the open popup.
      el.addEventListener("keydown", function (e) {
        if (e.key === "Escape") { map.closePopup(); }
      });
      el.setAttribute("data-ready", String(points.length));
    })
    // The list below still has every station; the console says what went wrong.
    .catch(function (e) { if (window.console) { console.error("map:", e); } });

  // The land layer under the markers, and the map kept to the area it covers.
  function land(map) {
    fetch("/api/v1/land.geojson", { headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        var layer = L.geoJSON(data, {
          interactive: false,
          style: { className: "land", color: "#7d8a6a", weight: 1, fillColor: "#f1efe4", fillOpacity: 1 }
        }).addTo(map);
        layer.bringToBack();
        var b = data.bbox;
        if (b) { map.setMaxBounds([[b[1], b[0]], [b[3], b[2]]]); }
        map.attributionControl.addAttribution(t("Land: Natural Earth (gemeinfrei)", "Land: Natural Earth (public domain)"));
        var polygons = (data.features[0] && data.features[0].geometry.coordinates.length) || 0;
        el.setAttribute("data-land", String(polygons));
      })
      .catch(function (e) { if (window.console) { console.error("land:", e); } });
  }
}());
