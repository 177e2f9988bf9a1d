// Quick exit (GOV.UK "Exit this page" pattern): one click, or Shift pressed three times,
// clears this tab's draft and replaces the page with a neutral site. The page is replaced,
// not added, so Back does not return here; browser history itself is not erased.
(function () {
  "use strict";
  var box = document.querySelector("[data-quick-exit-url]");
  if (!box) return;
  var target = box.getAttribute("data-quick-exit-url");

  function leave(event) {
    if (event) event.preventDefault();
    try { window.sessionStorage.clear(); } catch (e) { /* storage may be disabled */ }
    document.title = "";
    document.body.innerHTML = "";
    window.location.replace(target);
  }

  var button = box.querySelector("[data-quick-exit]");
  if (button) button.addEventListener("click", leave);

  var presses = 0;
  var timer = null;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Shift" || event.repeat) return;
    presses += 1;
    clearTimeout(timer);
    timer = setTimeout(function () { presses = 0; }, 1000);
    if (presses >= 3) leave(event);
  });
})();
