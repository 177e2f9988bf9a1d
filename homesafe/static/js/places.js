// Saved places: tap the map (or use where you are) to pin the place being saved.
(function () {
  "use strict";
  var form = document.querySelector("[data-place-form]");
  var ns = window.homesafe;
  if (!form || !ns || !ns.maps) return;
  var status = form.querySelector("[data-pin-status]");
  var picker = ns.maps.picker(form.querySelector("[data-pin-map]"), form.querySelector("[data-lat]"),
    form.querySelector("[data-lng]"), function () { status.textContent = form.getAttribute("data-pin-placed"); });

  window.addEventListener("load", function () { picker.show(null); });
  form.querySelector("[data-locate]").addEventListener("click", function () {
    if (!navigator.geolocation) { status.textContent = form.getAttribute("data-locate-failed"); return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      picker.set(pos.coords.latitude, pos.coords.longitude);
    }, function () { status.textContent = form.getAttribute("data-locate-failed"); },
    { enableHighAccuracy: true, timeout: 15000 });
  });
})();
