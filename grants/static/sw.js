/* The service worker: keeps a copy of the pages an applicant needs to write without a
   connection (calls, the application's sections, the whole form for a new draft) and of the
   style and scripts. Pages come from the network first and from the copy only when the network
   fails; a new draft started with no connection opens the whole form kept on the device. Signing
   out clears the kept pages. */
"use strict";
var PAGES = "grants-pages-v1";
var STATIC = "grants-static-v1";
var ASSETS = ["/offline", "/static/style.css", "/static/offline.js", "/static/autosave.js"];
var KEPT = /^\/(calls(\/\d+(\/apply|\/offline-draft)?)?|applications(\/\d+(\/edit\/[a-z]+|\/check)?)?|home|offline)$/;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC).then(function (cache) { return cache.addAll(ASSETS); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== PAGES && n !== STATIC; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

/* The person the kept pages belong to (X-Signed-In: their id; "0" for nobody). A page answered
   for nobody or for someone else drops every kept page first. */
function owner(response) {
  var who = response.headers.get("X-Signed-In");
  if (!who) return Promise.resolve();
  return caches.open(PAGES).then(function (cache) {
    return cache.match("/__owner").then(function (kept) {
      return kept ? kept.text() : "";
    }).then(function (previous) {
      if (previous === who) return null;
      return caches.delete(PAGES).then(function () {
        if (who === "0") return null;
        return caches.open(PAGES).then(function (fresh) { return fresh.put("/__owner", new Response(who)); });
      });
    });
  });
}

function keep(path, response) {
  /* resolves once the copy is stored; only pages the server marks as fit to keep (X-Offline-Keep) */
  if (!response.ok || response.redirected || !KEPT.test(path) || !response.headers.get("X-Offline-Keep")) {
    return Promise.resolve();
  }
  var copy = response.clone();
  return caches.open(PAGES).then(function (cache) { return cache.put(path, copy); });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.cache) {
    /* Pages the applicant may need next (the next section, the whole form), fetched once. The
       cache is opened afresh at each step: a change of person may have dropped it meanwhile. */
    var source = event.source;
    var pages = function () { return caches.open(PAGES); };
    event.waitUntil(data.cache.reduce(function (chain, path) {
      return chain.then(function () {
        return pages().then(function (cache) { return cache.match(path); }).then(function (found) {
          if (found || !KEPT.test(path)) return null;
          return fetch(path, { credentials: "same-origin" }).then(function (r) {
            return owner(r).then(function () { return keep(path, r); });
          }).catch(function () { return null; });
        });
      });
    }, Promise.resolve()).then(function () {
      return pages().then(function (cache) {
        return Promise.all(data.cache.map(function (path) { return cache.match(path); }));
      });
    }).then(function (found) {
      if (source && found.every(Boolean)) source.postMessage({ kept: data.cache });
    }));
  }
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && request.mode === "navigate" && /^\/calls\/\d+\/apply$/.test(url.pathname)) {
    /* Starting a draft with no connection: the whole form kept on the device, for the chosen consortium. */
    var copy = request.clone();
    event.respondWith(fetch(request).catch(function () {
      return copy.formData().then(function (form) {
        var target = url.pathname.replace(/apply$/, "offline-draft") + "?consortium_id=" +
          encodeURIComponent(form.get("consortium_id") || "");
        return Response.redirect(new URL(target, self.location.origin).href, 303);
      });
    }));
    return;
  }
  if (request.method !== "GET") return;
  if (url.pathname.indexOf("/static/") === 0) {
    /* Static URLs carry their content's hash (?v=): a kept copy is always right. */
    event.respondWith(caches.open(STATIC).then(function (cache) {
      return cache.match(request).then(function (found) {
        return found || fetch(request).then(function (response) {
          if (response.ok) cache.put(request, response.clone());
          return response;
        }).catch(function () { return cache.match(request, { ignoreSearch: true }); });
      });
    }));
    return;
  }
  if (request.mode !== "navigate") return;
  event.respondWith(fetch(request).then(function (response) {
    /* a change of person drops the kept pages before the page shows */
    return owner(response).then(function () {
      event.waitUntil(keep(url.pathname, response));
      return response;
    });
  }).catch(function () {
    return caches.open(PAGES).then(function (cache) {
      return cache.match(url.pathname, { ignoreSearch: true });
    }).then(function (found) {
      return found || caches.open(STATIC).then(function (cache) { return cache.match("/offline"); });
    });
  }));
});
