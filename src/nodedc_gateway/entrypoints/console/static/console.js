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
  // Counted from the server's clock at render time, so a browser's wrong clock does not matter.
  var timers = document.querySelectorAll("[data-seconds-left]");
  var started = Date.now();
  function tick() {
    timers.forEach(function (element) {
      var total = parseInt(element.getAttribute("data-seconds-left"), 10);
      if (isNaN(total)) { return; }
      var left = total - Math.floor((Date.now() - started) / 1000);
      element.textContent = left <= 0 ? "expired" :
        Math.floor(left / 60) + " min " + String(left % 60).padStart(2, "0") + " s left";
    });
  }
  if (timers.length) { tick(); setInterval(tick, 1000); }
})();
