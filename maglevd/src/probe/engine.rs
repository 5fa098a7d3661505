//! Timer wheel + fixed worker pool.

use std::io;
use std::time::Instant;

use crossbeam_channel::Sender;

use super::{ProbeJob, ProbeOutcome};

/// Owns the wheel thread and the worker threads. Dropping it (or
/// `shutdown`) stops them.
pub struct Engine {}

impl Engine {
    /// Starts the wheel thread and `workers` worker threads. Finished
    /// probes are sent to `results`.
    pub fn start(workers: usize, results: Sender<ProbeOutcome>) -> io::Result<Engine> {
        let _ = (workers, results);
        todo!()
    }

    /// Runs `job` at `at` (or as soon as a worker is free after that). Never blocks.
    pub fn schedule(&self, at: Instant, job: ProbeJob) {
        let _ = (at, job);
        todo!()
    }

    /// Stops the wheel and the workers; running probes finish (bounded by their timeout).
    pub fn shutdown(self) {}
}
