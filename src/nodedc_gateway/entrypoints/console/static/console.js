// NODE.DC owner console: copy buttons and the pairing code's countdown. Our own script;
// every page works without it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) { return; }
    var text = source.value !== undefined ? source.value : source.textContent;
    navigator.clipboard.writeText(text.trim()).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });
  var timers = document.querySelectorAll("[data-expires]");
  function tick() {
    timers.forEach(function (element) {
      var left = Math.round((Date.parse(element.getAttribute("data-expires")) - Date.now()) / 1000);
      if (isNaN(left)) { return; }
      element.textContent = left <= 0 ? "expired" :
        Math.floor(left / 60) + " min " + String(left % 60).padStart(2, "0") + " s left";
    });
  }
  if (timers.length) { tick(); setInterval(tick, 1000); }
})();
