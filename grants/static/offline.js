/* Working without a connection, on every signed-in page: registers the service worker, says
   when the page is a copy kept on this device, and sends text kept on this device when the
   connection returns, whatever page is open.
   Text kept on the device is one localStorage record per form ("grants:<form key>"):
   {url, version, pairs, draft, title, at}. Everything works without this script. */
(function () {
  "use strict";
  var texts = document.getElementById("offline-texts");
  if (!texts || !window.fetch || !window.localStorage || !window.Promise) return;
  var signedIn = texts.hasAttribute("data-signed-in");
  var G = (window.Grants = window.Grants || {});
  G.user = texts.getAttribute("data-user") || "";

  function text(name) { return texts.getAttribute("data-" + name) || ""; }
  G.text = text;

  /* One POST of form pairs. Refreshes an outdated CSRF token once; a signed-out session shows
     as "signin" (the login redirect is not followed). Resolves {code, json} or rejects when
     there is no connection. */
  function token() {
    return fetch("/session/csrf", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (j) { G.csrf = j.csrf_token; return j; });
  }
  G.post = function (url, pairs, retried) {
    var body = new FormData();
    pairs.forEach(function (p) { if (p[0] !== "csrf_token") body.append(p[0], p[1]); });
    var csrf = G.csrf || (document.querySelector("input[name=csrf_token]") || {}).value || "";
    body.append("csrf_token", csrf);
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", redirect: "manual",
                        headers: { "X-Autosave": "1", "Accept": "application/json" } })
      .then(function (response) {
        if (response.type === "opaqueredirect" || response.status === 401) return { code: 401, json: {} };
        var json = (response.headers.get("Content-Type") || "").indexOf("json") >= 0 ? response.json() : {};
        return Promise.resolve(json).then(function (j) {
          if (response.status === 400 && !retried && !(j.error && j.error.fields)) {
            return token().then(function (t) {
              return t.signed_in ? G.post(url, pairs, true) : { code: 401, json: {} };
            });
          }
          return { code: response.status, json: j };
        });
      });
  };

  G.records = function () {
    var out = [];
    for (var i = 0; i < localStorage.length; i++) {
      var name = localStorage.key(i);
      if (name.indexOf("grants:") !== 0) continue;
      try {
        var record = JSON.parse(localStorage.getItem(name));
        /* only this person's: a shared computer keeps each person's text apart */
        if (record && record.url && record.pairs && (!record.user || record.user === G.user)) out.push([name, record]);
      } catch (e) { /* not ours */ }
    }
    return out;
  };

  var banner = null;
  function show(message, link) {
    if (!banner) {
      banner = document.createElement("p");
      banner.className = "flash device";
      banner.setAttribute("role", "status");
      var main = document.getElementById("main");
      if (main) main.insertBefore(banner, main.firstChild);
    }
    banner.textContent = message;
    if (link) {
      var a = document.createElement("a");
      a.href = link[0];
      a.textContent = link[1];
      banner.appendChild(document.createTextNode(" "));
      banner.appendChild(a);
    }
  }

  /* Sends what other pages kept on this device (the open form sends its own). */
  var flushing = false;
  G.flush = function () {
    if (flushing || !signedIn) return;
    var own = G.ownKey;
    var waiting = G.records().filter(function (r) { return r[0] !== own; });
    if (!waiting.length) return;
    flushing = true;
    var chain = Promise.resolve();
    waiting.forEach(function (entry) {
      chain = chain.then(function () {
        var record = entry[1];
        var pairs = record.pairs.concat([["version", String(record.version || "")], ["action", "save"]]);
        return G.post(record.url, pairs).then(function (result) {
          if (result.code === 200) {
            localStorage.removeItem(entry[0]);
            show(text("sent"), [result.json.url || record.page || record.url, text("open")]);
          } else if (result.code === 409 || result.code === 422) {
            show(text("problem"), [record.page || record.url, record.title || text("open")]);
          }
        });
      });
    });
    chain.then(function () { flushing = false; }, function () { flushing = false; });
  };

  function describe() {
    if (!navigator.onLine) {
      show(text("offline"));
      return;
    }
    var waiting = G.records().filter(function (r) { return r[0] !== G.ownKey; });
    if (waiting.length) show(text("pending").replace("N", String(waiting.length)));
  }

  window.addEventListener("online", function () { if (banner) banner.textContent = ""; G.flush(); });
  window.addEventListener("offline", describe);

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      /* the pages this page needs next are kept on the device: say so */
      var warm = document.querySelector("[data-offline-urls]");
      if (!warm || !event.data || !event.data.kept || warm.hasAttribute("data-offline-ready")) return;
      warm.setAttribute("data-offline-ready", "");
      if (!warm.hasAttribute("data-offline-note")) return;
      var note = document.createElement("small");
      note.className = "device";
      note.textContent = text("ready");
      warm.appendChild(document.createTextNode(" "));
      warm.appendChild(note);
    });
    if (signedIn) {  /* (signed-out pages do not load this script; their answers clear the kept pages) */
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
        return navigator.serviceWorker.ready;
      }).then(function (registration) {
        var warm = document.querySelector("[data-offline-urls]");
        if (warm && registration.active) {
          registration.active.postMessage({ cache: warm.getAttribute("data-offline-urls").split(" ") });
        }
      }).catch(function () { /* no service worker: pages need the connection, forms still keep text */ });
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (navigator.serviceWorker && navigator.serviceWorker.controller && !navigator.onLine) {
      show(text("copy"));
    } else {
      describe();
    }
    if (navigator.onLine) G.flush();
  });
})();
