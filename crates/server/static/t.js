/* Tributary site snippet (docs/SNIPPET.md). Plain ES5, no dependencies.
 * <script src="https://YOUR-TRIBUTARY/t.js" data-key="PROGRAM-PUBLIC-KEY" async></script>
 * Optional: data-param="aff" (another query parameter carrying a link code),
 * data-days="30" (cookie lifetime). */
(function (w, d) {
  "use strict";
  var s = d.currentScript;
  if (!s) {
    var all = d.getElementsByTagName("script");
    for (var n = all.length - 1; n >= 0; n--) {
      if (/\/t\.js(\?|$)/.test(all[n].src)) { s = all[n]; break; }
    }
  }
  if (!s) { return; }
  var key = s.getAttribute("data-key") || "";
  var param = s.getAttribute("data-param");
  var days = parseInt(s.getAttribute("data-days"), 10) || 30;
  var base = s.src.replace(/\/t\.js(\?.*)?$/, "");
  var NAME = "trb_ids";
  var MAX = 10;
  var ID = /^[A-Za-z0-9_-]{20,64}$/;

  function read() {
    var m = d.cookie.match(/(?:^|;\s*)trb_ids=([^;]*)/);
    var out = [];
    if (m && m[1]) {
      var parts = m[1].split(".");
      for (var i = 0; i < parts.length; i++) { if (ID.test(parts[i])) { out.push(parts[i]); } }
    }
    return out;
  }

  function keep(id) {
    if (!ID.test(id)) { return; }
    var ids = read();
    var out = [];
    for (var i = 0; i < ids.length; i++) { if (ids[i] !== id) { out.push(ids[i]); } }
    out.push(id);
    while (out.length > MAX) { out.shift(); }
    d.cookie = NAME + "=" + out.join(".") + "; max-age=" + days * 86400 + "; path=/; SameSite=Lax" +
      (w.location.protocol === "https:" ? "; Secure" : "");
  }

  function query(name) {
    var m = w.location.search.match(new RegExp("[?&]" + name + "=([^&#]*)"));
    if (!m) { return null; }
    try { return decodeURIComponent(m[1].replace(/\+/g, " ")); } catch (e) { return null; }
  }

  // text/plain keeps the request "simple": no CORS preflight. `keep` (fetch's keepalive)
  // lets a lead reported on a form's submit outlive the page.
  function post(path, body, done, keep) {
    var text = JSON.stringify(body);
    if (keep && w.fetch) {
      w.fetch(base + path, { method: "POST", body: text, keepalive: true, headers: { "Content-Type": "text/plain" } })
        .then(function (r) {
          return r.json().then(function (a) { if (done) { done(r.status, a); } }, function () { if (done) { done(r.status, null); } });
        }, function () { if (done) { done(0, null); } });
      return;
    }
    var x = new XMLHttpRequest();
    x.open("POST", base + path, true);
    x.setRequestHeader("Content-Type", "text/plain");
    x.timeout = 10000;
    x.onreadystatechange = function () {
      if (x.readyState !== 4) { return; }
      var answer = null;
      try { answer = JSON.parse(x.responseText); } catch (e) { answer = null; }
      if (done) { done(x.status, answer); }
    };
    x.send(text);
  }

  var waiting = 0;
  var queue = [];
  function after(f) { if (waiting) { queue.push(f); } else { f(); } }
  function settled() {
    waiting--;
    var q = queue;
    queue = [];
    for (var i = 0; i < q.length; i++) { q[i](); }
  }

  var t = w.tributary && w.tributary.q ? w.tributary : {};
  var early = t.q || [];
  function run(call) {
    if (call && call[0] === "lead") { t.lead(call[1], call[2]); }
  }
  /* Calls queued with tributary.q.push([...]) before or after loading run the same way. */
  t.q = { push: run };
  /* The visitor's latest click id, for checkout (e.g. Stripe client_reference_id). */
  t.clickId = function () { var ids = read(); return ids.length ? ids[ids.length - 1] : null; };
  /* All the visitor's click ids, oldest first. */
  t.clickIds = function () { return read(); };
  /* Reports a lead: tributary.lead({email: "..."} or {customer_id: "..."}, callback). */
  t.lead = function (who, done) {
    after(function () {
      var ids = read();
      if (!ids.length) { if (done) { done(0, null); } return; }
      post("/t/lead", {
        key: key,
        email: who && who.email,
        customer_id: who && who.customer_id,
        click_id: ids[ids.length - 1],
        click_ids: ids.slice(0, -1)
      }, done, true);
    });
  };
  w.tributary = t;

  var tclid = query("tclid");
  if (tclid) {
    keep(tclid);
  } else {
    var via = (param && query(param)) || query("via") || query("ref");
    if (via) {
      waiting++;
      post("/t/visit", { key: key, via: via }, function (status, answer) {
        if (answer && answer.click_id) { keep(answer.click_id); }
        settled();
      });
    }
  }
  for (var i = 0; i < early.length; i++) { run(early[i]); }
})(window, document);
