/* The application form (a section's page, or the whole form of a draft started on this device)
   and the report form. One save queue per page: autosave (a moment after typing stops) and the
   Save buttons share it, so a Save waits for the save in flight and is sent on top of the version
   it returned: the writer's own saves never collide. Rows are added and removed in the page.
   Unsent text is kept on this device (localStorage) and sent when the connection returns.
   Everything works without this script: the buttons post the form. */
(function () {
  "use strict";
  var G = window.Grants;
  var form = document.getElementById("section-form") || document.getElementById("offline-form");
  /* old browsers (no FormData iteration, NodeList.forEach, closest): the form posts as without JS */
  if (!G || !form || !window.FormData || !FormData.prototype.forEach || !window.NodeList ||
      !NodeList.prototype.forEach || !Element.prototype.closest) return;
  var draft = form.id === "offline-form";
  var url = form.getAttribute("data-autosave") || form.getAttribute("action");
  var key = "grants:" + form.getAttribute("data-key");
  var status = document.getElementById("save-status");
  var timer = null, retry = null, queue = Promise.resolve(), dirty = false, clicked = null;
  G.ownKey = key;

  function say(kind, time) {
    if (!status) return;
    var t = status.getAttribute("data-" + kind) || "";
    status.textContent = time ? t.replace("HH:MM", time) : t;
    status.setAttribute("data-state", kind);
  }
  function pairs() {
    var out = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrf_token" && name !== "version" && typeof value === "string") out.push([name, value]);
    });
    return out;
  }
  function version() { return form.elements.version ? form.elements.version.value : ""; }
  function record() {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }
  function keep() {
    var old = record();
    var title = form.elements.title ? form.elements.title.value : document.title;
    try {
      localStorage.setItem(key, JSON.stringify({
        url: url, page: location.pathname + location.search, draft: draft, title: title, at: Date.now(),
        /* the version these edits started from: kept from the first unsent edit */
        version: old && old.version ? old.version : version(), pairs: pairs(), user: G.user,
        key: draft ? form.elements.offline_key.value : undefined }));
    } catch (e) { /* storage full: the server copy stays */ }
    dirty = true;
  }

  /* --- rows ------------------------------------------------------------------------------ */
  function addRow(kind, index) {
    var template = form.querySelector("template[data-row-template='" + kind + "']");
    var body = form.querySelector("table[data-rows='" + kind + "'] tbody");
    if (!template || !body) return null;
    if (index === undefined) {
      index = 0;
      body.querySelectorAll("[name^='" + kind + "-']").forEach(function (field) {
        var n = parseInt(field.name.split("-")[1], 10);
        if (n >= index) index = n + 1;
      });
    }
    var holder = document.createElement("tbody");
    holder.innerHTML = template.innerHTML.replace(/__i__/g, String(index));
    var row = holder.firstElementChild;
    body.appendChild(row);
    filterMembers(row);
    return row;
  }
  function ensureRows(list) {
    list.forEach(function (pair) {
      var m = /^(workplan|budget_lines|indicators)-(\d+)-/.exec(pair[0]);
      if (m && !form.elements[pair[0]]) addRow(m[1], parseInt(m[2], 10));
    });
  }

  /* --- the whole form of a new draft: only the chosen consortium's organizations ---------- */
  var chooser = form.elements.consortium_id;
  function filterMembers(scope) {
    if (!chooser || !chooser.value) return;
    (scope || form).querySelectorAll("[data-consortium]").forEach(function (node) {
      var mine = node.getAttribute("data-consortium") === chooser.value;
      node.hidden = !mine;
      if (node.tagName === "OPTION") node.disabled = !mine;
    });
    (scope || form).querySelectorAll("select[name$='-organization_id']").forEach(function (select) {
      var option = select.options[select.selectedIndex];
      if (option && option.disabled) {
        for (var i = 0; i < select.options.length; i++) if (!select.options[i].disabled) { select.selectedIndex = i; break; }
      }
    });
  }

  /* --- restoring what this device kept --------------------------------------------------- */
  function restore() {
    var saved = record();
    if (saved && !saved.pairs && saved.length) saved = { pairs: saved };  /* the earlier format */
    if (!saved || !saved.pairs || !saved.pairs.length) return false;
    if (saved.user && saved.user !== G.user) return false;  /* another person's text on a shared device */
    if (form.hasAttribute("data-conflict")) { localStorage.removeItem(key); return false; }
    ensureRows(saved.pairs);
    /* rows removed on the device stay removed */
    form.querySelectorAll("table[data-rows] tbody tr").forEach(function (tr) {
      var field = tr.querySelector("[name]");
      if (!field) return;
      var prefix = field.name.split("-").slice(0, 2).join("-") + "-";
      var kept = saved.pairs.some(function (pair) { return pair[0].indexOf(prefix) === 0; });
      if (!kept) tr.parentNode.removeChild(tr);
    });
    form.querySelectorAll("input[type=checkbox]").forEach(function (box) { box.checked = false; });
    saved.pairs.forEach(function (pair) {
      var field = form.elements[pair[0]];
      if (!field) return;
      if (field.type === "checkbox") field.checked = true;
      else if (!field.length || field.tagName === "SELECT") field.value = pair[1];
    });
    if (saved.version && form.elements.version) form.elements.version.value = saved.version;
    if (draft && saved.key && form.elements.offline_key) form.elements.offline_key.value = saved.key;
    filterMembers();
    dirty = true;
    return true;
  }

  /* --- the queue --------------------------------------------------------------------------- */
  function send(final, go) {
    clearTimeout(timer);
    if (!dirty && !final) return Promise.resolve("clean");
    var sent = JSON.stringify(pairs());
    var body = pairs().concat([["version", version()], ["action", "save"]]);
    say("sending");
    return G.post(url, body).then(function (result) {
      var code = result.code, json = result.json || {};
      if (code === 200) {
        failures = 0;
        if (json.version && form.elements.version) form.elements.version.value = json.version;
        /* what is kept on the device now starts from the version just saved */
        localStorage.removeItem(key);
        if (JSON.stringify(pairs()) === sent) dirty = false;
        else keep();
        say("saved", json.saved_at);
        if (json.url) {
          if (go && !dirty) { location.href = json.url; return "moved"; }
          showOpen(json.url);
        }
        return "saved";
      }
      if (code === 401) { say("signin"); return "signin"; }
      if (code === 409 && json.error && json.error.code === "stale_version") { say("conflict"); return "conflict"; }
      if (code === 422 || code === 409) {
        say("local");
        if (status && json.error) status.textContent = json.error.message;
        return "invalid";
      }
      say("local");
      later();
      return "error";
    }, function () {
      say("local");
      later();
      return "offline";
    });
  }
  function enqueue(final, go) {
    queue = queue.then(function () { return send(final, go); });
    return queue;
  }
  function showOpen(href) {
    /* A draft started here is now on the server too: link to it (this page keeps working). */
    if (!status || status.querySelector("a")) return;
    var a = document.createElement("a");
    a.href = href;
    a.textContent = status.getAttribute("data-open") || href;
    status.appendChild(document.createTextNode(" "));
    status.appendChild(a);
  }
  var failures = 0;
  function later() {
    /* try again soon, then less often: 2, 4, 8, 16, 30, 30… seconds (the "online" event may come
       before the link really carries anything) */
    clearTimeout(retry);
    failures += 1;
    retry = setTimeout(function () { if (dirty && navigator.onLine) enqueue(false); },
                       Math.min(30000, 1000 * Math.pow(2, failures)));
  }
  function changed() {
    keep();
    if (!navigator.onLine) { say("local"); return; }
    clearTimeout(timer);
    /* a draft started on this device is sent once the writer pauses a little longer: sending
       makes the draft on the server (then later sends save on top of it, by the device key) */
    timer = setTimeout(function () { enqueue(false); }, draft ? 4000 : 1200);
  }

  function submitNatively(button) {
    /* The server shows the conflict with both texts, or the marked fields. */
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = button && button.name ? button.name : "action";
    hidden.value = button && button.name ? button.value : "save";
    form.appendChild(hidden);
    HTMLFormElement.prototype.submit.call(form);
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", function (event) {
    if (event.target === chooser) filterMembers();
    changed();
  });
  /* the button that submits (event.submitter is missing in older browsers; Enter clicks the
     form's first button, a hidden Save) */
  form.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (button && button.type === "submit") clicked = button;
  });
  form.addEventListener("submit", function (event) {
    var button = event.submitter || clicked;
    clicked = null;
    if (button && button.hasAttribute("data-add-row")) {
      event.preventDefault();
      var row = addRow(button.getAttribute("data-add-row"));
      if (row) { var first = row.querySelector("input,select"); if (first) first.focus(); }
      changed();
      return;
    }
    if (button && button.hasAttribute("data-remove-row")) {
      event.preventDefault();
      var tr = button.closest("tr");
      if (tr) tr.parentNode.removeChild(tr);
      changed();
      return;
    }
    event.preventDefault();
    clearTimeout(timer);
    var next = button && button.getAttribute("data-href");
    if (button && button.name === "action" && button.value !== "save") {
      /* Another action (e.g. submit a report): posted by the page once the saves in flight are
         done, on top of the version they returned. */
      queue.then(function () { submitNatively(button); });
      return;
    }
    keep();
    enqueue(true, true).then(function (result) {
      if (result === "saved" && next) location.href = next;
      else if (result === "offline" && next) location.href = next;  /* kept here; the next page is kept too */
      else if (result === "conflict" || result === "invalid") submitNatively(button);
    });
  });
  window.addEventListener("online", function () { if (dirty) enqueue(false); });
  window.addEventListener("offline", function () { say("local"); });

  if (draft && form.elements.offline_key) {
    var kept = record();
    if (!kept || !kept.key) {
      var id = "";
      var bytes = new Uint8Array(16);
      (window.crypto || window.msCrypto).getRandomValues(bytes);
      bytes.forEach(function (b) { id += ("0" + b.toString(16)).slice(-2); });
      form.elements.offline_key.value = id;
    }
  }
  if (restore()) {
    say("local");
    if (navigator.onLine) enqueue(false);
  } else {
    filterMembers();
  }
})();
