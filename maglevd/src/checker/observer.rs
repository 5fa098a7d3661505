//! A hook for counting what the checker sees (metrics), without the
//! checker knowing about any exposition format.

use crate::config::ProbeType;
use crate::probe::ProbeOutcome;

use super::BackendEvent;

/// Called on the checker thread: implementations must be quick and never block.
pub trait CheckerObserver: Send + Sync {
    /// A probe finished for an active backend (stale outcomes are not reported).
    fn on_probe(&self, _outcome: &ProbeOutcome, _probe_type: ProbeType) {}
    /// A backend changed state.
    fn on_transition(&self, _event: &BackendEvent) {}
}

/// Observes nothing.
pub struct NoObserver;

impl CheckerObserver for NoObserver {}
