/* Autosave for application sections: saves a moment after typing stops; when the connection
   drops, keeps the unsent text on this device (localStorage) and sends it when it returns.
   The page works without this script: the Save button posts the same form. */
(function () {
  "use strict";
  var form = document.getElementById("section-form");
  if (!form || !window.fetch || !window.FormData || !window.localStorage) return;
  var url = form.getAttribute("data-autosave");
  var key = "grants:" + form.getAttribute("data-key");
  var status = document.getElementById("save-status");
  var timer = null, sending = false, again = false;

  function say(kind, time) {
    if (!status) return;
    var text = status.getAttribute("data-" + kind) || "";
    status.textContent = time ? text.replace("HH:MM", time) : text;
    status.setAttribute("data-state", kind);
  }
  function pairs() {
    var out = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token" && typeof value === "string") out.push([name, value]);
    });
    return out;
  }
  function keep() {
    try { localStorage.setItem(key, JSON.stringify(pairs())); } catch (e) { /* storage full: the server copy stays */ }
  }
  function restore() {
    var saved;
    try { saved = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
    if (!saved || !saved.length) return false;
    var boxes = form.querySelectorAll("input[type=checkbox]");
    for (var b = 0; b < boxes.length; b++) boxes[b].checked = false;
    saved.forEach(function (pair) {
      var field = form.elements[pair[0]];
      if (!field) return;
      if (field.type === "checkbox") field.checked = true;
      else if (!field.length || field.tagName === "SELECT") field.value = pair[1];
    });
    return true;
  }
  function send() {
    if (sending) { again = true; return; }
    sending = true;
    var body = new FormData(form);
    body.set("action", "save");
    fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "X-Autosave": "1" } })
      .then(function (response) {
        return response.json().then(function (json) { return [response.status, json]; });
      })
      .then(function (result) {
        sending = false;
        var code = result[0], json = result[1];
        if (code === 200) {
          form.elements.version.value = json.version;
          localStorage.removeItem(key);
          say("saved", json.saved_at);
        } else if (code === 409 && json.error && json.error.code === "stale_version") {
          say("conflict");
        } else {
          say("local");
          if (status && json.error) status.textContent = json.error.message;
        }
        if (again) { again = false; send(); }
      })
      .catch(function () { sending = false; again = false; say("local"); });
  }
  form.addEventListener("input", function () {
    keep();
    if (!navigator.onLine) { say("local"); return; }
    clearTimeout(timer);
    timer = setTimeout(send, 1200);
  });
  window.addEventListener("online", function () { if (localStorage.getItem(key)) send(); });
  window.addEventListener("offline", function () { say("local"); });
  form.addEventListener("submit", function () { localStorage.removeItem(key); });
  if (restore()) { say("local"); if (navigator.onLine) send(); }
})();
