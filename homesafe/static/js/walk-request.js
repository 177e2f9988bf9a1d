// "Walk me home": one big button. Where you are comes from the phone's location (asked for
// when the button is pressed, if not already) or a pin; where you are going is a saved place
// or a pin. The form posts normally; the server answers with the live walk or clear errors.
(function () {
  "use strict";
  var form = document.querySelector("[data-walk-request]");
  var ns = window.homesafe;
  if (!form || !ns || !ns.maps) return;

  function input(selector) { return form.querySelector(selector); }
  var startStatus = input("[data-start-status]");
  var destStatus = input("[data-destination-status]");
  var problem = input("[data-form-problem]");
  var submit = input("[data-walk-submit]");
  var startMap = ns.maps.picker(input('[data-pin-map="start"]'), input('[data-lat="start"]'),
    input('[data-lng="start"]'), function () { startStatus.textContent = form.getAttribute("data-pin-start"); });
  var destMap = ns.maps.picker(input('[data-pin-map="destination"]'), input('[data-lat="destination"]'),
    input('[data-lng="destination"]'), function () { destStatus.textContent = form.getAttribute("data-pin-destination"); });
  var sending = false;

  function say(text) {
    problem.textContent = text;
    problem.hidden = !text;
  }

  function locate(then) {
    if (!navigator.geolocation) { failed(); return; }
    startStatus.textContent = form.getAttribute("data-locating");
    navigator.geolocation.getCurrentPosition(function (pos) {
      startMap.set(pos.coords.latitude, pos.coords.longitude, true);
      startStatus.textContent = form.getAttribute("data-located");
      if (then) then();
    }, failed, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  }
  function failed() {
    startStatus.textContent = form.getAttribute("data-locate-failed");
    startMap.show(null);
    sending = false;
    submit.disabled = false;
  }

  function destinationChoice() {
    var chosen = form.querySelector('input[name="destination"]:checked');
    return chosen ? chosen.value : "";
  }
  function syncDestination() {
    if (destinationChoice() === "pin") destMap.show(destMap.current() || startMap.current());
    else destMap.hide();
  }

  input("[data-locate]").addEventListener("click", function () { say(""); locate(null); });
  input("[data-show-start-map]").addEventListener("click", function () { startMap.show(startMap.current()); });
  Array.prototype.forEach.call(form.querySelectorAll('input[name="destination"]'), function (radio) {
    radio.addEventListener("change", syncDestination);
  });
  window.addEventListener("load", function () {
    syncDestination();
    if (startMap.current()) startMap.show(null);
  });

  form.addEventListener("submit", function (event) {
    if (sending) { event.preventDefault(); return; }
    var choice = destinationChoice();
    if (!choice || (choice === "pin" && !destMap.current())) {
      event.preventDefault();
      say(form.getAttribute("data-need-destination"));
      syncDestination();
      return;
    }
    say("");
    sending = true;
    submit.disabled = true;
    submit.textContent = form.getAttribute("data-sending");
    if (!startMap.current()) {
      // The one big button also finds where you are, then sends.
      event.preventDefault();
      locate(function () { form.submit(); });
    }
  });
  // Coming back with the Back button must not leave the button stuck on "Asking…".
  window.addEventListener("pageshow", function () { sending = false; submit.disabled = false; });
})();
