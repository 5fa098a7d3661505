//! What the checker sees: probe results, their durations, how late the
//! timer wheel started them, and backend transitions. Fed on the checker
//! thread through `CheckerObserver`, so every update is a few atomic adds.

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use crate::checker::{BackendEvent, CheckerObserver};
use crate::config::ProbeType;
use crate::probe::ProbeOutcome;

use super::Metrics;

/// Probe durations: sub-millisecond loopback connects up to slow HTTPS
/// handshakes bounded by the probe timeout (default 1s, rarely above 10s).
const DURATION_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Scheduling lateness: a healthy wheel is within a millisecond or two; a
/// saturated worker pool shows up as seconds.
const LATENESS_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

pub(super) struct ProbeMetrics {
    probes: IntCounterVec,
    duration: HistogramVec,
    lateness: Histogram,
    transitions: IntCounterVec,
}

impl ProbeMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let probes = IntCounterVec::new(
            Opts::new(
                "maglev_probe_total",
                "Probes run, by backend, probe type, result (pass|fail) and result code.",
            ),
            &["backend", "type", "result", "code"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "maglev_probe_duration_seconds",
                "Wall time of a probe, connect to last byte.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["backend", "type"],
        )?;
        let lateness = Histogram::with_opts(
            HistogramOpts::new(
                "maglev_probe_schedule_lateness_seconds",
                "How long after its due time a probe started (timer wheel and worker pool delay).",
            )
            .buckets(LATENESS_BUCKETS.to_vec()),
        )?;
        let transitions = IntCounterVec::new(
            Opts::new("maglev_backend_transitions_total", "Backend state changes, by backend and states."),
            &["backend", "from", "to"],
        )?;
        registry.register(Box::new(probes.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(lateness.clone()))?;
        registry.register(Box::new(transitions.clone()))?;
        Ok(ProbeMetrics { probes, duration, lateness, transitions })
    }

    fn on_probe(&self, outcome: &ProbeOutcome, probe_type: ProbeType) {
        let r = &outcome.result;
        let result = if r.is_pass() { "pass" } else { "fail" };
        let kind = probe_type.as_str();
        self.probes.with_label_values(&[&outcome.backend, kind, result, r.code.as_str()]).inc();
        self.duration.with_label_values(&[&outcome.backend, kind]).observe(r.duration.as_secs_f64());
        self.lateness.observe(outcome.started.saturating_duration_since(outcome.due).as_secs_f64());
    }

    fn on_transition(&self, event: &BackendEvent) {
        self.transitions.with_label_values(&[&event.backend, event.from.as_str(), event.to.as_str()]).inc();
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
