// Small Leaflet helpers shared by the walk pages: a map with the configured tiles, coloured
// dots for people and places (no marker images), a tap-to-pin picker bound to hidden inputs,
// and straight-line distance.
(function () {
  "use strict";
  var ns = (window.homesafe = window.homesafe || {});
  var WELLINGTON = [-41.2924, 174.7787];
  var COLOURS = {
    requester: "#5b2a86",
    escort: "#1d6b3a",
    destination: "#b00020",
    pickup: "#8a4b00",
    start: "#5b2a86",
    location: "#5b2a86"
  };

  function create(box, tiles, options) {
    if (!window.L || !box) return null;
    var map = window.L.map(box, options || {}).setView(WELLINGTON, 14);
    window.L.tileLayer(tiles || box.getAttribute("data-tiles"), {
      maxZoom: 19,
      attribution: "&copy; OpenStreetMap contributors"
    }).addTo(map);
    return map;
  }

  // `below` puts the label under the dot: this phone's own dot, so that when two people walk
  // together both names stay readable.
  function dot(map, latlng, kind, label, below) {
    var marker = window.L.circleMarker(latlng, {
      radius: kind === "destination" || kind === "pickup" ? 7 : 10,
      color: "#ffffff",
      weight: 3,
      fillColor: COLOURS[kind] || "#1b1b1f",
      fillOpacity: 1
    }).addTo(map);
    if (label) {
      marker.bindTooltip(label, {
        permanent: true, direction: below ? "bottom" : "top", offset: [0, below ? 8 : -8]
      });
    }
    return marker;
  }

  function distance(a, b) {
    var rad = Math.PI / 180;
    var dLat = (b.lat - a.lat) * rad;
    var dLng = (b.lng - a.lng) * rad;
    var h = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) * Math.sin(dLng / 2);
    return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
  }

  // A map (created when first shown: Leaflet must measure a visible box) that puts one pin
  // where it is tapped and writes it to the hidden lat/lng inputs.
  function picker(box, latInput, lngInput, onPin) {
    var map = null;
    var marker = null;
    var kind = box.getAttribute("data-pin-map") || "location";

    function current() {
      var lat = parseFloat(latInput.value);
      var lng = parseFloat(lngInput.value);
      return isFinite(lat) && isFinite(lng) ? { lat: lat, lng: lng } : null;
    }
    function draw(point) {
      if (!map) return;
      if (marker) marker.setLatLng([point.lat, point.lng]);
      else marker = dot(map, [point.lat, point.lng], kind, null);
    }
    function set(lat, lng, quiet) {
      latInput.value = lat.toFixed(6);
      lngInput.value = lng.toFixed(6);
      draw({ lat: lat, lng: lng });
      if (map) map.setView([lat, lng], Math.max(map.getZoom(), 16));
      if (onPin && !quiet) onPin({ lat: lat, lng: lng });
    }
    function show(centre) {
      box.hidden = false;
      if (!map) {
        map = create(box, null, {});
        if (!map) return;
        map.on("click", function (e) { set(e.latlng.lat, e.latlng.lng); });
      }
      map.invalidateSize();
      var point = current() || centre;
      if (point) map.setView([point.lat, point.lng], 16);
      if (current()) draw(current());
    }
    function hide() { box.hidden = true; }
    return { set: set, show: show, hide: hide, current: current };
  }

  ns.maps = { create: create, dot: dot, distance: distance, picker: picker };
})();
