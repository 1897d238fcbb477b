// Publishing a file with a progress bar: the form is sent with XMLHttpRequest so its upload
// progress can be shown. Without JavaScript the same form posts normally.
(function () {
  "use strict";
  var form = document.getElementById("publish-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) return;
  var box = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var status = document.getElementById("upload-status");
  var button = form.querySelector("button[type=submit]");

  function say(text) { status.textContent = text; }

  function showPage(html) {
    // The server answered with the form again and what went wrong: show its main part.
    var page = new DOMParser().parseFromString(html, "text/html");
    var main = page.querySelector("main");
    if (!main) { say("The file was not published."); return; }
    document.title = page.title;
    document.querySelector("main").innerHTML = main.innerHTML;
    var problems = document.getElementById("problems");
    if (problems) problems.focus();
    var script = document.createElement("script");
    script.src = "/static/js/upload.js";
    document.body.appendChild(script);
  }

  form.addEventListener("submit", function (event) {
    var file = form.querySelector("input[type=file]").files[0];
    if (!file) return;  // the browser says the file is needed
    event.preventDefault();
    var limit = Number(form.dataset.maxBytes || 0);
    if (limit && file.size > limit) {
      box.hidden = false;
      say(file.name + " is larger than the " + Math.round(limit / 1e6) + " MB this portal takes.");
      return;
    }
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    var token = form.querySelector("input[name=csrf_token]");
    if (token) request.setRequestHeader("X-CSRF-Token", token.value);
    box.hidden = false;
    button.disabled = true;
    bar.value = 0;
    say("Sending " + file.name + "...");
    request.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var percent = Math.round((e.loaded / e.total) * 100);
      bar.value = percent;
      bar.textContent = percent + "%";
      say("Sent " + percent + "% of " + file.name + ".");
    });
    request.upload.addEventListener("load", function () {
      bar.value = 100;
      say("Sent. Checking and publishing the rows...");
    });
    request.addEventListener("load", function () {
      button.disabled = false;
      var landed = request.responseURL || "";
      if (request.status === 200 && landed.indexOf("published=") !== -1) {
        window.location.assign(landed);
      } else if (request.status === 413) {
        var message = "The file is larger than this portal takes.";
        try { message = JSON.parse(request.responseText).message; } catch (e) { /* plain */ }
        say(message);
      } else {
        showPage(request.responseText);
      }
    });
    request.addEventListener("error", function () {
      button.disabled = false;
      say("The connection broke before the file was sent. Nothing was published; try again.");
    });
    request.send(new FormData(form));
  });
})();
