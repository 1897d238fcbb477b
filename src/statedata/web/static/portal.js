// The portal's own script: small, and only an enhancement. Every page works without it.
(function () {
  "use strict";
  var focusKey = null;

  // A swap replaces the control the reader used; put the keyboard focus back on its twin
  // in the new content, and say what changed to screen readers.
  document.addEventListener("htmx:beforeRequest", function () {
    var active = document.activeElement;
    focusKey = active && active.getAttribute ? active.getAttribute("data-focus") : null;
  });

  document.addEventListener("htmx:afterSettle", function () {
    var body = document.getElementById("preview-body");
    if (!body) {
      return;
    }
    var status = document.getElementById("preview-status");
    if (status) {
      status.textContent = body.getAttribute("data-status") || "";
    }
    var again = focusKey && body.querySelector('[data-focus="' + focusKey + '"]');
    if (again) {
      again.focus();
    } else {
      var caption = body.querySelector("caption, .error, .empty");
      if (caption) {
        caption.setAttribute("tabindex", "-1");
        caption.focus();
      }
    }
    focusKey = null;
  });
})();
