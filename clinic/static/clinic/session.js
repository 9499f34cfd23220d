/* The session's idle timer and warning, drafts of long forms, and the message area for refused htmx requests.
   No inline script (CSP).

   Idle: the server signs a session out after data-idle-timeout seconds without a request (clinic.security). Typing,
   clicking and tapping are activity too: after a quiet spell (KEEPALIVE_GAP) the first one sends one keep-alive,
   so a clinician typing a long note is never signed out, without a request per keystroke. The warning shows
   data-idle-warn seconds before the end and never takes the focus from a field.

   Drafts: a form marked data-draft holds an element [data-draft-save] (cases/templates/cases/web/drafts/saver.html)
   that htmx posts with the form's fields on "clinic:draft". That is sent DRAFT_PAUSE after typing pauses (at most
   DRAFT_MAX_WAIT after the first unsaved keystroke), when the idle warning shows and before the sign-out (as a
   passive request: X-Idle-Passive, which the server does not count as activity) and, by beacon, when the page is
   left. After an idle sign-out the page goes to the sign-in form and back: the form's view restores the draft. */
(function () {
  "use strict";
  const body = document.body;
  const timeout = Number(body.dataset.idleTimeout || 0);
  const WARN_AT = Number(body.dataset.idleWarn || 120); // seconds left when the warning appears
  const KEEPALIVE_GAP = Math.min(60, Math.max(1, timeout / 4)) * 1000;
  const DRAFT_PAUSE = 2000, DRAFT_MAX_WAIT = 10000;
  let deadline = Date.now() + timeout * 1000;
  let lastContact = Date.now();

  function showMessage(text, kind) {
    const area = document.getElementById("messages");
    if (!area) return;
    const p = document.createElement("p");
    p.className = "message " + (kind || "error");
    p.textContent = text;
    area.replaceChildren(p);
  }

  // A refused or failed htmx request: its plain-text reason, or a sentence per status.
  // Print views (the chart, a visit summary): their Print button opens the browser's print dialog.
  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest("[data-print]")) window.print();
  });

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

  // --- Drafts ---
  const drafts = [];
  document.querySelectorAll("form[data-draft]").forEach(function (form) {
    const saver = form.querySelector("[data-draft-save]");
    if (!saver) return;
    let dirtySince = 0, timer = null;
    function save(passive) {
      clearTimeout(timer);
      if (!dirtySince || !window.htmx) return;
      dirtySince = 0;
      window.htmx.trigger(saver, "clinic:draft", { passive: Boolean(passive) });
    }
    form.addEventListener("input", function () {
      if (!dirtySince) dirtySince = Date.now();
      clearTimeout(timer);
      timer = setTimeout(save, Math.min(DRAFT_PAUSE, Math.max(0, dirtySince + DRAFT_MAX_WAIT - Date.now())));
    });
    saver.addEventListener("htmx:afterRequest", function (event) {
      if (!event.detail.successful && !dirtySince) dirtySince = Date.now(); // try again with the next save
    });
    form.addEventListener("submit", function () { clearTimeout(timer); dirtySince = 0; });
    // Leaving the page (another link, closing the tab): what is not saved yet goes by beacon, with the form's
    // CSRF token in its fields.
    window.addEventListener("pagehide", function () {
      if (dirtySince && navigator.sendBeacon) {
        dirtySince = 0;
        navigator.sendBeacon(saver.getAttribute("hx-post"), new FormData(form));
      }
    });
    drafts.push(save);
  });
  function saveDrafts(passive) { drafts.forEach(function (save) { save(passive); }); }
  // A draft save the idle timer asked for is not the user's activity: the server must not extend the session.
  document.addEventListener("htmx:configRequest", function (event) {
    const trigger = event.detail.triggeringEvent;
    if (trigger && trigger.detail && trigger.detail.passive) event.detail.headers["X-Idle-Passive"] = "1";
  });

  if (!timeout) return;
  const warning = document.getElementById("idle-warning");
  const left = warning && warning.querySelector("[data-idle-left]");
  const button = warning && warning.querySelector("[data-keepalive]");
  let pinging = false, warned = false, lastCall = false;

  function reset(seconds) {
    deadline = Date.now() + seconds * 1000;
    lastContact = Date.now();
    warned = false;
    lastCall = false;
    if (warning) warning.hidden = true;
  }
  // Every htmx request tells how long is left; a passive one did not move the server's deadline, nor this one.
  document.addEventListener("htmx:afterRequest", function (event) {
    const config = event.detail.requestConfig;
    if (config && config.headers && config.headers["X-Idle-Passive"]) return;
    const remaining = Number(event.detail.xhr.getResponseHeader("X-Session-Idle-Remaining"));
    if (remaining > 0) reset(remaining);
  });
  function keepalive() {
    if (pinging || !button) return;
    pinging = true;
    const token = JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
    fetch(button.dataset.keepalive, { method: "POST", headers: { "X-CSRFToken": token }, credentials: "same-origin" })
      .then(function (response) {
        const remaining = Number(response.headers.get("X-Session-Idle-Remaining"));
        if (response.ok && remaining > 0) reset(remaining);
        else signedOut();
      })
      .catch(function () { /* the server is unreachable: the next activity tries again */ })
      .finally(function () { pinging = false; });
  }
  function signedOut() {
    const here = window.location.pathname + window.location.search;
    window.location.assign(body.dataset.loginUrl + "?idle=1&next=" + encodeURIComponent(here));
  }
  // Typing, clicking and tapping keep the session: one keep-alive after each quiet spell, or at once while the
  // warning shows.
  function activity() {
    if (Date.now() - lastContact > KEEPALIVE_GAP || (warning && !warning.hidden)) keepalive();
  }
  ["keydown", "input", "pointerdown"].forEach(function (type) {
    document.addEventListener(type, activity, { capture: true, passive: true });
  });
  if (button) button.addEventListener("click", keepalive);
  setInterval(function () {
    const seconds = Math.round((deadline - Date.now()) / 1000);
    if (seconds <= -2) { // a moment past the server's own deadline, so that it has signed the session out
      signedOut();
    } else if (seconds <= 3 && !lastCall) {
      lastCall = true;
      saveDrafts(true); // whatever was typed since the warning's save, before the server's deadline
    } else if (seconds <= WARN_AT && warning) {
      if (!warned) { warned = true; saveDrafts(true); }
      warning.hidden = false; // shown, never focused: the user may be in the middle of a field
      const minutes = Math.floor(Math.max(0, seconds) / 60), rest = Math.max(0, seconds) % 60;
      left.textContent = minutes ? minutes + " min " + rest + " s" : rest + " seconds";
    }
  }, 1000);
})();
