// Draws the chart builder's Vega-Lite charts. The server sends the chart's specification
// (with its numbers), the takeaway title, the summary and the table; this script only draws.
// Without it, the title, summary and table are all there: only the drawing is missing.
(function () {
  "use strict";

  function draw(root) {
    var figures = root.querySelectorAll("figure.chart");
    figures.forEach(function (figure) {
      var source = figure.querySelector("script.chart-spec");
      var canvas = figure.querySelector(".chart-canvas");
      if (!source || !canvas || typeof vegaEmbed !== "function") {
        return;
      }
      var spec = JSON.parse(source.textContent);
      // Vega puts its own role and name on the element it draws in; the page's say more.
      var name = canvas.getAttribute("aria-label");
      vegaEmbed(canvas, spec, { renderer: "svg", actions: false, tooltip: false })
        .then(function () {
          canvas.setAttribute("role", "img");
          canvas.removeAttribute("aria-roledescription");
          if (name) {
            canvas.setAttribute("aria-label", name);
          }
          canvas.setAttribute("data-drawn", "yes");
          // The SVG is decoration to screen readers: the figure's role="img" names it.
          var svg = canvas.querySelector("svg");
          if (svg) {
            svg.setAttribute("aria-hidden", "true");
            svg.setAttribute("focusable", "false");
          }
        })
        .catch(function (error) {
          canvas.setAttribute("data-drawn", "failed");
          canvas.textContent = "The chart could not be drawn: the table beside it has the same numbers.";
          console.error(error);
        });
    });
    var status = document.getElementById("chart-status");
    var title = root.querySelector(".chart-title, .error");
    if (status && title) {
      status.textContent = title.textContent;
    }
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (target && (target.id === "chart-result" || target.id === "story-preview")) {
      draw(target);
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
})();
