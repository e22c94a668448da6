// selfpass portal: progressive enhancement only. Every page works without this script.
// 1. A show/hide button beside each password field.
// 2. A live strength meter on the new password (scored by the server, as on submit).
(function () {
  "use strict";
  document.querySelectorAll("input[data-toggle]").forEach(function (input) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "toggle";
    button.textContent = "Show";
    button.setAttribute("aria-controls", input.id);
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-label", "Show password");
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      button.textContent = show ? "Hide" : "Show";
      button.setAttribute("aria-pressed", show ? "true" : "false");
      button.setAttribute("aria-label", show ? "Hide password" : "Show password");
    });
    input.parentNode.appendChild(button);
  });

  var meter = document.getElementById("strength");
  var input = document.getElementById("new-password");
  if (!meter || !input || !window.fetch) { return; }
  var text = document.getElementById("strength-text");
  var url = meter.getAttribute("data-url");
  var token = input.form.querySelector("input[name=_csrf]").value;
  var timer = null;
  var labels = ["very weak", "weak", "fair", "strong", "very strong"];
  function update() {
    if (input.value === "") { meter.value = 0; text.textContent = ""; return; }
    var body = new URLSearchParams();
    body.set("_csrf", token);
    body.set("password", input.value);
    fetch(url, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { return; }
        meter.value = s.score;
        var words = "Strength: " + labels[s.score] + (s.score >= s.required ? " (enough)" : " (not enough yet)");
        if (s.feedback && s.feedback.length) { words += ". " + s.feedback.join(" "); }
        text.textContent = words;
      })
      .catch(function () {});
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(update, 300);
  });
})();
