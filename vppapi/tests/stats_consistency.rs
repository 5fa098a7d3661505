//! A writer thread changes the segment structurally in a tight loop (grows
//! vectors so they move, removes and re-adds entries so names move between
//! directory slots) while readers keep reading. Every batch read must be
//! internally consistent.
//!
//! The writer keeps these invariants inside each transaction (under the
//! lock protocol, so a reader sees either all or none of a step `k`):
//! * `/test/step` (scalar) = k
//! * `a[t][i]` = k * (t + 1) + i for every thread t and index i < len(k)
//! * `b[t][i]` = (k, k * i)
//! * the vectors of `a` and `b` have len(k) = 1 + k % 50 elements
//! * entry `c` exists iff k is even and then `c[t][0]` = k
//!
//! Mixing two steps in one snapshot breaks at least one equation.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vppapi::stats::{
    Combined, Query, Segment, SegmentWriter, StatsClient, StatsError, StatsServer, Value, WriterConfig,
};

const THREADS: usize = 3;
/// Under Miri (which checks the atomics for data races) far fewer rounds.
const MIN_STEPS: u64 = if cfg!(miri) { 3 } else { 30 };
const MIN_READS: u64 = if cfg!(miri) { 5 } else { 500 };

fn len_of(k: u64) -> usize {
    1 + (k % 50) as usize
}

/// One writer step: everything inside one transaction.
fn step(w: &mut SegmentWriter, k: u64) {
    w.transaction(|w| {
        let step = w.find("/test/step").unwrap();
        w.set_scalar(step, k).unwrap();
        let n = len_of(k);
        for name in ["a", "b"] {
            let id = w.find(name).unwrap();
            if w.counter_len(id).unwrap() != n {
                // Vectors never shrink in VPP: re-create the entry to shrink,
                // which also frees its slot and moves its memory.
                if w.counter_len(id).unwrap() > n {
                    w.remove_entry(id).unwrap();
                    if name == "a" {
                        w.add_simple_counter("a", n).unwrap();
                    } else {
                        w.add_combined_counter("b", n).unwrap();
                    }
                } else {
                    w.validate_counter(id, n - 1).unwrap();
                }
            }
        }
        let a = w.find("a").unwrap();
        let b = w.find("b").unwrap();
        for t in 0..THREADS {
            for i in 0..n {
                w.set_simple(a, t, i, k * (t as u64 + 1) + i as u64).unwrap();
                w.set_combined(b, t, i, k, k * i as u64).unwrap();
            }
        }
        match (w.find("c"), k.is_multiple_of(2)) {
            (Some(c), false) => w.remove_entry(c).unwrap(),
            (None, true) => {
                let c = w.add_simple_counter("c", 1).unwrap();
                for t in 0..THREADS {
                    w.set_simple(c, t, 0, k).unwrap();
                }
            }
            _ => {}
        }
    });
}

fn setup(w: &mut SegmentWriter) {
    w.add_scalar("/test/step", 0).unwrap();
    w.add_simple_counter("a", 1).unwrap();
    w.add_combined_counter("b", 1).unwrap();
    step(w, 0);
}

/// Reads one snapshot and checks every invariant; returns the step seen.
fn check<S: Segment>(c: &mut StatsClient<S>) -> Result<u64, StatsError> {
    let probe = [0usize, 1, 17, 49, 50];
    let mut queries = vec![Query::scalar("/test/step"), Query::entry("a"), Query::entry("b")];
    for &i in &probe {
        queries.push(Query::simple("a", i as u32));
        queries.push(Query::combined("b", i as u32));
    }
    queries.push(Query::simple("c", 0));
    let snap = c.read(&queries)?;
    let k = snap.scalar(0).unwrap();
    let n = len_of(k);
    let t_sum: u64 = (1..=THREADS as u64).sum();
    let Some(Ok(Value::Counters(a))) = snap.get(1) else {
        panic!("a: {:?}", snap.get(1));
    };
    let Some(Ok(Value::CombinedCounters(b))) = snap.get(2) else {
        panic!("b: {:?}", snap.get(2));
    };
    assert_eq!(a.len(), n, "step {k}: len(a)");
    assert_eq!(b.len(), n, "step {k}: len(b)");
    for i in 0..n {
        let iu = i as u64;
        assert_eq!(a[i], k * t_sum + iu * THREADS as u64, "step {k}: a[{i}]");
        assert_eq!(
            b[i],
            Combined { packets: k * THREADS as u64, bytes: k * iu * THREADS as u64 },
            "step {k}: b[{i}]"
        );
    }
    for (j, &i) in probe.iter().enumerate() {
        let iu = i as u64;
        let (want_a, want_b) = if i < n {
            (
                k * t_sum + iu * THREADS as u64,
                Combined { packets: k * THREADS as u64, bytes: k * iu * THREADS as u64 },
            )
        } else {
            (0, Combined::default())
        };
        assert_eq!(snap.counter(3 + 2 * j).unwrap(), want_a, "step {k}: a[{i}] sum");
        assert_eq!(snap.combined(4 + 2 * j).unwrap(), want_b, "step {k}: b[{i}] sum");
    }
    let c_result = snap.counter(3 + 2 * probe.len());
    if k.is_multiple_of(2) {
        assert_eq!(c_result.unwrap(), k * THREADS as u64, "step {k}: c");
    } else {
        assert!(
            matches!(c_result, Err(StatsError::NotFound { .. })),
            "step {k}: c must be absent, got {c_result:?}"
        );
    }
    Ok(k)
}

/// Runs the writer until the reader has seen at least `min_steps` distinct
/// steps and `min_reads` consistent snapshots (bounded by a deadline).
/// The race tests take both cores (a writer spinning, a reader retrying);
/// running two at once on a small machine would measure the scheduler.
static ONE_RACE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn race<S: Segment>(mut w: SegmentWriter, mut reader: StatsClient<S>, min_reads: u64) {
    let _one = ONE_RACE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut k = 1;
            while !stop.load(Ordering::Relaxed) {
                step(&mut w, k);
                // Like VPP, mostly in-place value updates between structural
                // changes; without this the lock is held nearly all the time
                // and readers (rightly) time out. The window is measured in
                // time, not iterations, so a slow (debug) reader still gets
                // clean epochs; it is still ~10,000 structural changes a second.
                let quiet_until = Instant::now() + Duration::from_micros(100);
                while Instant::now() < quiet_until {
                    w.heartbeat().unwrap();
                }
                std::thread::yield_now();
                k += 1;
            }
            k
        })
    };
    let deadline = Instant::now() + Duration::from_secs(if cfg!(miri) { 600 } else { 60 });
    let mut reads = 0u64;
    let mut distinct = 0u64;
    let mut last = u64::MAX;
    let mut retries = 0u64;
    while (reads < min_reads || distinct < MIN_STEPS) && Instant::now() < deadline {
        match check(&mut reader) {
            Ok(k) => {
                reads += 1;
                if k != last {
                    assert!(last == u64::MAX || k > last, "step went backwards: {last} -> {k}");
                    distinct += 1;
                    last = k;
                }
            }
            // Allowed under heavy contention; must not be the norm.
            Err(StatsError::Unstable { .. } | StatsError::Busy { .. }) => retries += 1,
            Err(e) => panic!("reader failed: {e}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    let steps = writer.join().unwrap();
    assert!(reads >= min_reads, "only {reads} consistent reads ({retries} timeouts) in 60 s");
    assert!(distinct >= MIN_STEPS, "reader saw only {distinct} distinct steps of {steps}");
}

fn config() -> WriterConfig {
    WriterConfig {
        size: if cfg!(miri) { 64 << 10 } else { 4 << 20 },
        threads: THREADS,
        boottime: 1,
        ..WriterConfig::default()
    }
}

#[test]
#[cfg_attr(miri, ignore = "sockets, memfd and mmap are foreign calls Miri cannot run")]
fn batch_reads_stay_consistent_over_a_real_socket_and_memfd() {
    let mut w = SegmentWriter::memfd(config()).unwrap();
    setup(&mut w);
    let path = std::env::temp_dir().join(format!("vppapi-stats-race-{}.sock", std::process::id()));
    let server = StatsServer::start(&path, w.handle().unwrap()).unwrap();
    let reader = StatsClient::connect(&path).unwrap();
    race(w, reader, MIN_READS);
    server.stop();
}

#[test]
#[cfg_attr(miri, ignore = "the interpreted writer/reader race does not finish in reasonable time")]
fn batch_reads_stay_consistent_in_memory() {
    let mut w = SegmentWriter::in_memory(config()).unwrap();
    setup(&mut w);
    let reader = StatsClient::from_segment(w.memory().unwrap()).unwrap();
    race(w, reader, MIN_READS);
}

#[test]
fn a_segment_stuck_in_progress_times_out_with_busy() {
    let mut w = SegmentWriter::in_memory(config()).unwrap();
    setup(&mut w);
    let mut reader = StatsClient::from_segment(w.memory().unwrap()).unwrap();
    reader.set_timeout(Duration::from_millis(100));
    let (locked_tx, locked_rx) = crossbeam_channel::bounded::<()>(0);
    let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(0);
    let holder = std::thread::spawn(move || {
        w.transaction(|_| {
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        w
    });
    locked_rx.recv().unwrap();
    let start = Instant::now();
    let r = reader.scalar("/test/step");
    assert!(matches!(r, Err(StatsError::Busy { .. })), "{r:?}");
    assert!(start.elapsed() < Duration::from_secs(5), "Busy took {:?}", start.elapsed());
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(reader.scalar("/test/step").unwrap(), 0, "readable again after unlock");
}
