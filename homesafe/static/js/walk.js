// The live walk page, for the person walking, their escort and a trusted contact's link:
// both positions on a map, "on the way" / "walking" with an ETA, the overdue prompt, and
// this phone's position sent while the walk is on. The page itself is server-rendered; when
// the walk changes shape (accepted, ended, SOS, no volunteer) it is simply reloaded.
(function () {
  "use strict";
  var root = document.querySelector("[data-walk-live]");
  var ns = window.homesafe;
  if (!root || !ns || !ns.live) return;

  var MEET_M = 80; // closer than this, escort and walker count as walking together
  var role = root.getAttribute("data-role");
  var state = JSON.parse(document.getElementById("walk-state").textContent);
  var pace = parseFloat(root.getAttribute("data-pace")) || 50;
  var headline = root.querySelector("[data-walk-headline]");
  var eta = root.querySelector("[data-walk-eta]");
  var mapBox = root.querySelector("[data-live-map]");
  var mapNote = root.querySelector("[data-map-note]");
  var prompt = root.querySelector("[data-overdue-prompt]");
  var sosBanner = root.querySelector("[data-sos-banner]");
  var checkin = root.querySelector("[data-checkin]");
  var ownKey = role === "escort" ? "escort" : "requester";
  var map = null;
  var markers = {};
  var own = null; // this phone's latest fix, fresher than what the server last stored
  var together = false;
  var live = null;
  var sender = null;
  var over = false;

  function t(name, values) { return ns.text(root, name, values); }
  function shape(s) {
    return [s.state, s.kind, s.escort ? s.escort.first_name : "", s.sos,
      Boolean(s.no_volunteer && s.state === "searching")].join("|");
  }
  var shownShape = shape(state);
  function isOn(s) { return s.state === "searching" || s.state === "active"; }

  function setText(el, text) { if (el && el.textContent !== text) el.textContent = text; }
  function minutes(metres) { return Math.max(1, Math.round(metres / pace)); }

  function position(key) {
    if (key === ownKey && own && role !== "watcher") return own;
    return state[key + "_last"] || null;
  }

  function label(key) {
    if (key === "destination") return t("destination");
    if (key === ownKey && role !== "watcher") return t("you");
    if (key === "escort") return state.escort ? state.escort.first_name : t("escort");
    return t("requester");
  }

  // One of the two people is labelled below the dot, so walking together both names show.
  function labelBelow(key) { return role === "watcher" ? key === "requester" : key === ownKey; }

  function place(key, point) {
    if (!map || !point) return;
    var latlng = [point.lat, point.lng];
    if (markers[key]) markers[key].setLatLng(latlng);
    else markers[key] = ns.maps.dot(map, latlng, key, label(key), labelBelow(key));
    // What the map shows, readable by tests and scripts without poking into Leaflet.
    mapBox.setAttribute("data-pos-" + key, point.lat.toFixed(5) + "," + point.lng.toFixed(5));
  }

  // While the escort is on the way, the map shows just the two of them (they need to find
  // each other); once they walk together, the way home as well.
  function focusKeys() {
    var meeting = state.state === "active" && state.kind !== "watched" && !together &&
      markers.requester && markers.escort;
    return meeting ? ["requester", "escort"] : Object.keys(markers);
  }
  var focused = "";
  function keepInView() {
    if (!map) return;
    var keys = focusKeys();
    var points = keys.map(function (k) { return markers[k].getLatLng(); });
    if (!points.length) return;
    var view = map.getBounds();
    var outside = points.some(function (p) { return !view.contains(p); });
    if (outside || focused !== keys.join()) {
      // Not animated: Leaflet drops a zoom asked for while another is still animating.
      map.fitBounds(window.L.latLngBounds(points), { padding: [50, 50], maxZoom: 17, animate: false });
      focused = keys.join();
    }
  }

  function drawMap() {
    if (!mapBox || !window.L) return;
    if (!map) map = ns.maps.create(mapBox, root.getAttribute("data-tiles"), {});
    if (!map) return;
    if (state.destination) place("destination", state.destination);
    ["requester", "escort"].forEach(function (key) { place(key, position(key)); });
    keepInView();
  }

  function render() {
    var name = state.escort ? state.escort.first_name : "";
    var req = position("requester");
    var esc = position("escort");
    var dest = state.destination;
    if (state.state !== "active") return; // the server's words fit searching and ended
    var words = "";
    var detail = "";
    if (state.kind === "watched") {
      words = role === "watcher" ? t("watcher-watched") : t("watched");
      if (req && dest) detail = t("eta-home", { min: minutes(ns.maps.distance(req, dest)) });
    } else {
      var apart = req && esc ? ns.maps.distance(req, esc) : null;
      if (apart !== null && apart <= MEET_M) together = true; // once met, GPS noise can't undo it
      var values = { name: name, min: apart === null ? "" : minutes(apart), m: apart === null ? "" : Math.round(apart) };
      if (role === "requester") {
        words = t(together ? "walking" : "on-the-way", values);
        if (!together && apart !== null) detail = t("eta-meet", values);
      } else if (role === "escort") {
        words = t(together ? "escort-walking" : "escort-meet");
        if (!together && apart !== null) detail = t("eta-reach", values);
      } else {
        words = t("watcher-walking", values);
        if (!together && apart !== null) detail = t("eta-meet", values);
      }
      if (together && req && dest) detail = t("eta-home", { min: minutes(ns.maps.distance(req, dest)) });
    }
    setText(headline, words);
    setText(eta, detail);
    keepInView();
  }

  function ended() {
    // A trusted contact's view simply stops: no positions linger on the screen.
    over = true;
    if (live) live.stop();
    if (sender) sender.stop();
    if (role !== "watcher") { window.location.reload(); return; }
    setText(headline, t("ended"));
    setText(eta, "");
    Array.prototype.forEach.call(root.querySelectorAll("[data-while-on]"), function (el) { el.hidden = true; });
    var banner = root.querySelector("[data-ended-banner]");
    if (banner) banner.hidden = false;
    if (sosBanner) sosBanner.hidden = true;
    if (map) { map.remove(); map = null; }
    if (mapBox) mapBox.hidden = true;
  }

  function apply(next) {
    if (over) return;
    var merged = {};
    Object.keys(state).forEach(function (k) { merged[k] = state[k]; });
    Object.keys(next).forEach(function (k) { merged[k] = next[k]; });
    // A re-read that left the server before a pushed position must not take it back.
    ["requester_last", "escort_last"].forEach(function (k) {
      if (state[k] && (!merged[k] || String(merged[k].at || "") < String(state[k].at || ""))) {
        merged[k] = state[k];
      }
    });
    if (!isOn(merged)) { ended(); return; }
    if (role !== "watcher" && shape(merged) !== shownShape) { window.location.reload(); return; }
    state = merged;
    if (prompt) prompt.hidden = !state.overdue;
    // The prompt has its own "Yes, I'm home safe": one such button on screen is enough.
    if (checkin) checkin.hidden = Boolean(state.overdue);
    if (role === "watcher" && sosBanner) sosBanner.hidden = !(state.sos || state.escalated);
    drawMap();
    render();
  }

  function refresh() {
    var url = root.getAttribute("data-state-url") || window.location.pathname;
    fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      referrerPolicy: "no-referrer",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (response.status === 404) { ended(); return null; }
      return response.ok ? response.json() : null;
    }).then(function (body) {
      if (body) apply(body);
    }).catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  drawMap();
  render();
  if (!isOn(state)) return;

  live = ns.live({
    refresh: refresh,
    handlers: {
      "walk.state": function (message) { apply(message.walk || {}); },
      "walk.position": function (message) {
        if (!message.point || (message.role !== "requester" && message.role !== "escort")) return;
        var patch = {};
        patch[message.role + "_last"] = message.point;
        apply(patch);
      },
      "walk.overdue_prompt": function () { apply({ overdue: true }); },
      "walk.no_volunteer": function () { apply({ no_volunteer: true }); }
    }
  });

  if (root.getAttribute("data-send-position") === "1" && role !== "watcher") {
    sender = ns.positionSender(root.getAttribute("data-position-url"), root.getAttribute("data-csrf"), {
      onFix: function (point) {
        own = point;
        place(ownKey, point);
        keepInView();
        render();
        setText(mapNote, "");
      },
      onError: function () { setText(mapNote, t("location-off")); },
      onRefused: function () { refresh(); }
    });
  }
})();
