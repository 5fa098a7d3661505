//! maglevd's /metrics endpoint scraped over HTTP while it health-checks
//! real nginx backends: counters grow, states and weights follow the
//! backends, a forced failure shows as a transition, and the whole
//! exposition passes `promtool check metrics`.

use std::time::Duration;

use testsupport::metrics::{http_get, poll, promtool_check, scrape, Scrape};
use testsupport::net_host as addr;
use testsupport::{bin, loopback_net, Daemon, Maglevd, MaglevdOpts, Nginx};

const WAIT: Duration = Duration::from_secs(10);

fn config(net: [u8; 3]) -> String {
    format!(
        "\
maglev:
  healthchecker:
    workers: 4
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
    web0: {{address: {a0}, healthcheck: http}}
    web1: {{address: {a1}, healthcheck: http}}
    static0: {{address: {a2}}}
  frontends:
    site:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends:
            web0: {{weight: 60}}
        - name: fallback
          backends:
            web1: {{}}
            static0: {{weight: 0}}
",
        a0 = addr(net, 1),
        a1 = addr(net, 2),
        a2 = addr(net, 3),
    )
}

#[test]
fn scrapes_follow_probes_states_weights_and_transitions() {
    let net = loopback_net();
    let mut nginx0 = Nginx::http(&[addr(net, 1)], 8080);
    let _nginx1 = Nginx::http(&[addr(net, 2)], 8080);
    // An address of this test's own loopback /24: no port race with others.
    let metrics_addr = format!("{}:9091", addr(net, 254));
    let m = Maglevd::start(
        &config(net),
        MaglevdOpts { metrics_addr: metrics_addr.clone(), ..Default::default() },
    );
    m.daemon.wait_for(&["metrics-listen", &format!("addr={metrics_addr}")], WAIT);

    let up =
        |s: &Scrape, b: &str| s.get("maglev_backend_state", &[("backend", b), ("state", "up")]) == Some(1.0);
    poll(&metrics_addr, "web0 and web1 up", WAIT, |s| (up(s, "web0") && up(s, "web1")).then_some(()));

    let first = scrape(&metrics_addr);
    assert_eq!(first.content_type, "text/plain; version=0.0.4; charset=utf-8");
    // Every gRPC method is exported from the first scrape, before any call.
    for (method, kind) in [("ListBackends", "unary"), ("WatchEvents", "server_stream")] {
        let l = [("grpc_service", "maglev.Maglev"), ("grpc_method", method), ("grpc_type", kind)];
        assert!(first.get("grpc_server_started_total", &l).is_some(), "{method}:\n{}", first.body);
        let ok = [l[0], l[1], l[2], ("grpc_code", "OK")];
        assert!(first.get("grpc_server_handled_total", &ok).is_some(), "{method}");
        assert!(first.get("grpc_server_handling_seconds_count", &l).is_some(), "{method}");
    }
    let pass0 = [("backend", "web0"), ("type", "http"), ("result", "pass"), ("code", "L7OK")];
    let before = first.value("maglev_probe_total", &pass0);
    assert!(before >= 1.0, "web0 is up (from unknown, one pass), counted {before}");
    let grown = poll(&metrics_addr, "maglev_probe_total of web0 grows between scrapes", WAIT, |s| {
        s.get("maglev_probe_total", &pass0).filter(|&v| v > before)
    });
    assert!(grown > before);

    let s = poll(&metrics_addr, "web0 at full health (HAProxy's 2/2: fall failures from down)", WAIT, |s| {
        (s.get("maglev_backend_health", &[("backend", "web0")]) == Some(2.0)).then(|| scrape(&metrics_addr))
    });
    let dur = [("backend", "web0"), ("type", "http")];
    assert!(s.value("maglev_probe_duration_seconds_count", &dur) >= 1.0);
    assert!(s.value("maglev_probe_duration_seconds_sum", &dur) > 0.0);
    assert_eq!(
        s.value("maglev_probe_duration_seconds_bucket", &[("backend", "web0"), ("le", "+Inf")]),
        s.value("maglev_probe_duration_seconds_count", &dur)
    );
    // Lateness is measured for every probe of every backend.
    let probes0 = s.value("maglev_probe_duration_seconds_count", &dur);
    assert!(s.value("maglev_probe_schedule_lateness_seconds_count", &[]) >= probes0);
    for b in ["web0", "web1", "static0"] {
        assert_eq!(s.value("maglev_backend_enabled", &[("backend", b)]), 1.0, "{b}");
        assert_eq!(s.value("maglev_backend_state", &[("backend", b), ("state", "up")]), 1.0, "{b}");
        assert_eq!(s.value("maglev_backend_state", &[("backend", b), ("state", "down")]), 0.0, "{b}");
    }
    assert_eq!(
        s.get("maglev_backend_health", &[("backend", "static0")]),
        None,
        "a static backend has no counter"
    );
    assert_eq!(s.value("maglev_frontend_state", &[("frontend", "site"), ("state", "up")]), 1.0);
    let weights = |s: &Scrape, pool: &str, b: &str| {
        let l = [("frontend", "site"), ("pool", pool), ("backend", b)];
        (
            s.value("maglev_frontend_pool_backend_weight", &l),
            s.value("maglev_frontend_pool_backend_effective_weight", &l),
        )
    };
    assert_eq!(weights(&s, "primary", "web0"), (60.0, 60.0));
    assert_eq!(weights(&s, "fallback", "web1"), (100.0, 0.0), "standby pool");
    assert_eq!(weights(&s, "fallback", "static0"), (0.0, 0.0));
    assert_eq!(s.value("maglev_vpp_connected", &[]), 0.0);
    assert_eq!(s.get("maglev_vpp_info", &[]), None);
    assert_eq!(
        s.value(
            "maglev_backend_transitions_total",
            &[("backend", "web0"), ("from", "unknown"), ("to", "up")]
        ),
        1.0
    );
    assert_eq!(s.get("maglev_backend_transitions_total", &[("backend", "web0"), ("to", "down")]), None);
    assert!(s.get("maglev_build_info", &[]).is_some());
    // CPU time may still be 0 ticks this early; the others cannot be 0.
    assert!(s.value("process_cpu_seconds_total", &[]) >= 0.0);
    for p in ["process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"] {
        assert!(s.value(p, &[]) > 0.0, "{p}");
    }
    promtool_check(&s.body);

    // web0 fails: the transition is counted and the fallback pool takes over.
    nginx0.stop();
    let down = [("backend", "web0"), ("from", "up"), ("to", "down")];
    let s = poll(&metrics_addr, "web0's up -> down transition counted", WAIT, |s| {
        (s.get("maglev_backend_transitions_total", &down) == Some(1.0)).then(|| scrape(&metrics_addr))
    });
    assert_eq!(s.value("maglev_backend_state", &[("backend", "web0"), ("state", "down")]), 1.0);
    assert_eq!(s.value("maglev_backend_state", &[("backend", "web0"), ("state", "up")]), 0.0);
    let fail0 = [("backend", "web0"), ("type", "http"), ("result", "fail"), ("code", "L4CON")];
    assert!(s.value("maglev_probe_total", &fail0) >= 2.0, "fall=2 connection failures");
    assert_eq!(weights(&s, "primary", "web0"), (60.0, 0.0));
    assert_eq!(weights(&s, "fallback", "web1"), (100.0, 100.0), "failover to the fallback pool");
    assert_eq!(s.value("maglev_frontend_state", &[("frontend", "site"), ("state", "up")]), 1.0);
    promtool_check(&s.body);

    // The index is the status page.
    let (status, headers, _) = http_get(&metrics_addr, "/").expect("GET /");
    assert!(status.contains(" 302 ") && headers.contains("location: /status\r\n"), "{status} {headers}");
    let (status, _, _) = http_get(&metrics_addr, "/other").expect("GET /other");
    assert!(status.contains(" 404 "), "{status}");
}

#[test]
fn metrics_address_in_use_stops_startup_with_its_name_and_empty_disables() {
    let net = loopback_net();
    let config = "maglev:\n  backends:\n    s: {address: 127.0.0.1}\n";

    let m = Maglevd::start(config, MaglevdOpts::default());
    m.daemon.wait_for(&["metrics-disabled"], WAIT);
    drop(m);

    let taken = std::net::TcpListener::bind(format!("{}:9091", addr(net, 254))).expect("bind the port first");
    let busy = taken.local_addr().expect("local addr").to_string();
    let dir = testsupport::TempDir::new("maglevd");
    let file = dir.write("maglev.yaml", config);
    let args = [
        "--config",
        &file.display().to_string(),
        "--grpc-addr",
        &format!("unix:{}", dir.join("grpc.sock").display()),
        "--vpp-api-addr",
        "",
        "--metrics-addr",
        &busy,
    ]
    .map(String::from);
    let mut d = Daemon::start(&bin("maglevd"), &args);
    let code = d.wait_exit(WAIT);
    assert_eq!(code, Some(1), "maglevd must exit 1 when it cannot listen for metrics:\n{}", d.tail(20));
    let line = d.wait_for(&["startup-failed"], WAIT);
    assert!(line.text.contains(&busy), "the error names the address: {}", line.text);
}
