// The report form: one step at a time with progress, a draft kept in this tab's
// sessionStorage (it survives a reload, and is gone when the tab closes or on quick exit),
// and a Leaflet pin. Without JavaScript every step shows as one long form.
(function () {
  "use strict";
  var DRAFT_KEY = "homesafe.report-draft";

  if (document.querySelector("[data-report-sent]")) {
    try { window.sessionStorage.removeItem(DRAFT_KEY); } catch (e) { /* ignore */ }
    return;
  }
  var form = document.querySelector("[data-report-form]");
  if (!form) return;

  var steps = Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
  var nav = form.querySelector("[data-step-nav]");
  var prev = form.querySelector("[data-prev]");
  var next = form.querySelector("[data-next]");
  var progress = document.querySelector("[data-progress]");
  var progressText = document.querySelector("[data-progress-text]");
  var progressFill = document.querySelector("[data-progress-fill]");
  var clearButton = form.querySelector("[data-clear-draft]");
  var current = 0;

  // --- draft -------------------------------------------------------------------------
  function readDraft() {
    try { return JSON.parse(window.sessionStorage.getItem(DRAFT_KEY) || "null"); }
    catch (e) { return null; }
  }
  function saveDraft() {
    var data = { step: current, fields: {} };
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || el.type === "submit") return;
      if (el.type === "checkbox" || el.type === "radio") {
        if (!data.fields[el.name]) data.fields[el.name] = [];
        if (el.checked) data.fields[el.name].push(el.value);
      } else {
        data.fields[el.name] = el.value;
      }
    });
    try { window.sessionStorage.setItem(DRAFT_KEY, JSON.stringify(data)); } catch (e) { /* full or disabled */ }
  }
  function restoreDraft(draft) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || !(el.name in draft.fields) || el.name === "csrfmiddlewaretoken") return;
      var value = draft.fields[el.name];
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = Array.isArray(value) && value.indexOf(el.value) !== -1;
      } else if (typeof value === "string") {
        el.value = value;
      }
    });
  }

  // --- steps ---------------------------------------------------------------------------
  function show(index, focus) {
    current = Math.max(0, Math.min(index, steps.length - 1));
    steps.forEach(function (step, i) { step.hidden = i !== current; });
    prev.hidden = current === 0;
    next.hidden = current === steps.length - 1;
    var title = steps[current].getAttribute("data-title") || "";
    progressText.textContent = (form.getAttribute("data-progress-template") || "Step {n} of {total}: {title}")
      .replace("{n}", String(current + 1)).replace("{total}", String(steps.length)).replace("{title}", title);
    progressFill.style.width = Math.round(((current + 1) / steps.length) * 100) + "%";
    if (focus) {
      var heading = steps[current].querySelector("h2");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
    }
  }

  function conditionalFields() {
    Array.prototype.forEach.call(form.querySelectorAll("[data-show-when]"), function (box) {
      var parts = box.getAttribute("data-show-when").split("=");
      var chosen = form.querySelector('input[name="' + parts[0] + '"]:checked');
      box.hidden = !(chosen && chosen.value === parts[1]);
    });
  }

  var hasErrors = form.getAttribute("data-has-errors") === "1";
  // A form filled in by the server (errors shown, or prefilled from a walk) wins over a draft.
  var serverFilled = hasErrors || form.getAttribute("data-prefilled") === "1";
  var draft = serverFilled ? null : readDraft();
  if (draft && draft.fields) restoreDraft(draft);

  nav.hidden = false;
  progress.hidden = false;
  if (clearButton) clearButton.hidden = false;
  var firstError = hasErrors ? form.querySelector(".has-error") : null;
  var startAt = firstError ? steps.indexOf(firstError.closest("[data-step]")) : (draft ? draft.step || 0 : 0);
  show(startAt < 0 ? 0 : startAt, false);
  conditionalFields();

  prev.addEventListener("click", function () { show(current - 1, true); saveDraft(); });
  next.addEventListener("click", function () {
    if (current === 0 && !form.querySelector('input[name="reporter_role"]:checked')) {
      var box = form.querySelector("#field-reporter_role");
      box.classList.add("has-error");
      var note = box.querySelector("[data-role-needed]");
      if (!note) {
        note = document.createElement("p");
        note.className = "error";
        note.setAttribute("role", "alert");
        note.setAttribute("data-role-needed", "");
        note.textContent = form.getAttribute("data-role-needed");
        box.insertBefore(note, box.querySelector("label"));
      }
      box.querySelector("input").focus();
      return;
    }
    show(current + 1, true);
    saveDraft();
  });
  form.addEventListener("input", saveDraft);
  form.addEventListener("change", function () { conditionalFields(); saveDraft(); });
  if (clearButton) {
    clearButton.addEventListener("click", function () {
      try { window.sessionStorage.removeItem(DRAFT_KEY); } catch (e) { /* ignore */ }
      form.reset();
      window.location.replace(window.location.pathname);
    });
  }

  // --- map pin -------------------------------------------------------------------------
  var mapBox = form.querySelector("[data-pin-map]");
  var latInput = form.querySelector("[data-lat]");
  var lngInput = form.querySelector("[data-lng]");
  var status = form.querySelector("[data-pin-status]");
  var map = null;
  var marker = null;

  function setPin(lat, lng) {
    latInput.value = lat.toFixed(6);
    lngInput.value = lng.toFixed(6);
    status.textContent = form.getAttribute("data-pin-placed");
    if (map) {
      if (marker) marker.setLatLng([lat, lng]); else marker = window.L.marker([lat, lng]).addTo(map);
    }
    saveDraft();
  }
  function clearPin() {
    latInput.value = "";
    lngInput.value = "";
    status.textContent = form.getAttribute("data-pin-none");
    if (marker && map) { map.removeLayer(marker); marker = null; }
    saveDraft();
  }
  function initMap() {
    if (map || !mapBox || !window.L || mapBox.offsetParent === null) return;
    var lat = parseFloat(latInput.value);
    var lng = parseFloat(lngInput.value);
    var has = isFinite(lat) && isFinite(lng);
    window.L.Icon.Default.imagePath = mapBox.getAttribute("data-icons") || "/static/vendor/leaflet/images/";
    map = window.L.map(mapBox).setView(has ? [lat, lng] : [-41.2924, 174.7787], has ? 16 : 14);
    window.L.tileLayer(mapBox.getAttribute("data-tiles"), {
      maxZoom: 19, attribution: "&copy; OpenStreetMap contributors"
    }).addTo(map);
    if (has) { marker = window.L.marker([lat, lng]).addTo(map); status.textContent = form.getAttribute("data-pin-placed"); }
    map.on("click", function (e) { setPin(e.latlng.lat, e.latlng.lng); });
  }
  var locate = form.querySelector("[data-locate]");
  if (locate) {
    locate.addEventListener("click", function () {
      if (!navigator.geolocation) { status.textContent = form.getAttribute("data-pin-failed"); return; }
            navigator.geolocation.getCurrentPosition(function (pos) {
        setPin(pos.coords.latitude, pos.coords.longitude);
        if (map) map.setView([pos.coords.latitude, pos.coords.longitude], 17);
      }, function () { status.textContent = form.getAttribute("data-pin-failed"); },
      { enableHighAccuracy: true, timeout: 10000 });
    });
  }
  var clear = form.querySelector("[data-clear-pin]");
  if (clear) clear.addEventListener("click", clearPin);
  // The map can only measure itself once its step is visible.
  var observer = new MutationObserver(function () { initMap(); if (map) map.invalidateSize(); });
  steps.forEach(function (step) { observer.observe(step, { attributes: true, attributeFilter: ["hidden"] }); });
  window.addEventListener("load", initMap);
})();
