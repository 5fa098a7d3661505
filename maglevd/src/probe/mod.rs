//! The probe engine: a timer wheel that decides *when*, a fixed pool of
//! worker threads that run blocking probes, and the probes themselves.
//!
//! Every probe is bounded as a whole by its healthcheck's `timeout`, so a
//! hanging backend occupies one worker for at most `timeout`.

pub mod engine;
pub mod result;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::config::HealthCheck;

pub use engine::Engine;
pub use result::{ProbeResult, ResultCode};

/// What to probe: one backend with its healthcheck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    pub backend: String,
    pub address: IpAddr,
    pub check: Arc<HealthCheck>,
}

/// Runs one probe on the calling thread and returns its result. Blocks for
/// at most `target.check.timeout` (plus scheduling noise).
pub fn run(target: &ProbeTarget) -> ProbeResult {
    todo!("{target:?}")
}

/// Cancels scheduled probes of a backend (pause, disable, reload). Cloning
/// shares the flag.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        CancelToken::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// One scheduled probe.
#[derive(Debug, Clone)]
pub struct ProbeJob {
    pub target: Arc<ProbeTarget>,
    /// Opaque to the engine; echoed in the outcome so the checker can drop
    /// results of an older probing generation.
    pub generation: u64,
    /// Checked when the job is due and again before it runs: a cancelled
    /// job sends no packet.
    pub token: CancelToken,
}

/// A finished probe, sent to the checker.
#[derive(Debug, Clone)]
pub struct ProbeOutcome {
    pub backend: String,
    pub generation: u64,
    /// When the probe was scheduled to start.
    pub due: Instant,
    /// When a worker actually started it (lateness = started - due).
    pub started: Instant,
    pub result: ProbeResult,
}
