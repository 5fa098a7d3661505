// Keeps the server-rendered page current from /status/events: "state"
// (the whole view, on connect and every 5 s) and "change" (one transition
// with the rows it touched). Rows and cells are found as html.rs lays them
// out. Nothing is fetched from anywhere but this page's own origin.
// No line may continue a statement across a comment line: the server
// strips indentation and comment lines before sending it.
(function () {
  "use strict";
  var layout = document.body.dataset.layout;
  var skew = Date.now() - Number(document.body.dataset.now);
  var live = el("live");
  var es = null;
  var retry = null;

  function el(id) { return document.getElementById(id); }
  function now() { return Date.now() - skew; }
  function p2(n) { return (n < 10 ? "0" : "") + n; }
  function age(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + p2(s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h" + p2(Math.floor(s / 60) % 60) + "m";
    return Math.floor(s / 86400) + "d" + p2(Math.floor(s / 3600) % 24) + "h";
  }
  function si(n) {
    var units = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e4, "k"]];
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(n) >= units[i][0]) {
        var v = n / units[i][0], a = Math.abs(v);
        return (a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2)) + units[i][1];
      }
    }
    return n % 1 === 0 ? String(n) : n.toFixed(1);
  }
  function iso(ms) { return new Date(ms).toISOString(); }
  function text(node, t) { if (node && node.textContent !== t) node.textContent = t; }
  function make(tag, cls, t) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (t != null) n.textContent = t;
    return n;
  }
  function badge(parent, state) {
    var b = parent.querySelector("b");
    if (!b) return;
    b.className = state;
    text(b, state);
  }
  function timeCell(td, t) {
    if (t == null) {
      delete td.dataset.t;
      text(td, "");
      return;
    }
    td.dataset.t = t;
    text(td, age(now() - t));
  }

  function backend(b) {
    var r = el("b-" + b.name);
    if (!r) return;
    var c = r.cells;
    badge(c[2], b.state);
    text(c[3], b.health ? b.health.text : "static");
    var lr = b.last_result;
    var key = lr ? lr.code + "\u0000" + lr.detail : "";
    if (c[4].dataset.k !== key) {
      c[4].dataset.k = key;
      c[4].textContent = "";
      if (lr) {
        c[4].appendChild(make("code", null, lr.code));
        c[4].appendChild(document.createTextNode(" " + lr.detail));
      }
    }
    text(c[5], lr ? lr.duration_ms.toFixed(1) + "ms" : "");
    timeCell(c[6], lr ? lr.at_ms : null);
    timeCell(c[7], b.last_transition_ms);
  }

  // A frontend's tbody: its header row, then its pools' members in order.
  function frontend(f) {
    var t = el("f-" + f.name);
    if (!t) return;
    badge(t.rows[0], f.state);
    var i = 1;
    f.pools.forEach(function (p) {
      p.backends.forEach(function (m) {
        var r = t.rows[i++];
        if (!r) return;
        r.className = p.active ? "act" : "";
        badge(r.cells[2], m.state);
        text(r.cells[3], String(m.weight));
        text(r.cells[4], String(m.effective_weight));
        r.cells[4].className = m.effective_weight === 0 ? "z" : "";
      });
    });
  }

  function ageSpan(dd, t) {
    dd.textContent = "";
    if (t == null) return;
    var s = make("span", null, age(now() - t));
    s.dataset.t = t;
    s.title = iso(t);
    dd.appendChild(s);
  }

  function vpp(v) {
    var conn = el("v-conn");
    if (!v || !conn) return;
    var s = v.connected ? "connected" : "disconnected";
    conn.textContent = "";
    conn.appendChild(make("b", s, s));
    if (v.reason) conn.appendChild(document.createTextNode(" " + v.reason));
    badge(el("v-stats"), v.stats_connected ? "connected" : "disconnected");
    text(el("v-ver"), v.version);
    ageSpan(el("v-up"), v.boot_ms);
    ageSpan(el("v-con"), v.connected_ms);
    text(el("v-warm"), v.warmup);
    var sync = el("v-sync"), ls = v.last_sync;
    if (ls) {
      ageSpan(sync, ls.at_ms);
      sync.appendChild(document.createTextNode(" ago, " + (ls.scope === "all" ? "all" : ls.frontends.join(",")) +
        " (" + ls.duration_ms.toFixed(1) + "ms): vip +" + ls.vips_added + " -" + ls.vips_removed +
        ", as +" + ls.ases_added + " -" + ls.ases_removed + ", weight " + ls.weights_updated));
    }
    var tb = document.querySelector("#vpp tbody");
    tb.textContent = "";
    v.vips.forEach(function (c) {
      var tr = make("tr");
      [c.frontend, c.vip, si(c.first), si(c.next), si(c.untracked), si(c.no_server),
        c.packets_rate == null ? "–" : si(c.packets_rate), si(c.route_bytes),
        c.bytes_rate == null ? "–" : si(c.bytes_rate * 8)].forEach(function (t) {
        tr.appendChild(make("td", null, t));
      });
      tb.appendChild(tr);
    });
  }

  function eventRow(e) {
    var tr = make("tr");
    tr.appendChild(make("td", null, iso(e.at_ms).slice(11, 19)));
    tr.appendChild(make("td", null, (e.kind === "frontend" ? "frontend " : "") + e.name));
    var td = make("td");
    td.appendChild(make("b", e.from, e.from));
    td.appendChild(document.createTextNode(" → "));
    td.appendChild(make("b", e.to, e.to));
    tr.appendChild(td);
    tr.appendChild(make("td", null, e.code));
    tr.appendChild(make("td", null, e.detail));
    return tr;
  }
  function events(list) {
    var tb = el("events");
    tb.textContent = "";
    list.forEach(function (e) { tb.appendChild(eventRow(e)); });
  }
  function addEvent(e) {
    var tb = el("events");
    tb.insertBefore(eventRow(e), tb.firstChild);
    while (tb.rows.length > 50) tb.deleteRow(-1);
  }

  function tick() {
    var n = now();
    document.querySelectorAll("[data-t]").forEach(function (node) {
      text(node, age(n - Number(node.dataset.t)));
    });
  }

  function apply(s) {
    if (s.maglevd.layout !== layout) {
      // Frontends, pools or backends changed (a reload or a restart).
      location.reload();
      return;
    }
    skew = Date.now() - s.maglevd.now_ms;
    el("d-up").dataset.t = s.maglevd.started_ms;
    s.frontends.forEach(frontend);
    s.backends.forEach(backend);
    vpp(s.vpp);
    events(s.events);
    tick();
  }

  function setLive(state, label) {
    live.className = state;
    text(live, label);
  }

  function connect() {
    retry = null;
    es = new EventSource("/status/events");
    es.addEventListener("state", function (m) {
      apply(JSON.parse(m.data));
      setLive("live", "live");
    });
    es.addEventListener("change", function (m) {
      var c = JSON.parse(m.data);
      c.frontends.forEach(frontend);
      c.backends.forEach(backend);
      if (c.event) addEvent(c.event);
    });
    es.onerror = function () {
      setLive("down", "reconnecting");
      // The browser retries by itself unless the answer was not a stream
      // (503 when too many pages are open): then retry here.
      if (es.readyState === EventSource.CLOSED && !retry) retry = setTimeout(connect, 5000);
    };
  }

  if (window.EventSource) {
    setLive("unknown", "connecting");
    connect();
  }
  setInterval(tick, 1000);
})();
