//! The exposition as a scraper sees it: family names, types, label sets
//! and values, from a real checker with static backends.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::checker::{BackendEvent, Checker, CheckerObserver};
use crate::config::{self, LoadOptions, ProbeType};
use crate::health::BackendState;
use crate::probe::{ProbeOutcome, ProbeResult, ProbeTarget, ResultCode};
use crate::vpp::{VipCounters, VppInfo, VppStatus};
use vppapi::lb::VipKey;

const CONFIG: &str = "\
maglev:
  healthchecker:
    workers: 1
  healthchecks:
    # Never due within a test: d only needs a health counter.
    closed:
      type: tcp
      port: 1
      interval: 1h
  backends:
    a: {address: 192.0.2.11}
    b: {address: 192.0.2.12}
    c: {address: 192.0.2.13, enabled: false}
    d: {address: 127.0.0.1, healthcheck: closed}
  frontends:
    web:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends:
            a: {weight: 50}
        - name: fallback
          backends:
            b: {}
            c: {}
";

/// One sample line: name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the text format (enough of it for our own output: label values
/// without escaped quotes or commas).
fn parse(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line");
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => {
                let l = l.strip_suffix('}').expect("closing brace");
                let labels = l
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once('=').expect("label pair");
                        (k.to_string(), v.trim_matches('"').to_string())
                    })
                    .collect();
                (n.to_string(), labels)
            }
            None => (series.to_string(), BTreeMap::new()),
        };
        let value = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        samples.push(Sample { name, labels, value });
    }
    (types, samples)
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    samples.iter().find(|s| {
        s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
    })
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    find(samples, name, labels).unwrap_or_else(|| panic!("no sample {name}{labels:?}")).value
}

fn label_names(samples: &[Sample], name: &str) -> HashSet<Vec<String>> {
    samples.iter().filter(|s| s.name == name).map(|s| s.labels.keys().cloned().collect()).collect()
}

fn outcome(backend: &str, code: ResultCode, took: Duration, late: Duration) -> ProbeOutcome {
    let due = Instant::now();
    let check = crate::probe::tests::check(crate::config::ProbeSpec::Tcp { port: 80 });
    let target = ProbeTarget::new(backend, [127, 0, 0, 1].into(), Arc::new(check));
    ProbeOutcome {
        target: Arc::new(target),
        generation: 0,
        due,
        started: due + late,
        result: ProbeResult::new(code, "test", took),
    }
}

struct Running {
    metrics: Arc<Metrics>,
    _checker: Checker,
}

fn running() -> Running {
    let config = config::parse(CONFIG, "test.yaml", LoadOptions::default()).expect("valid test config");
    let metrics = Arc::new(Metrics::new());
    let checker = Checker::start(config, metrics.clone()).expect("start checker");
    metrics.attach_checker(checker.handle());
    Running { metrics, _checker: checker }
}

fn scrape(m: &Metrics) -> (BTreeMap<String, String>, Vec<Sample>) {
    let text = m.encode().expect("encode");
    let (types, samples) = parse(&text);
    let mut seen = HashSet::new();
    for s in &samples {
        assert!(seen.insert((s.name.clone(), s.labels.clone())), "duplicate series {s:?}");
    }
    (types, samples)
}

#[test]
fn every_family_of_the_spec_is_exported_with_its_type() {
    let r = running();
    let m = &r.metrics;
    m.on_probe(&outcome("a", ResultCode::L7Ok, Duration::from_millis(3), Duration::ZERO), ProbeType::Http);
    m.vpp_api_message("show_version", "send", "ok");
    m.register_grpc_methods(&[GrpcMethod::new("maglev.Maglev", "ListBackends", GrpcType::Unary)]);
    m.set_vpp_source(Arc::new(FakeVpp(Some(connected_sample()))));
    let (types, _) = scrape(m);
    let want = [
        ("maglev_backend_state", "gauge"),
        ("maglev_backend_health", "gauge"),
        ("maglev_backend_enabled", "gauge"),
        ("maglev_frontend_state", "gauge"),
        ("maglev_frontend_pool_backend_weight", "gauge"),
        ("maglev_frontend_pool_backend_effective_weight", "gauge"),
        ("maglev_probe_total", "counter"),
        ("maglev_probe_duration_seconds", "histogram"),
        ("maglev_probe_schedule_lateness_seconds", "histogram"),
        ("maglev_backend_transitions_total", "counter"),
        ("maglev_vpp_connected", "gauge"),
        ("maglev_vpp_stats_connected", "gauge"),
        ("maglev_vpp_uptime_seconds", "gauge"),
        ("maglev_vpp_connected_seconds", "gauge"),
        ("maglev_vpp_info", "gauge"),
        ("maglev_vpp_api_total", "counter"),
        ("maglev_vpp_lbsync_total", "counter"),
        ("maglev_vip_packets_total", "counter"),
        ("maglev_vip_route_packets_total", "counter"),
        ("maglev_vip_route_bytes_total", "counter"),
        ("maglev_build_info", "gauge"),
        ("process_cpu_seconds_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_virtual_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_max_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
        ("grpc_server_started_total", "counter"),
        ("grpc_server_handled_total", "counter"),
        ("grpc_server_handling_seconds", "histogram"),
        ("grpc_server_msg_received_total", "counter"),
        ("grpc_server_msg_sent_total", "counter"),
    ];
    for (name, kind) in want {
        assert_eq!(types.get(name).map(String::as_str), Some(kind), "family {name}");
    }
}

#[test]
fn backend_and_frontend_state_and_weights_follow_the_snapshot() {
    let r = running();
    let (_, s) = scrape(&r.metrics);
    for (backend, state) in [("a", "up"), ("b", "up"), ("c", "disabled")] {
        for st in BackendState::ALL {
            let want = if st.as_str() == state { 1.0 } else { 0.0 };
            let got = value(&s, "maglev_backend_state", &[("backend", backend), ("state", st.as_str())]);
            assert_eq!(got, want, "backend {backend} state {st}");
        }
    }
    assert_eq!(value(&s, "maglev_backend_enabled", &[("backend", "a")]), 1.0);
    assert_eq!(value(&s, "maglev_backend_enabled", &[("backend", "c")]), 0.0);
    // Static backends have no health counter; d is unknown at rise-1.
    assert!(
        find(&s, "maglev_backend_health", &[("backend", "a")]).is_none(),
        "static backends have no counter"
    );
    assert_eq!(value(&s, "maglev_backend_health", &[("backend", "d")]), 1.0);
    assert_eq!(value(&s, "maglev_backend_state", &[("backend", "d"), ("state", "unknown")]), 1.0);
    assert_eq!(value(&s, "maglev_frontend_state", &[("frontend", "web"), ("state", "up")]), 1.0);
    assert_eq!(value(&s, "maglev_frontend_state", &[("frontend", "web"), ("state", "down")]), 0.0);
    assert_eq!(value(&s, "maglev_frontend_state", &[("frontend", "web"), ("state", "unknown")]), 0.0);
    let w = |name: &str, pool: &str, backend: &str| {
        value(&s, name, &[("frontend", "web"), ("pool", pool), ("backend", backend)])
    };
    let (cfg, eff) = ("maglev_frontend_pool_backend_weight", "maglev_frontend_pool_backend_effective_weight");
    assert_eq!((w(cfg, "primary", "a"), w(eff, "primary", "a")), (50.0, 50.0));
    // b is up but in the standby pool; c is disabled.
    assert_eq!((w(cfg, "fallback", "b"), w(eff, "fallback", "b")), (100.0, 0.0));
    assert_eq!((w(cfg, "fallback", "c"), w(eff, "fallback", "c")), (100.0, 0.0));
    assert_eq!(label_names(&s, "maglev_frontend_pool_backend_weight").len(), 1);
    // The checker reported the static backends' unknown -> up.
    for b in ["a", "b"] {
        let labels = [("backend", b), ("from", "unknown"), ("to", "up")];
        assert_eq!(value(&s, "maglev_backend_transitions_total", &labels), 1.0, "{b}");
    }
}

#[test]
fn health_families_are_absent_until_a_checker_is_attached() {
    let m = Metrics::new();
    let (types, s) = scrape(&m);
    assert!(!types.contains_key("maglev_backend_state"));
    assert_eq!(value(&s, "maglev_vpp_connected", &[]), 0.0);
    assert_eq!(value(&s, "maglev_build_info", &[("version", crate::version::VERSION)]), 1.0);
}

#[test]
fn probes_and_transitions_are_counted_by_their_labels() {
    let m = Metrics::new();
    m.on_probe(
        &outcome("a", ResultCode::L7Ok, Duration::from_millis(3), Duration::from_millis(2)),
        ProbeType::Http,
    );
    m.on_probe(&outcome("a", ResultCode::L7Ok, Duration::from_millis(7), Duration::ZERO), ProbeType::Http);
    m.on_probe(
        &outcome("a", ResultCode::L4Con, Duration::from_millis(1), Duration::from_secs(3)),
        ProbeType::Http,
    );
    m.on_transition(&BackendEvent {
        backend: "a".into(),
        address: "192.0.2.11".parse().expect("ip"),
        from: BackendState::Up,
        to: BackendState::Down,
        code: "L4CON".into(),
        detail: "connection refused".into(),
        at: SystemTime::now(),
    });
    let (_, s) = scrape(&m);
    let probe = |result: &str, code: &str| {
        value(
            &s,
            "maglev_probe_total",
            &[("backend", "a"), ("type", "http"), ("result", result), ("code", code)],
        )
    };
    assert_eq!(probe("pass", "L7OK"), 2.0);
    assert_eq!(probe("fail", "L4CON"), 1.0);
    assert_eq!(label_names(&s, "maglev_probe_total").len(), 1);
    let dur = [("backend", "a"), ("type", "http")];
    assert_eq!(value(&s, "maglev_probe_duration_seconds_count", &dur), 3.0);
    assert!((value(&s, "maglev_probe_duration_seconds_sum", &dur) - 0.011).abs() < 1e-9);
    let le = |le: &str| value(&s, "maglev_probe_duration_seconds_bucket", &[("backend", "a"), ("le", le)]);
    assert_eq!((le("0.001"), le("0.005"), le("0.01"), le("+Inf")), (1.0, 2.0, 3.0, 3.0));
    assert_eq!(value(&s, "maglev_probe_schedule_lateness_seconds_count", &[]), 3.0);
    assert_eq!(value(&s, "maglev_probe_schedule_lateness_seconds_bucket", &[("le", "0.001")]), 1.0);
    assert_eq!(value(&s, "maglev_probe_schedule_lateness_seconds_bucket", &[("le", "2.5")]), 2.0);
    let lateness_buckets: Vec<f64> = s
        .iter()
        .filter(|x| x.name == "maglev_probe_schedule_lateness_seconds_bucket")
        .filter_map(|x| x.labels.get("le")?.parse().ok())
        .collect();
    assert_eq!(lateness_buckets.first(), Some(&0.001));
    assert!(lateness_buckets.iter().any(|&b| b >= 10.0), "{lateness_buckets:?}");
    let t = [("backend", "a"), ("from", "up"), ("to", "down")];
    assert_eq!(value(&s, "maglev_backend_transitions_total", &t), 1.0);
}

struct FakeVpp(Option<VppStatus>);

impl VppStatusSource for FakeVpp {
    fn vpp_status(&self) -> Option<VppStatus> {
        self.0.clone()
    }
}

fn vip(frontend: &str, next: u64, first: u64, untracked: u64, fib: (u64, u64)) -> VipCounters {
    VipCounters {
        frontend: frontend.into(),
        key: VipKey::host([192, 0, 2, 1].into(), 6, 80),
        first,
        next,
        untracked,
        no_server: 0,
        fib_packets: fib.0,
        fib_bytes: fib.1,
    }
}

fn connected_sample() -> VppStatus {
    let now = SystemTime::now();
    VppStatus {
        connected: true,
        stats_connected: true,
        info: Some(VppInfo {
            version: "26.10-rc0~123".into(),
            build_date: "2026-10-01T00:00:00".into(),
            build_directory: String::new(),
            pid: 4242,
            boot_time: Some(now - Duration::from_secs(3600)),
            connect_time: now - Duration::from_secs(60),
        }),
        counters: Arc::new(vec![
            vip("web", 10, 2, 1, (13, 1300)),
            // A duplicate must not produce a second series.
            vip("web", 0, 0, 0, (0, 0)),
        ]),
        ..VppStatus::default()
    }
}

#[test]
fn vpp_families_come_from_the_source_and_the_pushed_counts() {
    let m = Metrics::new();
    let (types, s) = scrape(&m);
    assert_eq!(value(&s, "maglev_vpp_connected", &[]), 0.0);
    assert!(!types.contains_key("maglev_vpp_info"));
    for scope in LBSYNC_SCOPES {
        for kind in LBSYNC_KINDS {
            assert_eq!(value(&s, "maglev_vpp_lbsync_total", &[("scope", scope), ("kind", kind)]), 0.0);
        }
    }

    m.set_vpp_source(Arc::new(FakeVpp(Some(VppStatus::default()))));
    let (types, s) = scrape(&m);
    assert_eq!(value(&s, "maglev_vpp_connected", &[]), 0.0, "a disconnected sample");
    assert!(!types.contains_key("maglev_vpp_uptime_seconds"));

    m.set_vpp_source(Arc::new(FakeVpp(Some(connected_sample()))));
    m.vpp_api_message("lb_add_del_as_v2", "send", "ok");
    m.vpp_api_message("lb_add_del_as_v2", "recv", "ok");
    m.vpp_api_message("lb_add_del_as_v2", "recv", "ok");
    m.vpp_lbsync("vip", "as_added", 3);
    m.vpp_lbsync("all", "vip_removed", 0);
    let (_, s) = scrape(&m);
    assert_eq!(value(&s, "maglev_vpp_connected", &[]), 1.0);
    assert_eq!(value(&s, "maglev_vpp_stats_connected", &[]), 1.0);
    let uptime = value(&s, "maglev_vpp_uptime_seconds", &[]);
    assert!((3599.0..3700.0).contains(&uptime), "uptime {uptime}");
    let connected = value(&s, "maglev_vpp_connected_seconds", &[]);
    assert!((59.0..160.0).contains(&connected), "connected {connected}");
    let info = [("version", "26.10-rc0~123"), ("build_date", "2026-10-01T00:00:00"), ("pid", "4242")];
    assert_eq!(value(&s, "maglev_vpp_info", &info), 1.0);
    let api = |dir: &str| {
        value(
            &s,
            "maglev_vpp_api_total",
            &[("msg", "lb_add_del_as_v2"), ("direction", dir), ("result", "ok")],
        )
    };
    assert_eq!((api("send"), api("recv")), (1.0, 2.0));
    assert_eq!(value(&s, "maglev_vpp_lbsync_total", &[("scope", "vip"), ("kind", "as_added")]), 3.0);
    assert_eq!(value(&s, "maglev_vpp_lbsync_total", &[("scope", "all"), ("kind", "vip_removed")]), 0.0);
    let kind = |k: &str| value(&s, "maglev_vip_packets_total", &[("frontend", "web"), ("kind", k)]);
    assert_eq!((kind("next"), kind("first"), kind("untracked"), kind("no_server")), (10.0, 2.0, 1.0, 0.0));
    assert_eq!(value(&s, "maglev_vip_route_packets_total", &[("frontend", "web")]), 13.0);
    assert_eq!(value(&s, "maglev_vip_route_bytes_total", &[("frontend", "web")]), 1300.0);
}

#[test]
fn grpc_methods_exist_at_zero_and_calls_are_recorded() {
    let m = Metrics::new();
    m.register_grpc_methods(&[
        GrpcMethod::new("maglev.Maglev", "GetBackend", GrpcType::Unary),
        GrpcMethod::new("maglev.Maglev", "WatchEvents", GrpcType::ServerStream),
    ]);
    let (_, s) = scrape(&m);
    let method = |name: &'static str, t: &'static str| {
        [("grpc_service", "maglev.Maglev"), ("grpc_method", name), ("grpc_type", t)]
    };
    let get = method("GetBackend", "unary");
    let watch = method("WatchEvents", "server_stream");
    for labels in [get, watch] {
        for family in
            ["grpc_server_started_total", "grpc_server_msg_received_total", "grpc_server_msg_sent_total"]
        {
            assert_eq!(value(&s, family, &labels), 0.0, "{family} {labels:?}");
        }
        assert_eq!(value(&s, "grpc_server_handling_seconds_count", &labels), 0.0);
        let mut ok = labels.to_vec();
        ok.push(("grpc_code", "OK"));
        assert_eq!(value(&s, "grpc_server_handled_total", &ok), 0.0);
    }

    let call = m.grpc_start("maglev.Maglev", "GetBackend", GrpcType::Unary);
    call.msg_received();
    call.finish(GrpcCode::from_i32(5));
    let stream = m.grpc_start("maglev.Maglev", "WatchEvents", GrpcType::ServerStream);
    stream.msg_received();
    for _ in 0..3 {
        stream.msg_sent();
    }
    drop(stream); // never finished: recorded as Unknown
    let (_, s) = scrape(&m);
    assert_eq!(value(&s, "grpc_server_started_total", &get), 1.0);
    assert_eq!(value(&s, "grpc_server_msg_received_total", &get), 1.0);
    assert_eq!(value(&s, "grpc_server_msg_sent_total", &get), 0.0);
    let mut nf = get.to_vec();
    nf.push(("grpc_code", "NotFound"));
    assert_eq!(value(&s, "grpc_server_handled_total", &nf), 1.0);
    assert_eq!(value(&s, "grpc_server_handling_seconds_count", &get), 1.0);
    assert_eq!(value(&s, "grpc_server_msg_sent_total", &watch), 3.0);
    let mut unknown = watch.to_vec();
    unknown.push(("grpc_code", "Unknown"));
    assert_eq!(value(&s, "grpc_server_handled_total", &unknown), 1.0);
}

#[test]
fn grpc_codes_map_like_grpc() {
    assert_eq!(GrpcCode::from_i32(0).as_str(), "OK");
    assert_eq!(GrpcCode::from_i32(9).as_str(), "FailedPrecondition");
    assert_eq!(GrpcCode::from_i32(16).as_str(), "Unauthenticated");
    assert_eq!(GrpcCode::from_i32(2).as_str(), "Unknown");
    assert_eq!(GrpcCode::from_i32(-1).as_str(), "Unknown");
    assert_eq!(GrpcCode::from_i32(99).as_str(), "Unknown");
}

#[test]
fn label_values_with_quotes_and_newlines_are_escaped() {
    let m = Metrics::new();
    m.vpp_api_message("weird\"msg\nname\\", "send", "ok");
    let text = m.encode().expect("encode");
    assert!(text.contains(r#"msg="weird\"msg\nname\\""#), "{text}");
}

#[test]
fn grpc_methods_from_full_paths() {
    let m =
        GrpcMethod::from_path("/grpc.health.v1.Health/Watch", GrpcType::ServerStream).expect("valid path");
    assert_eq!(m, GrpcMethod::new("grpc.health.v1.Health", "Watch", GrpcType::ServerStream));
    for bad in
        ["", "/", "maglev.Maglev/GetBackend", "/maglev.Maglev", "/maglev.Maglev/", "//GetBackend", "/a/b/c"]
    {
        assert_eq!(GrpcMethod::from_path(bad, GrpcType::Unary), None, "{bad:?}");
    }
}

/// Records the size of every write.
struct Pieces {
    bytes: Vec<u8>,
    largest: usize,
}

impl std::io::Write for Pieces {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.largest = self.largest.max(buf.len());
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_streamed_scrape_is_the_whole_exposition_in_bounded_pieces() {
    let r = running();
    // About 3,000 backends' probe series: megabytes of text.
    for i in 0..3000 {
        let o = outcome(&format!("backend-{i}"), ResultCode::L7Ok, Duration::from_millis(3), Duration::ZERO);
        r.metrics.on_probe(&o, ProbeType::Http);
    }
    let whole = r.metrics.encode().expect("encode");
    assert!(whole.len() > 1_000_000, "only {} bytes: the test needs a large exposition", whole.len());
    // The registry's part (process figures among it) changes from one
    // scrape to the next: compare what comes before it, then its place.
    let mut sink = Pieces { bytes: Vec::new(), largest: 0 };
    r.metrics.write_to("", &mut sink).expect("stream");
    let streamed = String::from_utf8(sink.bytes).expect("UTF-8");
    assert!(streamed.len() > 1_000_000 && whole.starts_with(&streamed), "the streamed scrape differs");
    let bound = super::text::CHUNK + 1024;
    assert!(sink.largest <= bound, "a piece of {} bytes (bound {bound})", sink.largest);
    let mut sink = Pieces { bytes: Vec::new(), largest: 0 };
    r.metrics.write_to("# the registry's families\n", &mut sink).expect("stream");
    assert!(sink.bytes.ends_with(b"\n# the registry's families\n"), "the registry's part comes last");
}
