//! The probe engine: a timer wheel that decides *when*, a fixed pool of
//! worker threads that run blocking probes, and the probes themselves.
//!
//! Every probe is bounded as a whole by its healthcheck's `timeout`, so a
//! hanging backend occupies one worker for at most `timeout`.
//!
//! Map: `engine` (public handle, wheel thread) uses `wheel` (the timer
//! wheel) and `pool` (workers), which call `run`. `run` picks `tcp`,
//! `http` (request, response parser; `tls` for https) or `icmp`; all of
//! them open sockets through `socket` (source address, SOCKERR) and
//! `netns` (namespace switch), and obey one `deadline`.

mod deadline;
pub mod engine;
mod http;
mod icmp;
mod netns;
mod pool;
mod queue;
pub mod result;
mod socket;
mod tcp;
mod tls;
mod wheel;

#[cfg(test)]
mod test_backend;
#[cfg(test)]
mod test_netns;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{HealthCheck, ProbeSpec};
use deadline::Deadline;

pub use engine::{Engine, WheelPinger};
pub use result::{ProbeResult, ResultCode};
pub(crate) use tls::check_ca_file;
pub use tls::clear_cache as clear_tls_cache;

/// What to probe: one backend with its healthcheck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    pub backend: String,
    pub address: IpAddr,
    pub check: Arc<HealthCheck>,
    /// An http(s) probe's request, serialised once for the target's life
    /// instead of for every probe (a dozen small allocations each time).
    request: Option<Result<Vec<u8>, http::RequestError>>,
}

impl ProbeTarget {
    pub fn new(backend: impl Into<String>, address: IpAddr, check: Arc<HealthCheck>) -> ProbeTarget {
        let request = match &check.probe {
            ProbeSpec::Http { port, http } => Some(http::build_request(http, address, *port, false)),
            ProbeSpec::Https { port, http, .. } => Some(http::build_request(http, address, *port, true)),
            ProbeSpec::Tcp { .. } | ProbeSpec::Icmp => None,
        };
        ProbeTarget { backend: backend.into(), address, check, request }
    }
}

/// Runs one probe on the calling thread and returns its result. Blocks for
/// at most `target.check.timeout` (plus scheduling noise).
pub fn run(target: &ProbeTarget) -> ProbeResult {
    let deadline = Deadline::after(target.check.timeout);
    match &target.check.probe {
        ProbeSpec::Icmp => icmp::probe(target, &deadline),
        ProbeSpec::Tcp { port } => tcp::probe(target, *port, &deadline),
        ProbeSpec::Http { port, http } => http::probe(target, *port, http, None, &deadline),
        ProbeSpec::Https { port, http, tls } => http::probe(target, *port, http, Some(tls), &deadline),
    }
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
    /// How long the probe is expected to hold its worker: the target's last
    /// probe duration, or its timeout before the first. A worker taking a
    /// job that would leave the wheel unwatched longer than the backstop's
    /// slack hands it to an idle worker first, so a slow backend does not
    /// delay the next probe.
    pub expected: Duration,
}

/// A finished probe, sent to the checker.
#[derive(Debug, Clone)]
pub struct ProbeOutcome {
    /// The job's target, shared: an outcome allocates nothing to say whose
    /// it is.
    pub target: Arc<ProbeTarget>,
    pub generation: u64,
    /// When the probe was scheduled to start.
    pub due: Instant,
    /// When a worker actually started it (lateness = started - due).
    pub started: Instant,
    pub result: ProbeResult,
}

impl ProbeOutcome {
    /// The probed backend's name.
    pub fn backend(&self) -> &str {
        &self.target.backend
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use crate::config::{HealthCheck, ProbeSpec};

    /// A healthcheck with the documented defaults around `probe`.
    pub(crate) fn check(probe: ProbeSpec) -> HealthCheck {
        HealthCheck {
            name: "test".into(),
            probe,
            interval: Duration::from_secs(2),
            fast_interval: Duration::from_secs(1),
            down_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
            rise: 2,
            fall: 3,
            jitter_percent: 0,
            netns: None,
            source_ipv4: None,
            source_ipv6: None,
        }
    }
}
