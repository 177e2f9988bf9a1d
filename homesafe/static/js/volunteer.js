// The volunteer's page while on duty: shares this phone's position every few seconds, and keeps
// the list of walk offers live. An offer that someone else took disappears with a thank-you.
(function () {
  "use strict";
  var root = document.querySelector("[data-volunteer-live]");
  var ns = window.homesafe;
  if (!root || !ns || !ns.live) return;

  var list = root.querySelector("[data-offer-list]");
  var template = root.querySelector("[data-offer-template]");
  var empty = root.querySelector("[data-no-offers]");
  var notice = root.querySelector("[data-offer-notice]");
  var note = root.querySelector("[data-position-note]");
  var placeholder = root.getAttribute("data-placeholder");
  var duty = root.getAttribute("data-duty-state");
  var tiles = root.getAttribute("data-tiles");
  var shown = {}; // offer id -> {item, map, you, area, since}
  var gone = {}; // withdrawn or taken: a late re-read must not bring them back
  var me = null;

  function t(name, values) { return ns.text(root, name, values); }

  function fitOffer(entry) {
    if (!entry.map) return;
    var bounds = entry.area.getBounds();
    if (entry.you) bounds.extend(entry.you.getLatLng());
    // Room above the dots for their labels.
    entry.map.fitBounds(bounds, {
      paddingTopLeft: [30, 45], paddingBottomRight: [30, 20], maxZoom: 17, animate: false
    });
  }

  function add(offer) {
    if (shown[offer.id] || gone[offer.id]) return;
    var item = template.content.firstElementChild.cloneNode(true);
    item.setAttribute("data-offer", offer.id);
    item.querySelector("[data-offer-distance]").textContent = t("distance", { m: offer.distance_m });
    item.querySelector("[data-offer-party]").textContent =
      offer.party_size === 1 ? t("party-one") : t("party-many", { n: offer.party_size });
    item.querySelector("[data-offer-walk]").textContent =
      t("walk", { km: (offer.walk_distance_m / 1000).toFixed(1) });
    Array.prototype.forEach.call(item.querySelectorAll("form"), function (form) {
      form.setAttribute("action", form.getAttribute("action").replace(placeholder, offer.id));
    });
    list.insertBefore(item, list.firstChild);
    var entry = { item: item, map: null, you: null, area: null, since: Date.now() };
    var box = item.querySelector("[data-offer-map]");
    entry.map = ns.maps.create(box, tiles, { zoomControl: false, attributionControl: true });
    if (entry.map) {
      var pickup = [offer.pickup.lat, offer.pickup.lng];
      entry.area = window.L.circle(pickup, {
        radius: offer.pickup.precision_m || 100, color: "#8a4b00", weight: 2, fillOpacity: 0.2
      }).addTo(entry.map);
      entry.area.bindTooltip(t("pickup"), { permanent: true, direction: "center" });
      if (me) entry.you = ns.maps.dot(entry.map, [me.lat, me.lng], "escort", t("you"), me.lat < offer.pickup.lat);
      fitOffer(entry);
    }
    shown[offer.id] = entry;
    empty.hidden = true;
  }

  function remove(id, withdrawn) {
    var entry = shown[id];
    if (!entry) return;
    gone[id] = true;
    if (entry.map) entry.map.remove();
    entry.item.remove();
    delete shown[id];
    if (withdrawn) {
      notice.textContent = t("withdrawn");
      notice.hidden = false;
    }
    empty.hidden = Object.keys(shown).length > 0;
  }

  // `asked`: when the re-read left; offers pushed after that are newer than its answer.
  function sync(offers, asked) {
    var current = {};
    offers.forEach(function (offer) { current[offer.id] = true; });
    Object.keys(shown).forEach(function (id) {
      if (!current[id] && shown[id].since < asked) remove(id, true);
    });
    offers.slice().reverse().forEach(add);
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; });
  }
  function dutyChanged(next) { if (next && next !== duty) window.location.reload(); }
  function refresh() {
    getJson(root.getAttribute("data-me-url")).then(function (me) {
      if (me) dutyChanged(me.duty_state);
    }).catch(function () { /* the next poll tries again */ });
    var asked = Date.now();
    getJson(root.getAttribute("data-offers-url")).then(function (offers) {
      if (offers) sync(offers, asked);
    }).catch(function () { /* the next poll tries again */ });
  }

  sync(JSON.parse(document.getElementById("offers-initial").textContent), 0);
  ns.live({
    refresh: refresh,
    handlers: {
      "offer.new": function (message) { if (message.offer) add(message.offer); },
      "offer.withdrawn": function (message) { remove(message.offer_id, true); },
      "volunteer.state": function (message) { dutyChanged(message.duty_state); }
    }
  });

  ns.positionSender(root.getAttribute("data-position-url"), root.getAttribute("data-csrf"), {
    onFix: function (point) {
      me = point;
      note.textContent = t("sharing");
      Object.keys(shown).forEach(function (id) {
        var entry = shown[id];
        if (!entry.map) return;
        if (entry.you) entry.you.setLatLng([point.lat, point.lng]);
        else {
          var below = point.lat < entry.area.getLatLng().lat;
          entry.you = ns.maps.dot(entry.map, [point.lat, point.lng], "escort", t("you"), below);
          fitOffer(entry);
        }
      });
    },
    onError: function () { note.textContent = t("location-off"); },
    onRefused: function () { window.location.reload(); }
  });
})();
