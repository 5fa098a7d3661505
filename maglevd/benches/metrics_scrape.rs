//! Cost of one /metrics scrape at scale: 1,000 backends, 100 frontends
//! (two pools of five backends each), every backend with probe counters
//! and a duration histogram, VPP connected with counters for every VIP,
//! and the gRPC methods registered. Reports the time per scrape in
//! process (gather + encode) and over HTTP, and the size of the output.
//!
//! Run with `make bench` (or `cargo bench -p maglevd --bench metrics_scrape`).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use maglevd::checker::{Checker, CheckerObserver};
use maglevd::config::{self, LoadOptions, ProbeType};
use maglevd::metrics::{self, GrpcMethod, GrpcType, Metrics, VppStatusSource};
use maglevd::probe::{ProbeOutcome, ProbeResult, ProbeTarget, ResultCode};
use maglevd::vpp::{VipCounters, VppInfo, VppStatus};
use vppapi::lb::VipKey;

const BACKENDS: usize = 1000;
const FRONTENDS: usize = 100;
const WARMUP: usize = 5;
const ITERATIONS: usize = 200;

fn backend(i: usize) -> String {
    format!("be{i:04}")
}

/// Backends share one healthcheck whose first probe is due at a random
/// point in the next hour: they all have a health counter, and almost no
/// probe runs during the benchmark (those that do hit a closed loopback port).
fn config_yaml() -> String {
    let mut y = String::from(
        "maglev:\n  healthchecker:\n    workers: 2\n  healthchecks:\n    idle:\n      type: tcp\n      port: 1\n      interval: 1h\n  backends:\n",
    );
    for i in 0..BACKENDS {
        let _ = writeln!(
            y,
            "    {}: {{address: 127.1.{}.{}, healthcheck: idle}}",
            backend(i),
            i / 250,
            i % 250 + 1
        );
    }
    y.push_str("  frontends:\n");
    let per = BACKENDS / FRONTENDS;
    for f in 0..FRONTENDS {
        let _ = writeln!(
            y,
            "    fe{f:03}:\n      address: 192.0.2.1\n      protocol: tcp\n      port: {}\n      pools:",
            1000 + f
        );
        for (pool, range) in [("primary", 0..per / 2), ("fallback", per / 2..per)] {
            let _ = writeln!(y, "        - name: {pool}\n          backends:");
            for k in range {
                let _ = writeln!(y, "            {}: {{weight: {}}}", backend(f * per + k), 10 + k);
            }
        }
    }
    y
}

struct ConnectedVpp;

impl VppStatusSource for ConnectedVpp {
    fn vpp_status(&self) -> Option<VppStatus> {
        let now = SystemTime::now();
        Some(VppStatus {
            connected: true,
            stats_connected: true,
            info: Some(VppInfo {
                version: "26.10".into(),
                build_date: "2026-10-01T00:00:00".into(),
                build_directory: String::new(),
                pid: 1234,
                boot_time: Some(now - Duration::from_secs(86400)),
                connect_time: now - Duration::from_secs(3600),
            }),
            counters: Arc::new(
                (0..FRONTENDS)
                    .map(|f| VipCounters {
                        frontend: format!("fe{f:03}"),
                        key: VipKey::host([192, 0, 2, 1].into(), 6, 80),
                        next: 1_000_000,
                        first: 1000,
                        untracked: 10,
                        no_server: 1,
                        fib_packets: 1_001_011,
                        fib_bytes: 900_000_000,
                    })
                    .collect(),
            ),
            ..VppStatus::default()
        })
    }
}

/// Feeds every backend a few probe results, as the checker would.
fn feed_probes(m: &Metrics, check: &Arc<config::HealthCheck>) {
    let now = Instant::now();
    for i in 0..BACKENDS {
        let target =
            Arc::new(ProbeTarget::new(backend(i), std::net::Ipv4Addr::LOCALHOST.into(), check.clone()));
        for n in 0..5u64 {
            let code = if i % 10 == 0 && n == 0 { ResultCode::L4Con } else { ResultCode::L4Ok };
            let outcome = ProbeOutcome {
                target: target.clone(),
                generation: 0,
                due: now,
                started: now + Duration::from_micros(300 * n),
                result: ProbeResult::new(code, "bench", Duration::from_micros(200 + 700 * n)),
            };
            m.on_probe(&outcome, ProbeType::Tcp);
        }
    }
}

fn http_get(addr: std::net::SocketAddr) -> usize {
    let mut c = std::net::TcpStream::connect(addr).expect("connect to the metrics server");
    c.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").expect("send request");
    let mut body = Vec::new();
    c.read_to_end(&mut body).expect("read response");
    body.len()
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let total: Duration = times.iter().sum();
    let mean = total / times.len() as u32;
    let pct = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)];
    println!(
        "{what:<28} mean {:>8.2} ms   p50 {:>8.2} ms   p99 {:>8.2} ms   min {:>8.2} ms",
        mean.as_secs_f64() * 1e3,
        pct(50).as_secs_f64() * 1e3,
        pct(99).as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3
    );
}

fn main() {
    let config =
        config::parse(&config_yaml(), "bench.yaml", LoadOptions::default()).expect("valid bench config");
    let check = config.healthchecks["idle"].clone();
    let metrics = Arc::new(Metrics::new());
    let checker = Checker::start(config, metrics.clone()).expect("start the checker");
    metrics.attach_checker(checker.handle());
    metrics.set_vpp_source(Arc::new(ConnectedVpp));
    let methods: Vec<GrpcMethod> =
        (0..20).map(|i| GrpcMethod::new("maglev.Maglev", &format!("Method{i}"), GrpcType::Unary)).collect();
    metrics.register_grpc_methods(&methods);
    feed_probes(&metrics, &check);

    let text = metrics.encode().expect("encode");
    let series = text.lines().filter(|l| !l.starts_with('#')).count();
    println!(
        "metrics scrape: {BACKENDS} backends, {FRONTENDS} frontends: {series} series, {} bytes ({:.0} KiB)",
        text.len(),
        text.len() as f64 / 1024.0
    );

    for _ in 0..WARMUP {
        let _ = metrics.encode();
    }
    let times = (0..ITERATIONS)
        .map(|_| {
            let t = Instant::now();
            let out = metrics.encode().expect("encode");
            std::hint::black_box(out);
            t.elapsed()
        })
        .collect();
    report("in process (gather+encode)", times);

    let server = metrics::serve("127.0.0.1:0", metrics.clone()).expect("serve");
    let addr = server.local_addr();
    for _ in 0..WARMUP {
        http_get(addr);
    }
    let times = (0..ITERATIONS)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(http_get(addr));
            t.elapsed()
        })
        .collect();
    report("over HTTP (GET /metrics)", times);
    server.stop();
    checker.stop();
}
