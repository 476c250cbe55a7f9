"use strict";
// The visual ratchet. It draws precomputed steps (inlined as JSON by the
// server, computed by blindpost's protocol code) and computes nothing.
(function () {
  var data = JSON.parse(document.getElementById("steps").textContent);
  var steps = data.steps;
  var cur = 0;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // owner is "a" or "b" for a key name that names one of Alice's or Bob's
  // ratchet keys (A2, CK(A2,1), mk(B1,0)*), "" otherwise.
  function owner(name) {
    var m = /^(?:CK\(|mk\()?([AB])\d/.exec(name);
    return m ? m[1].toLowerCase() : "";
  }

  function keyEl(k, changed) {
    var s = el("span", "key " + owner(k.name));
    s.appendChild(el("span", "name", k.name));
    s.appendChild(el("span", "fp", k.fp));
    if (changed) s.classList.add("changed");
    s.setAttribute("data-fp", k.fp);
    return s;
  }

  function row(label, value) {
    var r = el("div", "row");
    r.appendChild(el("span", "label", label));
    if (typeof value === "string") r.appendChild(el("span", "", value));
    else r.appendChild(value);
    return r;
  }

  function box(title) {
    var b = el("div", "box");
    b.appendChild(el("h3", "", title));
    return b;
  }

  function chainsByKey(ps) {
    var m = {};
    (ps.receiving || []).forEach(function (c) { m[c.ratchetKey.name] = c; });
    return m;
  }

  function renderParty(id, ps, prev) {
    var root = document.querySelector("#" + id + " .state");
    root.textContent = "";
    if (!ps.started) {
      root.appendChild(el("p", "empty", "No session yet: Bob's bundle is published on the relay."));
      return;
    }
    var p = prev && prev.started ? prev : null;
    var b = box("Root chain");
    b.appendChild(row("RK", keyEl(ps.root, p && p.root.fp !== ps.root.fp)));
    root.appendChild(b);

    var s = ps.sending;
    b = box("Sending chain (DHs, CKs)");
    var ps0 = p && p.sending;
    b.appendChild(row("ratchet key", keyEl(s.ratchetKey, ps0 && ps0.ratchetKey.fp !== s.ratchetKey.fp)));
    b.appendChild(row("chain key", keyEl(s.chainKey, ps0 && ps0.chainKey.fp !== s.chainKey.fp)));
    b.appendChild(row("next N", String(s.next)));
    root.appendChild(b);

    b = box("Receiving chains (DHr, CKr)");
    var before = p ? chainsByKey(p) : {};
    if (!ps.receiving.length) b.appendChild(el("p", "empty", "none"));
    ps.receiving.forEach(function (c) {
      var o = before[c.ratchetKey.name];
      b.appendChild(row("from " + c.ratchetKey.name, keyEl(c.chainKey, p && (!o || o.chainKey.fp !== c.chainKey.fp))));
      var sk = c.skipped || [];
      if (sk.length) {
        var d = el("div", "skipped");
        d.appendChild(el("span", "label", "skipped keys: "));
        sk.forEach(function (k) { d.appendChild(keyEl(k, false)); d.appendChild(document.createTextNode(" ")); });
        b.appendChild(d);
      }
    });
    root.appendChild(b);
  }

  function describe(st) {
    if (st.action === "start") return "Start: X3DH done, Alice initialised";
    if (st.action === "send") return st.actor + " sends " + st.message;
    return st.actor + " receives " + st.message;
  }

  function renderEvent(st) {
    var e = document.getElementById("event");
    e.textContent = "";
    e.className = st.dhStep ? "dh" : "";
    var w = el("div", "what", describe(st));
    if (st.dhStep) w.appendChild(el("span", "badge", "DH ratchet step"));
    if (st.fromSkipped) w.appendChild(el("span", "badge skip", "skipped key"));
    e.appendChild(w);
    if (st.header) {
      var h = st.header;
      e.appendChild(el("div", "meta", "header: DHs = " + h.dhs.name + " (" + h.dhs.fp + "), PN = " + h.pn + ", N = " + h.n +
        "; type " + h.type + ", " + h.bytes + " bytes"));
      var k = el("div", "");
      k.appendChild(document.createTextNode(st.action === "send" ? "encrypted with " : "decrypted with "));
      k.appendChild(keyEl(st.messageKey, false));
      e.appendChild(k);
    }
  }

  // messages lists every message sent up to step k, with whether it has
  // been delivered.
  function renderMessages(k) {
    var list = document.getElementById("messages");
    list.textContent = "";
    var sent = {}, order = [];
    for (var i = 0; i <= k; i++) {
      var st = steps[i];
      if (st.action === "send") { sent[st.message] = { st: st, delivered: false, step: i }; order.push(st.message); }
      if (st.action === "receive" && sent[st.message]) sent[st.message].delivered = true;
    }
    order.forEach(function (label) {
      var m = sent[label], st = m.st, to = st.actor === "Alice" ? "Bob" : "Alice";
      var li = el("li", "from-" + st.actor.toLowerCase());
      if (steps[k].message === label) li.classList.add("current");
      if (!m.delivered) li.classList.add("in-flight");
      li.appendChild(el("span", "label", label));
      var body = el("div", "");
      var line = el("div", "");
      line.appendChild(el("span", "arrow", st.actor + " \u2192 " + to + "  "));
      line.appendChild(document.createTextNode("\u201c" + st.text + "\u201d"));
      if (!m.delivered) line.appendChild(el("span", "badge flight", "in flight"));
      body.appendChild(line);
      var meta = el("div", "meta");
      meta.appendChild(document.createTextNode("DHs " + st.header.dhs.name + ", PN " + st.header.pn + ", N " + st.header.n + ", key "));
      meta.appendChild(keyEl(st.messageKey, false));
      body.appendChild(meta);
      li.appendChild(body);
      list.appendChild(li);
    });
    if (!order.length) list.appendChild(el("li", "empty", "No message yet."));
  }

  function renderExplain(st) {
    var e = document.getElementById("explain");
    e.textContent = "";
    e.appendChild(el("h2", "", "Step " + st.n + ": " + describe(st)));
    e.appendChild(el("p", "", st.note));
    if (st.skipped && st.skipped.length) {
      var p = el("p", "");
      p.appendChild(document.createTextNode("Stored for messages not yet arrived (MKSKIPPED): "));
      st.skipped.forEach(function (k) { p.appendChild(keyEl(k, false)); p.appendChild(document.createTextNode(" ")); });
      e.appendChild(p);
    }
    var d = st.dhStep;
    if (!d) return;
    var t = el("table", "");
    function tr(a, k, b) {
      var r = el("tr", "");
      r.appendChild(el("td", "", a));
      var c = el("td", ""); c.appendChild(keyEl(k, false)); r.appendChild(c);
      r.appendChild(el("td", "", b));
      t.appendChild(r);
    }
    tr("receiving half", d.recvDH, "DH of the current ratchet key with the new one in the header");
    tr("", d.rootMid, "KDF_RK, first half: the next root key");
    tr("", d.recvChain, "KDF_RK, second half: the new receiving chain");
    tr("sending half", d.newKey, "a fresh ratchet key pair");
    tr("", d.sendDH, "DH of the fresh key with the peer's");
    tr("", d.root, "KDF_RK, first half: the root key from now on");
    tr("", d.sendChain, "KDF_RK, second half: the new sending chain");
    e.appendChild(t);
  }

  function renderTimeline() {
    var body = document.querySelector("#timeline tbody");
    steps.forEach(function (st, i) {
      var r = el("tr", "");
      r.setAttribute("data-step", String(i));
      r.appendChild(el("td", "", String(st.n)));
      r.appendChild(el("td", "", st.actor));
      r.appendChild(el("td", "", describe(st) + (st.dhStep ? " (DH ratchet step)" : "")));
      [st.alice, st.bob].forEach(function (ps) {
        var c = el("td", "");
        if (ps.started) c.appendChild(keyEl(ps.root, false)); else c.textContent = "-";
        r.appendChild(c);
      });
      var c = el("td", "");
      if (st.messageKey) c.appendChild(keyEl(st.messageKey, false)); else c.textContent = "-";
      r.appendChild(c);
      r.addEventListener("click", function () { show(i); });
      body.appendChild(r);
    });
    var dots = document.getElementById("dots");
    steps.forEach(function (st, i) {
      var a = el("a", st.dhStep ? "dh" : "");
      a.href = "?step=" + i;
      a.title = describe(st);
      a.addEventListener("click", function (ev) { ev.preventDefault(); show(i); });
      dots.appendChild(a);
    });
  }

  function show(k) {
    cur = Math.max(0, Math.min(steps.length - 1, k));
    var st = steps[cur], prev = cur > 0 ? steps[cur - 1] : null;
    document.getElementById("position").textContent = "Step " + cur + " of " + (steps.length - 1);
    document.getElementById("prev").disabled = cur === 0;
    document.getElementById("next").disabled = cur === steps.length - 1;
    renderParty("alice", st.alice, prev && prev.alice);
    renderParty("bob", st.bob, prev && prev.bob);
    renderEvent(st);
    renderMessages(cur);
    renderExplain(st);
    document.querySelectorAll("#timeline tbody tr").forEach(function (r) {
      r.classList.toggle("current", r.getAttribute("data-step") === String(cur));
    });
    document.querySelectorAll("#dots a").forEach(function (a, i) { a.classList.toggle("current", i === cur); });
    document.body.setAttribute("data-step", String(cur));
    try { history.replaceState(null, "", "?step=" + cur); } catch (e) { /* a page read from a file */ }
  }

  document.getElementById("prev").addEventListener("click", function () { show(cur - 1); });
  document.getElementById("next").addEventListener("click", function () { show(cur + 1); });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowLeft") show(cur - 1);
    if (ev.key === "ArrowRight") show(cur + 1);
  });
  renderTimeline();
  var q = /[?&]step=(\d+)/.exec(location.search);
  show(q ? parseInt(q[1], 10) : 0);
  document.body.setAttribute("data-ready", "true");
})();
