//! The fixed pool of worker threads that run blocking probes.
//!
//! Workers take due jobs from one shared queue, so a hanging backend ties
//! up one worker for at most its timeout while the others keep going.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

use super::{run, ProbeJob, ProbeOutcome, ProbeResult, ResultCode};

/// A job whose time has come, with the time it was due.
pub(crate) struct Dispatch {
    pub(crate) due: Instant,
    pub(crate) job: ProbeJob,
}

/// State shared by the wheel thread, the workers and the engine handle.
#[derive(Default)]
pub(crate) struct Shared {
    /// Set by shutdown: queued jobs are dropped instead of run.
    pub(crate) stopping: AtomicBool,
    /// Jobs scheduled but neither started nor dropped yet.
    pub(crate) pending: AtomicUsize,
}

pub(crate) struct Pool {
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `n` workers. They exit when `jobs` is disconnected and
    /// drained (dropping what is left once `shared.stopping` is set).
    pub(crate) fn start(
        n: usize,
        jobs: Receiver<Dispatch>,
        results: Sender<ProbeOutcome>,
        shared: Arc<Shared>,
    ) -> io::Result<Pool> {
        let mut workers = Vec::with_capacity(n);
        for i in 0..n {
            let (jobs, results, mine) = (jobs.clone(), results.clone(), shared.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("probe-worker-{i}"))
                .spawn(move || work(&jobs, &results, &mine));
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(e) => {
                    // The started workers exit once the caller drops the
                    // sending side of `jobs`.
                    shared.stopping.store(true, Ordering::Release);
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

fn work(jobs: &Receiver<Dispatch>, results: &Sender<ProbeOutcome>, shared: &Shared) {
    for Dispatch { due, job } in jobs.iter() {
        shared.pending.fetch_sub(1, Ordering::AcqRel);
        // The last check before a packet leaves: pause and disable act even
        // on jobs already waiting for a worker.
        if shared.stopping.load(Ordering::Acquire) || job.token.is_cancelled() {
            continue;
        }
        let started = Instant::now();
        // A probe must never take a worker down with it; a panic is a bug,
        // reported as a failed probe so the daemon keeps running.
        let result = catch_unwind(AssertUnwindSafe(|| run(&job.target))).unwrap_or_else(|_| {
            log::error!("probe-panicked backend={}", job.target.backend);
            ProbeResult::new(ResultCode::SockErr, "internal error: the probe panicked", started.elapsed())
        });
        let outcome = ProbeOutcome {
            backend: job.target.backend.clone(),
            generation: job.generation,
            due,
            started,
            result,
        };
        if results.send(outcome).is_err() {
            // Nobody listens any more: the daemon is going down.
            return;
        }
    }
}
