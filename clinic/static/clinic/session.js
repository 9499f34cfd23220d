/* The session's idle warning and the message area for refused htmx requests. No inline script (CSP). */
(function () {
  "use strict";
  const body = document.body;
  const timeout = Number(body.dataset.idleTimeout || 0);
  const WARN_AT = 120; // seconds left when the warning appears
  let deadline = Date.now() + timeout * 1000;

  function showMessage(text, kind) {
    const area = document.getElementById("messages");
    if (!area) return;
    const p = document.createElement("p");
    p.className = "message " + (kind || "error");
    p.textContent = text;
    area.replaceChildren(p);
  }

  // A refused or failed htmx request: its plain-text reason, or a sentence per status.
  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    const plain = (xhr.getResponseHeader("Content-Type") || "").startsWith("text/plain");
    const fallback = {
      401: "Your session has ended. Sign in again.",
      403: "Your role does not allow this.",
      404: "Not found, or not in your caseload.",
      429: "Too many requests. Wait a moment and try again.",
    }[xhr.status] || "Something went wrong and nothing was saved. Try again, or reload the page.";
    showMessage(plain && xhr.responseText ? xhr.responseText : fallback);
  });
  document.addEventListener("htmx:sendError", function () {
    showMessage("The clinic's server cannot be reached. Nothing was saved.");
  });

  if (!timeout) return;
  const warning = document.getElementById("idle-warning");
  const left = warning && warning.querySelector("[data-idle-left]");
  const button = warning && warning.querySelector("[data-keepalive]");

  function reset(seconds) {
    deadline = Date.now() + seconds * 1000;
    if (warning) warning.hidden = true;
  }
  // Every htmx request is activity: the server says how long is left.
  document.addEventListener("htmx:afterRequest", function (event) {
    const remaining = Number(event.detail.xhr.getResponseHeader("X-Session-Idle-Remaining"));
    if (remaining > 0) reset(remaining);
  });
  if (button) {
    button.addEventListener("click", function () {
      const token = JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
      fetch(button.dataset.keepalive, { method: "POST", headers: { "X-CSRFToken": token }, credentials: "same-origin" })
        .then(function (response) {
          const remaining = Number(response.headers.get("X-Session-Idle-Remaining"));
          if (response.ok && remaining > 0) reset(remaining);
          else window.location.assign(body.dataset.loginUrl);
        });
    });
  }
  setInterval(function () {
    const seconds = Math.round((deadline - Date.now()) / 1000);
    if (seconds <= -2) { // a moment past the server's own deadline, so that it has signed the session out
      window.location.assign(body.dataset.loginUrl + "?next=" + encodeURIComponent(window.location.pathname));
    } else if (seconds <= WARN_AT && warning) {
      if (warning.hidden) { warning.hidden = false; if (button) button.focus(); }
      const minutes = Math.floor(seconds / 60), rest = seconds % 60;
      left.textContent = minutes ? minutes + " min " + rest + " s" : rest + " seconds";
    }
  }, 1000);
})();
