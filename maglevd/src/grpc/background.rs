//! One thread for the handlers' slow work: reading and parsing the config
//! file (CheckConfig, ReloadConfig). A completion-queue thread only queues
//! the job, so a slow disk or a large YAML file never holds up other calls.

use std::io;
use std::thread;

use crossbeam_channel::{Sender, TrySendError};

/// Jobs queued before callers are told the server is busy.
pub const QUEUE: usize = 8;

/// Whether a job gets to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// On the background thread.
    Run,
    /// Refused at once (on the caller's thread): the queue is full.
    Busy,
}

/// Called exactly once, with its [`Turn`].
pub type Job = Box<dyn FnOnce(Turn) + Send>;

/// Cheap to clone; the thread ends when the last clone is dropped.
#[derive(Clone)]
pub struct Background {
    tx: Sender<Job>,
}

impl Background {
    pub fn start() -> io::Result<Background> {
        let (tx, rx) = crossbeam_channel::bounded::<Job>(QUEUE);
        thread::Builder::new().name("grpc-config".into()).spawn(move || {
            for job in rx {
                job(Turn::Run);
            }
        })?;
        Ok(Background { tx })
    }

    /// Queues `job`, or calls it with [`Turn::Busy`] when the queue is full.
    pub fn run(&self, job: Job) {
        if let Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) = self.tx.try_send(job) {
            job(Turn::Busy);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_jobs_in_order_and_refuses_when_full() {
        let bg = Background::start().expect("thread");
        let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(0);
        let (started_tx, started_rx) = crossbeam_channel::bounded::<()>(1);
        let (done_tx, done_rx) = crossbeam_channel::unbounded();
        // The first job holds the thread; QUEUE more fill the queue.
        bg.run(Box::new(move |_| {
            let _ = started_tx.send(());
            let _ = gate_rx.recv();
        }));
        started_rx.recv().expect("first job started");
        for i in 0..QUEUE + 3 {
            let tx = done_tx.clone();
            bg.run(Box::new(move |turn| {
                let _ = tx.send((i, turn));
            }));
        }
        let refused: Vec<(usize, Turn)> = done_rx.try_iter().collect();
        assert_eq!(refused, (QUEUE..QUEUE + 3).map(|i| (i, Turn::Busy)).collect::<Vec<_>>());
        gate_tx.send(()).expect("release");
        let ran: Vec<(usize, Turn)> = (0..QUEUE).map(|_| done_rx.recv().expect("job ran")).collect();
        assert_eq!(ran, (0..QUEUE).map(|i| (i, Turn::Run)).collect::<Vec<_>>());
    }
}
