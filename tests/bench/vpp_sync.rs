//! VPP sync at scale: 1,000 VIPs with 8 ASes each, maglevd's checker and
//! VPP thread in process against the suite's VPP (vppsim, or real VPP when
//! `VPP_PREFIX` names an install). Reports, next to the targets:
//!
//! - a full sync into an empty VPP (from starting the VPP thread, connect
//!   included, to the last write accepted);
//! - a no-op full sync (`sync vpp lb state` with nothing to change);
//! - transition to write: from an operator pause or resume of one backend
//!   to VPP accepting that AS's weight change;
//! - for reference, one API round trip (VPP's own answer time).
//!
//! Run with `make bench` (`VPP_PREFIX=... make bench` for real VPP).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use maglevd::checker::{Checker, Command, NoObserver};
use maglevd::config::{self, LoadOptions};
use maglevd::health::BackendState;
use maglevd::vpp::{Vpp as VppThread, VppObserver, VppOptions};
use testsupport::vpp::Vpp;

const VIPS: usize = 1000;
const ASES: usize = 8;
const TRANSITIONS: usize = 200;
const NOOP_SYNCS: usize = 20;
const WAIT: Duration = Duration::from_secs(60);

fn config_yaml() -> String {
    let mut y = String::from(
        "maglev:\n  vpp:\n    lb:\n      ipv4-src-address: 192.0.2.254\n      sync-interval: 1h\n      \
         startup-min-delay: 0s\n      startup-max-delay: 0s\n  backends:\n",
    );
    for v in 0..VIPS {
        for a in 0..ASES {
            let _ = writeln!(y, "    b{v}-{a}: {{address: 10.{}.{}.{}}}", v / 250, v % 250, a + 1);
        }
    }
    y.push_str("  frontends:\n");
    for v in 0..VIPS {
        let _ = writeln!(
            y,
            "    fe{v}:\n      address: 198.18.{}.{}\n      protocol: tcp\n      port: 80\n      pools:\n        \
             - name: main\n          backends:",
            v / 250,
            v % 250
        );
        for a in 0..ASES {
            let _ = writeln!(y, "            b{v}-{a}: {{}}");
        }
    }
    y
}

/// Every write VPP accepted: when, and its kind.
struct Writes(Sender<(Instant, &'static str)>);

impl VppObserver for Writes {
    fn on_lbsync(&self, _scope: &str, kind: &str, _n: u64) {
        let kind = match kind {
            "vip_added" => "vip_added",
            "as_added" => "as_added",
            "as_weight_updated" => "as_weight_updated",
            _ => "other",
        };
        let _ = self.0.send((Instant::now(), kind));
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn next_write(rx: &Receiver<(Instant, &'static str)>, kind: &str) -> Instant {
    loop {
        match rx.recv_timeout(WAIT) {
            Ok((at, k)) if k == kind => return at,
            Ok(_) => {}
            Err(_) => panic!("no {kind} write within {WAIT:?}"),
        }
    }
}

fn main() {
    let vpp = Vpp::start();
    let which = if vpp.is_real() { "real VPP" } else { "vppsim" };
    let cfg = config::parse(&config_yaml(), "bench.yaml", LoadOptions { vpp_enabled: true }).expect("config");
    let checker = Checker::start(cfg, Arc::new(NoObserver)).expect("checker");
    let handle = checker.handle();
    let deadline = Instant::now() + WAIT;
    while !handle.snapshot().backends.values().all(|b| b.state == BackendState::Up) {
        assert!(Instant::now() < deadline, "static backends never came up");
        std::thread::sleep(Duration::from_millis(10));
    }

    let (tx, rx) = crossbeam_channel::unbounded();
    let mut opts = VppOptions::new(&vpp.api_socket, &vpp.stats_socket);
    opts.retry = Duration::from_millis(100);
    let started = Instant::now();
    let thread = VppThread::start(opts, handle.clone(), Arc::new(Writes(tx)), Box::new(|_| {})).expect("vpp");
    let (mut vips, mut ases, mut last) = (0, 0, started);
    while vips < VIPS || ases < VIPS * ASES {
        match rx.recv_timeout(WAIT) {
            Ok((at, "vip_added")) => (vips, last) = (vips + 1, at),
            Ok((at, "as_added")) => (ases, last) = (ases + 1, at),
            Ok(_) => {}
            Err(_) => panic!("the full sync wrote {vips} VIPs and {ases} ASes, then nothing for {WAIT:?}"),
        }
    }
    let full = last.duration_since(started);
    let vppt = thread.handle();

    let mut noop = Vec::new();
    for _ in 0..NOOP_SYNCS {
        let t = Instant::now();
        let s = vppt.sync(None).expect("no-op sync");
        noop.push(t.elapsed());
        assert_eq!(s.writes(), 0, "a no-op sync wrote: {s:?}");
    }
    noop.sort();

    let (mut transitions, mut applied) = (Vec::new(), Vec::new());
    for i in 0..TRANSITIONS {
        let backend = format!("b{}-{}", (i * 37) % VIPS, i % ASES);
        for cmd in [Command::Pause { backend: backend.clone() }, Command::Resume { backend: backend.clone() }]
        {
            while rx.try_recv().is_ok() {}
            let t = Instant::now();
            handle.command(cmd).expect("operator action");
            applied.push(t.elapsed());
            transitions.push(next_write(&rx, "as_weight_updated").duration_since(t));
        }
    }
    transitions.sort();
    applied.sort();

    // VPP's own answer time, which bounds the above from below.
    let mut api = vpp.connect();
    let mut pings = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        api.control_ping().expect("control_ping");
        pings.push(t.elapsed());
    }
    let _ = api.close();
    pings.sort();

    println!("vpp sync, {VIPS} VIPs x {ASES} ASes, against {which}:");
    println!("  {:<40} {:>12}   target <= 500 ms", "full sync into an empty VPP", ms(full));
    let row = |what: &str, samples: &[Duration], note: &str| {
        println!(
            "  {what:<40} {:>12}   p99 {:>10}   {note}",
            ms(percentile(samples, 0.5)),
            ms(percentile(samples, 0.99))
        );
    };
    row("no-op full sync, p50", &noop, "target <= 30 ms");
    row(
        "transition to write, p50",
        &transitions,
        &format!("target <= 5 ms ({} transitions)", transitions.len()),
    );
    row("  of which the action applied, p50", &applied, "(the checker's part of the above)");
    row("one API round trip (control_ping), p50", &pings, "(VPP's own answer time, for reference)");
    thread.stop();
    checker.stop();
}
