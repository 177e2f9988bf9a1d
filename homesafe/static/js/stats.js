// The statistics map: published areas (GeoJSON from the server) shaded by their count.
// The same numbers are in the table under the map; without JavaScript the table remains.
(function () {
  "use strict";
  function shade(value, top) {
    var t = top > 0 ? value / top : 0;
    if (t > 0.75) return "#3b0f63";
    if (t > 0.5) return "#5b2a86";
    if (t > 0.25) return "#8a5cb5";
    return "#c3a6dd";
  }
  function start() {
    var box = document.getElementById("stats-map");
    var source = document.getElementById("stats-map-data");
    if (!box || !source || !window.L) return;
    var data = JSON.parse(source.textContent);
    var map = window.L.map(box, { scrollWheelZoom: false }).setView([-41.2924, 174.7787], 13);
    window.L.tileLayer(box.getAttribute("data-tiles"), {
      maxZoom: 18,
      attribution: "&copy; OpenStreetMap contributors"
    }).addTo(map);
    var top = 0;
    data.features.forEach(function (f) { top = Math.max(top, f.properties.value); });
    var layer = window.L.geoJSON(data, {
      style: function (f) {
        return { color: "#ffffff", weight: 1, fillColor: shade(f.properties.value, top), fillOpacity: 0.7 };
      },
      onEachFeature: function (f, l) { l.bindTooltip(String(f.properties.label)); }
    }).addTo(map);
    if (data.features.length) map.fitBounds(layer.getBounds(), { padding: [12, 12] });
    box.setAttribute("data-drawn", String(data.features.length));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
