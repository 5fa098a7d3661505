//! The checker's publishing and probe scheduling against real sockets:
//! events never run ahead of the snapshot, results are not lost, and a
//! backend never has two probe chains at once.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{Checker, CheckerObserver, Command, Event};
use crate::config::{self, LoadOptions, ProbeType};
use crate::probe::ProbeOutcome;

const WAIT: Duration = Duration::from_secs(10);
const INTERVAL: Duration = Duration::from_millis(40);

/// `n` backends probing `port` on loopback every 40 ms, rise 1, fall 1.
fn config(n: usize, port: u16) -> config::Config {
    let mut y = format!(
        "maglev:\n  healthchecker:\n    workers: 4\n  healthchecks:\n    quick:\n      type: tcp\n\
         \x20     port: {port}\n      interval: 40ms\n      fast-interval: 40ms\n      down-interval: 40ms\n\
         \x20     timeout: 500ms\n      rise: 1\n      fall: 1\n      jitter-percent: 0\n  backends:\n"
    );
    for i in 0..n {
        let _ = writeln!(y, "    be{i:02}: {{address: 127.0.0.1, healthcheck: quick}}");
    }
    config::parse(&y, "test.yaml", LoadOptions::default()).expect("valid test config")
}

/// Records every outcome the checker applies.
#[derive(Default)]
struct Recorder {
    outcomes: Mutex<Vec<(String, u64, Instant)>>,
}

impl CheckerObserver for Recorder {
    fn on_probe(&self, outcome: &ProbeOutcome, _: ProbeType) {
        self.outcomes.lock().push((outcome.backend().to_string(), outcome.generation, outcome.started));
    }
}

/// A listener that accepts and counts connections on its own thread.
fn counting_listener() -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            if conn.is_ok() {
                c.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (port, count)
}

#[test]
fn every_event_is_in_the_snapshot_read_after_it() {
    // Backends go down and up as the listener comes and goes.
    let mut listener = Some(TcpListener::bind("127.0.0.1:0").expect("bind"));
    let port = listener.as_ref().map(|l| l.local_addr().expect("addr").port()).unwrap_or(0);
    let checker = Checker::start(config(20, port), Arc::new(super::NoObserver)).expect("start checker");
    let h = checker.handle();
    let sub = h.subscribe(10_000).expect("subscribe");
    let mut transitions = 0;
    let deadline = Instant::now() + WAIT;
    let mut flipped = Instant::now();
    while transitions < 80 {
        assert!(Instant::now() < deadline, "only {transitions} transitions within {WAIT:?}");
        // The backends go down and up every 150 ms.
        if flipped.elapsed() >= Duration::from_millis(150) {
            listener = match listener.take() {
                Some(_) => None,
                None => TcpListener::bind(("127.0.0.1", port)).ok(),
            };
            flipped = Instant::now();
        }
        let Ok(ev) = sub.rx.recv_timeout(Duration::from_millis(20)) else { continue };
        let snap = h.snapshot();
        let Event::Backend(ev) = ev else { continue };
        let b = snap.backends.get(&ev.backend).expect("an event's backend is in the snapshot");
        if ev.from != ev.to {
            transitions += 1;
            assert!(
                b.history.iter().any(|t| t.at == ev.at && t.to == ev.to),
                "snapshot {} lacks the transition {} {:?} -> {:?} it announced",
                snap.seq,
                ev.backend,
                ev.from,
                ev.to
            );
        }
    }
    checker.stop();
}

#[test]
fn results_are_not_lost_and_no_backend_has_two_probes_in_flight() {
    let (port, accepted) = counting_listener();
    let recorder = Arc::new(Recorder::default());
    let checker = Checker::start(config(10, port), recorder.clone()).expect("start checker");
    let h = checker.handle();
    // Pause and resume some backends while they are probed: a resumed
    // backend starts a new chain at once, and the old one must be gone.
    let end = Instant::now() + Duration::from_millis(1200);
    let mut round = 0;
    while Instant::now() < end {
        let name = format!("be{:02}", round % 5);
        h.command(Command::Pause { backend: name.clone() }).expect("pause");
        std::thread::sleep(Duration::from_millis(15));
        h.command(Command::Resume { backend: name }).expect("resume");
        std::thread::sleep(Duration::from_millis(25));
        round += 1;
    }
    checker.stop();

    let outcomes = recorder.outcomes.lock().clone();
    // Consecutive probes of one chain start at least an interval apart
    // (the next is scheduled from the previous one's completion); two
    // chains of one backend would interleave closer than that.
    let mut last: HashMap<(String, u64), Instant> = HashMap::new();
    for (backend, generation, started) in &outcomes {
        if let Some(prev) = last.insert((backend.clone(), *generation), *started) {
            let gap = started.saturating_duration_since(prev);
            assert!(gap >= INTERVAL, "{backend} (generation {generation}) probed again after {gap:?}");
        }
    }
    let mut per_backend: HashMap<&str, Vec<u64>> = HashMap::new();
    for (backend, generation, _) in &outcomes {
        per_backend.entry(backend).or_default().push(*generation);
    }
    for (backend, gens) in &per_backend {
        assert!(
            gens.windows(2).all(|w| w[0] <= w[1]),
            "{backend}: an older chain's result after a newer one"
        );
    }
    // Every connection is a probe. Probes of a paused chain or in flight
    // at shutdown are not applied by design; anything beyond that would
    // be a lost result.
    let deadline = Instant::now() + WAIT;
    while accepted.load(Ordering::SeqCst) < outcomes.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let connections = accepted.load(Ordering::SeqCst);
    // One per pause; per worker, one in flight and one queued at shutdown.
    let allowed_unapplied = round + 8;
    assert!(outcomes.len() > 100, "only {} probes ran", outcomes.len());
    assert!(
        connections >= outcomes.len() && connections <= outcomes.len() + allowed_unapplied,
        "{connections} connections but {} results applied (at most {allowed_unapplied} may be dropped)",
        outcomes.len()
    );
}
