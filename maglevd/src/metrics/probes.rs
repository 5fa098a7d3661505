//! What the checker sees: probe results, their durations, how late the
//! timer wheel started them, and backend transitions. Fed on the checker
//! thread through `CheckerObserver`, so every update is a few atomic adds.
//!
//! The per-backend families (`maglev_probe_total`,
//! `maglev_probe_duration_seconds`, `maglev_backend_transitions_total`) are
//! kept here rather than in the `prometheus` crate's vectors: each
//! backend's counters sit in one struct found with one map lookup per
//! probe, and a scrape writes them straight into the output with label sets
//! rendered once per backend. (A registry vector is gathered into protobuf
//! messages on every scrape: tens of thousands of small allocations at
//! 10,000 backends, which the allocator keeps afterwards.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use prometheus::{Histogram, HistogramOpts, Registry};

use crate::checker::{BackendEvent, CheckerObserver};
use crate::config::ProbeType;
use crate::health::BackendState;
use crate::probe::{ProbeOutcome, ResultCode};

use super::text::{labels, write_value, Text};
use super::Metrics;

/// Probe durations: sub-millisecond loopback connects up to slow HTTPS
/// handshakes bounded by the probe timeout (default 1s, rarely above 10s).
const DURATION_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Scheduling lateness: a healthy wheel is within a millisecond or two (the
/// 2 ms bucket is the target at 10,000 backends, see `make bench`); a
/// saturated worker pool shows up as seconds.
const LATENESS_BUCKETS: &[f64] =
    &[0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

const PROBES: (&str, &str) =
    ("maglev_probe_total", "Probes run, by backend, probe type, result (pass|fail) and result code.");
const DURATION: (&str, &str) =
    ("maglev_probe_duration_seconds", "Wall time of a probe, connect to last byte.");

/// The counters of one backend and probe type.
struct Series {
    /// `backend="…",type="…"`, rendered once.
    labels: String,
    /// Probes by result code, in `ResultCode::ALL` order.
    codes: [AtomicU64; ResultCode::ALL.len()],
    /// Probes by duration bucket (not cumulative), in `DURATION_BUCKETS` order.
    buckets: [AtomicU64; DURATION_BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl Series {
    fn new(backend: &str, kind: ProbeType) -> Series {
        Series {
            labels: labels(&[("backend", backend), ("type", kind.as_str())]),
            codes: Default::default(),
            buckets: Default::default(),
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
        }
    }
}

/// By backend name; a backend has one series per probe type it used.
type SeriesMap = HashMap<String, Vec<(ProbeType, Arc<Series>)>>;

pub(super) struct ProbeMetrics {
    series: RwLock<SeriesMap>,
    /// `le` values of the duration buckets, rendered once.
    bucket_bounds: Vec<String>,
    lateness: Histogram,
    transitions: RwLock<HashMap<String, Arc<Transitions>>>,
}

const STATES: usize = BackendState::ALL.len();
const TRANSITIONS: (&str, &str) =
    ("maglev_backend_transitions_total", "Backend state changes, by backend and states.");

/// One backend's transitions, by (from, to).
struct Transitions {
    /// `backend="…"`, rendered once.
    labels: String,
    counts: [[AtomicU64; STATES]; STATES],
}

fn state_index(s: BackendState) -> usize {
    BackendState::ALL.iter().position(|x| *x == s).unwrap_or(0)
}

impl ProbeMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let lateness = Histogram::with_opts(
            HistogramOpts::new(
                "maglev_probe_schedule_lateness_seconds",
                "How long after its due time a probe started (timer wheel and worker pool delay).",
            )
            .buckets(LATENESS_BUCKETS.to_vec()),
        )?;
        registry.register(Box::new(lateness.clone()))?;
        let bucket_bounds = DURATION_BUCKETS
            .iter()
            .map(|b| {
                let mut s = String::new();
                write_value(&mut s, *b);
                s
            })
            .collect();
        Ok(ProbeMetrics {
            series: RwLock::default(),
            bucket_bounds,
            lateness,
            transitions: RwLock::default(),
        })
    }

    fn series(&self, backend: &str, kind: ProbeType) -> Arc<Series> {
        let found = self
            .series
            .read()
            .get(backend)
            .and_then(|v| v.iter().find(|(k, _)| *k == kind).map(|(_, s)| s.clone()));
        if let Some(s) = found {
            return s;
        }
        let mut map = self.series.write();
        let list = map.entry(backend.to_string()).or_default();
        if let Some((_, s)) = list.iter().find(|(k, _)| *k == kind) {
            return s.clone();
        }
        let s = Arc::new(Series::new(backend, kind));
        list.push((kind, s.clone()));
        s
    }

    fn on_probe(&self, outcome: &ProbeOutcome, probe_type: ProbeType) {
        let r = &outcome.result;
        let s = self.series(outcome.backend(), probe_type);
        if let Some(i) = ResultCode::ALL.iter().position(|c| *c == r.code) {
            s.codes[i].fetch_add(1, Ordering::Relaxed);
        }
        let secs = r.duration.as_secs_f64();
        if let Some(i) = DURATION_BUCKETS.iter().position(|b| secs <= *b) {
            s.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        s.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(r.duration.as_nanos()).unwrap_or(u64::MAX);
        s.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.lateness.observe(outcome.started.saturating_duration_since(outcome.due).as_secs_f64());
    }

    fn on_transition(&self, event: &BackendEvent) {
        let found = self.transitions.read().get(&event.backend).cloned();
        let t = found.unwrap_or_else(|| {
            let mut map = self.transitions.write();
            map.entry(event.backend.clone())
                .or_insert_with(|| {
                    Arc::new(Transitions {
                        labels: labels(&[("backend", &event.backend)]),
                        counts: Default::default(),
                    })
                })
                .clone()
        });
        t.counts[state_index(event.from)][state_index(event.to)].fetch_add(1, Ordering::Relaxed);
    }

    /// Writes `maglev_backend_transitions_total`, in backend order; only the
    /// (from, to) pairs that happened.
    fn write_transitions(&self, t: &mut Text<'_>) {
        let mut all: Vec<Arc<Transitions>> = self.transitions.read().values().cloned().collect();
        if all.is_empty() {
            return;
        }
        all.sort_by(|a, b| a.labels.cmp(&b.labels));
        t.family(TRANSITIONS.0, TRANSITIONS.1, "counter");
        for tr in &all {
            for (from, row) in BackendState::ALL.iter().zip(&tr.counts) {
                for (to, n) in BackendState::ALL.iter().zip(row) {
                    let n = n.load(Ordering::Relaxed);
                    if n > 0 {
                        t.sample(
                            TRANSITIONS.0,
                            &tr.labels,
                            &[("from", from.as_str()), ("to", to.as_str())],
                            n as f64,
                        );
                    }
                }
            }
        }
    }

    /// Writes the transitions, then `maglev_probe_total` and
    /// `maglev_probe_duration_seconds` in backend order (nothing while no
    /// probe has run).
    pub(super) fn write(&self, t: &mut Text<'_>) {
        self.write_transitions(t);
        let mut all: Vec<Arc<Series>> =
            self.series.read().values().flat_map(|v| v.iter().map(|(_, s)| s.clone())).collect();
        if all.is_empty() {
            return;
        }
        all.sort_by(|a, b| a.labels.cmp(&b.labels));
        t.family(PROBES.0, PROBES.1, "counter");
        for s in &all {
            for (code, n) in ResultCode::ALL.iter().zip(&s.codes) {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    let result = if code.is_pass() { "pass" } else { "fail" };
                    t.sample(PROBES.0, &s.labels, &[("result", result), ("code", code.as_str())], n as f64);
                }
            }
        }
        let bucket = format!("{}_bucket", DURATION.0);
        let sum = format!("{}_sum", DURATION.0);
        let count = format!("{}_count", DURATION.0);
        t.family(DURATION.0, DURATION.1, "histogram");
        for s in &all {
            let mut cumulative = 0;
            for (le, n) in self.bucket_bounds.iter().zip(&s.buckets) {
                cumulative += n.load(Ordering::Relaxed);
                t.sample(&bucket, &s.labels, &[("le", le)], cumulative as f64);
            }
            // Read after the buckets, so +Inf is never below the last bound.
            let total = s.count.load(Ordering::Relaxed).max(cumulative);
            t.sample(&bucket, &s.labels, &[("le", "+Inf")], total as f64);
            t.sample(&sum, &s.labels, &[], s.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9);
            t.sample(&count, &s.labels, &[], total as f64);
        }
    }
}

/// Counters of a backend dropped by a reload stay until the process
/// restarts: they are history, and Prometheus treats a vanished counter
/// as a reset anyway.
impl CheckerObserver for Metrics {
    fn on_probe(&self, outcome: &ProbeOutcome, probe_type: ProbeType) {
        self.probes.on_probe(outcome, probe_type);
    }

    fn on_transition(&self, event: &BackendEvent) {
        self.probes.on_transition(event);
    }
}
