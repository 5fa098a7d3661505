//! The fixed pool of worker threads that run blocking probes.
//!
//! Workers take due jobs from the engine's one queue, so a hanging backend
//! ties up one worker for at most its timeout while the others keep going.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::Sender;

use super::queue::{Dispatch, Queue};
use super::{run, ProbeOutcome, ProbeResult, ResultCode};

pub(crate) struct Pool {
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `n` workers. They exit when the queue stops.
    pub(crate) fn start(n: usize, queue: Arc<Queue>, results: Sender<ProbeOutcome>) -> io::Result<Pool> {
        let mut workers = Vec::with_capacity(n);
        for i in 0..n {
            let (mine, results) = (queue.clone(), results.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("probe-worker-{i}"))
                .spawn(move || work(&mine, &results));
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => {
                    queue.stop();
                    Pool { workers }.join();
                    return Err(e);
                }
            }
        }
        Ok(Pool { workers })
    }

    /// Waits for every worker to exit (each finishes its current probe).
    pub(crate) fn join(self) {
        for w in self.workers {
            let _ = w.join();
        }
    }
}

fn work(queue: &Queue, results: &Sender<ProbeOutcome>) {
    let mut expired = Vec::new();
    while let Some(Dispatch { due, job }) = queue.next_job(&mut expired) {
        // The last check before a packet leaves: pause and disable act even
        // on jobs already waiting for a worker.
        if job.token.is_cancelled() {
            continue;
        }
        let started = Instant::now();
        // A probe must never take a worker down with it; a panic is a bug,
        // reported as a failed probe so the daemon keeps running.
        let result = catch_unwind(AssertUnwindSafe(|| run(&job.target))).unwrap_or_else(|_| {
            log::error!("probe-panicked backend={}", job.target.backend);
            ProbeResult::new(ResultCode::SockErr, "internal error: the probe panicked", started.elapsed())
        });
        let outcome = ProbeOutcome { target: job.target, generation: job.generation, due, started, result };
        if results.send(outcome).is_err() {
            // Nobody listens any more: the daemon is going down.
            return;
        }
    }
}
