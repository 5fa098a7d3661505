//! The status page in a real browser (Debian's headless Chromium) for a
//! maglevd on vppsim with nginx backends: every frontend and backend is
//! there with its state and weights, VIP counters are refreshed, a backend
//! whose nginx stops shows as down with effective weight 0 within 2 s
//! without a reload and comes back when it starts, the page logs no error,
//! reconnects by itself after a maglevd restart and asks no other host for
//! anything; and /status.json agrees with ListBackends and ListFrontends.

use std::time::{Duration, Instant};

use maglev_proto::maglev as pb;
use serde_json::Value;
use testsupport::chromium::{Browser, Page};
use testsupport::grpc::{client, wait_backend_state};
use testsupport::metrics::http_get;
use testsupport::net_host as addr;
use testsupport::{loopback_net, Maglevd, MaglevdOpts, Nginx, Vpp};

const WAIT: Duration = Duration::from_secs(20);

fn config(net: [u8; 3]) -> String {
    format!(
        "\
maglev:
  healthchecker:
    workers: 4
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      startup-min-delay: 0s
      startup-max-delay: 1s
  healthchecks:
    http:
      type: http
      port: 8080
      interval: 200ms
      timeout: 300ms
      rise: 2
      fall: 2
      jitter-percent: 0
  backends:
    web0: {{address: {a1}, healthcheck: http}}
    web1: {{address: {a2}, healthcheck: http}}
    web2: {{address: {a3}, healthcheck: http}}
    static0: {{address: {a4}}}
  frontends:
    site:
      description: the web site
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends:
            web0: {{weight: 60}}
            web1: {{}}
        - name: fallback
          backends:
            web2: {{}}
            static0: {{weight: 0}}
    api:
      address: 192.0.2.2
      protocol: tcp
      port: 443
      pools:
        - name: main
          backends:
            web1: {{}}
            web2: {{weight: 30}}
",
        a1 = addr(net, 1),
        a2 = addr(net, 2),
        a3 = addr(net, 3),
        a4 = addr(net, 4),
    )
}

/// What the page shows, read from its DOM: backends by name (state,
/// health) and frontends by name (state, header text, member rows).
const READ_PAGE: &str = r#"(() => {
  const out = {live: document.getElementById("live").textContent,
    vpp: (document.getElementById("v-conn") || {}).textContent, backends: {}, frontends: {}};
  document.querySelectorAll('tr[id^="b-"]').forEach(r => {
    out.backends[r.id.slice(2)] = {state: r.cells[2].textContent, health: r.cells[3].textContent};
  });
  document.querySelectorAll('tbody[id^="f-"]').forEach(t => {
    const rows = Array.from(t.rows);
    let pool = "";
    out.frontends[t.id.slice(2)] = {
      state: rows[0].querySelector("b").textContent,
      head: rows[0].textContent,
      members: rows.slice(1).map(r => {
        if (r.cells[0].textContent) pool = r.cells[0].textContent;
        return {pool: pool, active: r.classList.contains("act"), backend: r.cells[1].textContent,
          state: r.cells[2].textContent, weight: Number(r.cells[3].textContent),
          effective: Number(r.cells[4].textContent)};
      })};
  });
  return out;
})()"#;

/// HAProxy's N/M of a health counter, as the page and maglevc show it.
fn shown(h: &pb::HealthCounter) -> String {
    if h.value >= h.rise {
        format!("{}/{}", h.value - h.rise + 1, h.fall)
    } else {
        format!("{}/{}", h.value, h.rise)
    }
}

/// Where the page differs from ListBackends and ListFrontends (empty: it agrees).
fn page_vs_grpc(page: &Value, backends: &[pb::BackendInfo], frontends: &[pb::FrontendInfo]) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut check = |what: String, got: &Value, want: Value| {
        if *got != want {
            diffs.push(format!("{what}: page {got}, gRPC {want}"));
        }
    };
    check(
        "backend count".into(),
        &Value::from(page["backends"].as_object().map_or(0, |o| o.len())),
        backends.len().into(),
    );
    for b in backends {
        let p = &page["backends"][&b.name];
        check(format!("backend {} state", b.name), &p["state"], b.state.clone().into());
        let health = b.health.as_ref().map(shown).unwrap_or_else(|| "static".into());
        check(format!("backend {} health", b.name), &p["health"], health.into());
    }
    check(
        "frontend count".into(),
        &Value::from(page["frontends"].as_object().map_or(0, |o| o.len())),
        frontends.len().into(),
    );
    for f in frontends {
        let p = &page["frontends"][&f.name];
        check(format!("frontend {} state", f.name), &p["state"], f.state.clone().into());
        let head = p["head"].as_str().unwrap_or_default();
        let vip = format!("{} {}:{}", f.address, f.protocol, f.port);
        check(format!("frontend {} VIP", f.name), &Value::from(head.contains(&vip)), true.into());
        let want: Vec<Value> = f
            .pools
            .iter()
            .flat_map(|pool| {
                pool.backends.iter().map(move |m| {
                    serde_json::json!({"pool": pool.name, "active": pool.active, "backend": m.name,
                        "state": m.state, "weight": m.weight, "effective": m.effective_weight})
                })
            })
            .collect();
        check(format!("frontend {} members", f.name), &p["members"], Value::from(want));
    }
    diffs
}

/// Where /status.json differs from ListBackends and ListFrontends.
fn json_vs_grpc(s: &Value, backends: &[pb::BackendInfo], frontends: &[pb::FrontendInfo]) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut check = |what: String, got: &Value, want: Value| {
        if *got != want {
            diffs.push(format!("{what}: json {got}, gRPC {want}"));
        }
    };
    let jb = s["backends"].as_array().cloned().unwrap_or_default();
    check(
        "backend names".into(),
        &jb.iter().map(|b| b["name"].clone()).collect(),
        backends.iter().map(|b| Value::from(b.name.clone())).collect(),
    );
    for (j, b) in jb.iter().zip(backends) {
        let n = &b.name;
        check(format!("{n} address"), &j["address"], b.address.clone().into());
        check(format!("{n} state"), &j["state"], b.state.clone().into());
        check(format!("{n} enabled"), &j["enabled"], b.enabled.into());
        let hc = if b.healthcheck.is_empty() { Value::Null } else { b.healthcheck.clone().into() };
        check(format!("{n} healthcheck"), &j["healthcheck"], hc);
        match b.health.as_ref() {
            Some(h) => {
                check(format!("{n} health value"), &j["health"]["value"], h.value.into());
                check(format!("{n} rise"), &j["health"]["rise"], h.rise.into());
                check(format!("{n} fall"), &j["health"]["fall"], h.fall.into());
            }
            None => check(format!("{n} health"), &j["health"], Value::Null),
        }
        let code = b.last_result.as_ref().map(|r| Value::from(r.code.clone())).unwrap_or(Value::Null);
        check(format!("{n} last result"), &j["last_result"]["code"], code);
        check(format!("{n} frontends"), &j["frontends"], b.frontends.clone().into());
    }
    let jf = s["frontends"].as_array().cloned().unwrap_or_default();
    check(
        "frontend names".into(),
        &jf.iter().map(|f| f["name"].clone()).collect(),
        frontends.iter().map(|f| Value::from(f.name.clone())).collect(),
    );
    for (j, f) in jf.iter().zip(frontends) {
        let n = &f.name;
        for (key, want) in [
            ("description", Value::from(f.description.clone())),
            ("address", f.address.clone().into()),
            ("protocol", f.protocol.clone().into()),
            ("port", f.port.into()),
            ("state", f.state.clone().into()),
            ("active_pool", f.active_pool.clone().into()),
        ] {
            check(format!("{n} {key}"), &j[key], want);
        }
        let want: Vec<Value> = f
            .pools
            .iter()
            .map(|p| {
                let members: Vec<Value> = p
                    .backends
                    .iter()
                    .map(|m| serde_json::json!({"name": m.name, "state": m.state, "weight": m.weight, "effective_weight": m.effective_weight}))
                    .collect();
                serde_json::json!({"name": p.name, "active": p.active, "backends": members})
            })
            .collect();
        check(format!("{n} pools"), &j["pools"], want.into());
    }
    diffs
}

fn grpc_state(c: &maglev_proto::maglev_grpc::MaglevClient) -> (Vec<pb::BackendInfo>, Vec<pb::FrontendInfo>) {
    let b = c.list_backends(&pb::ListBackendsRequest::default()).expect("ListBackends").backends;
    let f = c.list_frontends(&pb::ListFrontendsRequest::default()).expect("ListFrontends").frontends;
    (b, f)
}

/// Reads the page until `ok` holds, at most `timeout`; returns how long it took.
fn wait_page(
    browser: &mut Browser,
    page: &Page,
    what: &str,
    timeout: Duration,
    ok: impl Fn(&Value) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let v = browser.eval(page, READ_PAGE);
        if ok(&v) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < timeout,
            "the page did not show {what} within {timeout:?}; it shows:\n{v:#}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_page_is_live_in_a_browser_and_status_json_agrees_with_the_api() {
    let net = loopback_net();
    let mut web0 = Nginx::http(&[addr(net, 1)], 8080);
    let _web1 = Nginx::http(&[addr(net, 2)], 8080);
    let _web2 = Nginx::http(&[addr(net, 3)], 8080);
    // Synthetic traffic, so that the VIP counters move.
    let sim = Vpp::sim(&["--traffic"]);
    let metrics_addr = format!("{}:9091", addr(net, 254));
    let m = Maglevd::start(
        &config(net),
        MaglevdOpts {
            vpp_api_addr: sim.api_socket.display().to_string(),
            vpp_stats_addr: sim.stats_socket.display().to_string(),
            metrics_addr: metrics_addr.clone(),
            ..Default::default()
        },
    );
    m.daemon.wait_for(&["metrics-listen", &format!("addr={metrics_addr}")], WAIT);
    let c = client(&m.grpc_addr);
    for b in ["web0", "web1", "web2"] {
        wait_backend_state(&c, b, "up", WAIT);
    }
    m.daemon.wait_for(&["vpp-warmup-done"], WAIT);

    // /status.json parses and agrees with the API (read again if a probe
    // moved a counter between the two reads).
    let mut diffs = Vec::new();
    for _ in 0..5 {
        let (status, headers, body) = http_get(&metrics_addr, "/status.json").expect("GET /status.json");
        assert!(status.ends_with("200 OK") && headers.contains("application/json"), "{status}\n{headers}");
        let json: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("/status.json: {e}\n{body}"));
        let (backends, frontends) = grpc_state(&c);
        diffs = json_vs_grpc(&json, &backends, &frontends);
        if diffs.is_empty() {
            assert_eq!(json["vpp"]["connected"], Value::from(true), "{json:#}");
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        diffs.is_empty(),
        "/status.json disagrees with ListBackends/ListFrontends:\n{}",
        diffs.join("\n")
    );

    // The page allows its own style and script by hash, and connections to
    // its own origin only.
    let (status, headers, _) = http_get(&metrics_addr, "/status").expect("GET /status");
    assert!(status.ends_with("200 OK"), "{status}");
    let csp = headers.lines().find_map(|l| l.strip_prefix("content-security-policy: ")).unwrap_or_default();
    for want in ["default-src 'none'", "script-src 'sha256-", "style-src 'sha256-", "connect-src 'self'"] {
        assert!(csp.contains(want), "{want} not in the Content-Security-Policy {csp:?}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");

    let mut browser = Browser::start();
    let origin = format!("http://{metrics_addr}");
    // `/` redirects to the page.
    let page = browser.open(&format!("{origin}/"));
    assert_eq!(browser.eval(&page, "location.pathname"), Value::from("/status"));
    wait_page(&mut browser, &page, "a live stream", WAIT, |v| v["live"] == "live");

    // Every frontend and backend, with the state and weights the API reports.
    let deadline = Instant::now() + WAIT;
    loop {
        let shown = browser.eval(&page, READ_PAGE);
        let (backends, frontends) = grpc_state(&c);
        let diffs = page_vs_grpc(&shown, &backends, &frontends);
        if diffs.is_empty() {
            assert!(shown["vpp"].as_str().unwrap_or_default().starts_with("connected"), "{shown:#}");
            break;
        }
        assert!(Instant::now() < deadline, "the page disagrees with the API:\n{}", diffs.join("\n"));
        std::thread::sleep(Duration::from_millis(100));
    }

    // The VIP counters are refreshed without a reload, with rates.
    const COUNTERS: &str = "Array.from(document.querySelectorAll('#vpp tbody tr')).map(r => \
        Array.from(r.cells).map(c => c.textContent))";
    browser.eval(&page, "window.notReloaded = true");
    let deadline = Instant::now() + WAIT;
    let first = loop {
        // One row per frontend once VPP's counters were first read.
        let rows = browser.eval(&page, COUNTERS);
        if rows.as_array().map_or(0, Vec::len) == 2 {
            break rows;
        }
        assert!(Instant::now() < deadline, "no counter row per frontend within {WAIT:?}: {rows}");
        std::thread::sleep(Duration::from_millis(200));
    };
    loop {
        let now = browser.eval(&page, COUNTERS);
        // Columns: frontend, vip, first, next, untracked, no server, pkt/s, route bytes, bit/s.
        let moved = now != first && now[0][3] != first[0][3] && now[0][6] != "–";
        if moved {
            break;
        }
        assert!(Instant::now() < deadline, "the counters did not move within {WAIT:?}: {first} then {now}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(browser.eval(&page, "window.notReloaded === true"), Value::from(true), "the page reloaded");

    // web0's nginx stops: without a reload, the page shows it down with
    // effective weight 0 (and the fallback pool does not take over: web1
    // is still up in the primary pool).
    let web0_down = |v: &Value| {
        let m = &v["frontends"]["site"]["members"][0];
        v["backends"]["web0"]["state"] == "down" && m["state"] == "down" && m["effective"] == 0
    };
    web0.stop();
    let took = wait_page(
        &mut browser,
        &page,
        "web0 down with effective weight 0",
        Duration::from_secs(2),
        web0_down,
    );
    assert_eq!(browser.eval(&page, "window.notReloaded === true"), Value::from(true), "the page reloaded");
    eprintln!("the page showed web0 down {took:?} after its nginx stopped");

    web0.restart();
    wait_page(&mut browser, &page, "web0 back up with effective weight 60", WAIT, |v| {
        let m = &v["frontends"]["site"]["members"][0];
        v["backends"]["web0"]["state"] == "up" && m["effective"] == 60
    });
    // The events table has the transitions, newest first.
    let events =
        browser.eval(&page, "Array.from(document.querySelectorAll('#events tr')).map(r => r.textContent)");
    let events: Vec<String> =
        events.as_array().expect("rows").iter().map(|r| r.as_str().unwrap_or_default().to_string()).collect();
    let down = events.iter().position(|e| e.contains("web0") && e.contains("up → down"));
    let up = events.iter().position(|e| e.contains("web0") && e.contains("down → up"));
    assert!(matches!((up, down), (Some(u), Some(d)) if u < d), "{events:#?}");
    assert_eq!(browser.eval(&page, "window.notReloaded === true"), Value::from(true), "the page reloaded");

    let errors = browser.errors();
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");

    // maglevd restarts: the page says so, reconnects by itself and is
    // live again, still without a reload (the layout is the same).
    drop(m);
    wait_page(&mut browser, &page, "that it lost its stream", WAIT, |v| v["live"] == "reconnecting");
    let m = Maglevd::start(
        &config(net),
        MaglevdOpts {
            vpp_api_addr: sim.api_socket.display().to_string(),
            vpp_stats_addr: sim.stats_socket.display().to_string(),
            metrics_addr: metrics_addr.clone(),
            ..Default::default()
        },
    );
    m.daemon.wait_for(&["metrics-listen"], WAIT);
    wait_page(&mut browser, &page, "a live stream again", WAIT, |v| v["live"] == "live");
    assert_eq!(browser.eval(&page, "window.notReloaded === true"), Value::from(true), "the page reloaded");
    // While maglevd was away the browser's reconnection attempts failed;
    // those are the only errors allowed.
    let errors: Vec<Value> = browser
        .errors()
        .into_iter()
        .filter(|e| {
            let entry = &e["params"]["entry"];
            !(entry["source"] == "network"
                && entry["url"].as_str().is_some_and(|u| u.ends_with("/status/events")))
        })
        .collect();
    assert!(errors.is_empty(), "the page logged errors: {errors:#?}");

    let urls = browser.requested_urls();
    assert!(urls.iter().any(|u| u.ends_with("/status/events")), "{urls:?}");
    let foreign: Vec<&String> = urls.iter().filter(|u| !u.starts_with(&format!("{origin}/"))).collect();
    assert!(foreign.is_empty(), "the page asked other hosts: {foreign:?}");
}
