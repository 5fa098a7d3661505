//! Cost of rendering the status page at scale: 1,000 backends in 100
//! frontends (two pools of five each), every backend probed and with a
//! transition, VPP connected with counters for every VIP, 50 recent
//! events. Times what GET /status does (snapshot -> view -> HTML) and
//! /status.json, reports the sizes, and fails when the median page takes
//! more than 20 ms.
//!
//! Run with `make bench` (or `cargo bench -p maglevd --bench status_page`).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use maglevd::checker::{BackendEvent, Checker, Event, NoObserver, Transition};
use maglevd::config::{self, LoadOptions};
use maglevd::health::{BackendState, HealthCounter};
use maglevd::probe::{ProbeResult, ResultCode};
use maglevd::status::{render, view};
use maglevd::vpp::warmup::Phase;
use maglevd::vpp::{SyncRecord, SyncSummary, VipCounters, VppInfo, VppStatus};
use vppapi::lb::VipKey;

const BACKENDS: usize = 1000;
const FRONTENDS: usize = 100;
const WARMUP: usize = 5;
const ITERATIONS: usize = 200;
const TARGET: Duration = Duration::from_millis(20);

fn backend(i: usize) -> String {
    format!("backend-{i:04}")
}

fn config_yaml() -> String {
    let mut y = String::from(
        "maglev:\n  healthchecker:\n    workers: 1\n  healthchecks:\n    idle:\n      type: tcp\n      port: 1\n      interval: 1h\n  backends:\n",
    );
    for i in 0..BACKENDS {
        let _ = writeln!(
            y,
            "    {}: {{address: 10.1.{}.{}, healthcheck: idle}}",
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
            "    site-{f:03}:\n      address: 192.0.{}.{}\n      protocol: tcp\n      port: 443\n      pools:",
            2 + f / 250,
            f % 250 + 1
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

fn report(what: &str, mut times: Vec<Duration>) -> Duration {
    times.sort();
    let pct = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)];
    println!(
        "{what:<30} p50 {:>7.2} ms   p99 {:>7.2} ms   min {:>7.2} ms",
        pct(50).as_secs_f64() * 1e3,
        pct(99).as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3
    );
    pct(50)
}

fn time(mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..WARMUP {
        f();
    }
    (0..ITERATIONS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

fn main() {
    let config =
        config::parse(&config_yaml(), "bench.yaml", LoadOptions::default()).expect("valid bench config");
    let checker = Checker::start(config, Arc::new(NoObserver)).expect("start the checker");
    let now = SystemTime::now();
    // The published snapshot, as it looks once every backend was probed.
    let mut snap = (*checker.handle().snapshot()).clone();
    for (i, b) in snap.backends.values_mut().enumerate() {
        let b = Arc::make_mut(b);
        b.state = if i % 10 == 0 { BackendState::Down } else { BackendState::Up };
        b.counter = Some(HealthCounter::with_value(2, 3, if i % 10 == 0 { 0 } else { 4 }));
        b.last_result = Some(ProbeResult::new(ResultCode::L4Ok, "connected", Duration::from_micros(300)));
        b.last_result_at = Some(now);
        b.history = Arc::new(vec![Transition {
            at: now - Duration::from_secs(3600),
            from: BackendState::Unknown,
            to: b.state,
            code: "L4OK".into(),
            detail: "connected".into(),
        }]);
    }
    let counters: Vec<VipCounters> = snap
        .frontends
        .values()
        .map(|f| VipCounters {
            frontend: f.config.name.clone(),
            key: VipKey { addr: f.config.address, len: 32, protocol: 6, port: 443 },
            first: 1000,
            next: 1_000_000,
            untracked: 10,
            no_server: 1,
            fib_packets: 1_001_011,
            fib_bytes: 900_000_000,
        })
        .collect();
    let vpp = VppStatus {
        connected: true,
        stats_connected: true,
        info: Some(VppInfo {
            version: "26.10".into(),
            build_date: "2026-10-01T00:00:00".into(),
            build_directory: "/build".into(),
            pid: 1234,
            boot_time: Some(now - Duration::from_secs(86_400)),
            connect_time: now - Duration::from_secs(3600),
        }),
        writable: true,
        warmup_done: true,
        warmup: Phase::Done,
        last_sync: Some(SyncRecord {
            at: now,
            full: true,
            frontends: vec![],
            summary: SyncSummary::default(),
            duration: Duration::from_millis(3),
        }),
        previous_counters: Arc::new(counters.clone()),
        previous_counters_at: Some(now - Duration::from_secs(5)),
        counters: Arc::new(counters),
        counters_at: Some(now),
        ..VppStatus::default()
    };
    let events: Vec<Event> = (0..50)
        .map(|i| {
            Event::Backend(BackendEvent {
                backend: backend(i),
                address: "10.1.0.1".parse().expect("address"),
                from: BackendState::Up,
                to: BackendState::Down,
                code: "L4CON".into(),
                detail: "connection refused".into(),
                at: now,
            })
        })
        .collect();
    let started = now - Duration::from_secs(7200);
    let build = || view::build(&snap, Some(&vpp), &events, started, SystemTime::now());

    let page = render(&build());
    let json = serde_json::to_vec(&build()).expect("json");
    println!(
        "status page: {BACKENDS} backends, {FRONTENDS} frontends: HTML {} KiB, JSON {} KiB",
        page.len() / 1024,
        json.len() / 1024
    );
    let p50 = report("GET /status (view + HTML)", time(|| drop(std::hint::black_box(render(&build())))));
    report(
        "GET /status.json (view + JSON)",
        time(|| drop(std::hint::black_box(serde_json::to_vec(&build())))),
    );
    checker.stop();
    if p50 > TARGET {
        eprintln!("status page: the median render took {p50:?}, over the {TARGET:?} target");
        std::process::exit(1);
    }
    println!("status page: median render {p50:.2?}, within the {TARGET:?} target");
}
