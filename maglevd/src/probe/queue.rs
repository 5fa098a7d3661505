//! The engine's one shared state: the timer wheel of scheduled jobs and the
//! queue of due ones, behind one mutex with two condition variables.
//!
//! Threads sleep in the kernel until there is something for them: the
//! wheel thread until its next deadline or an earlier job, a worker until a
//! job is due. Nobody spins or yields while waiting (a crossbeam channel's
//! blocking receive spins and calls `sched_yield` before it parks, on every
//! probe). Scheduling a job further out than the wheel's next wakeup, the
//! usual case, wakes no thread at all.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use parking_lot::{Condvar, Mutex, MutexGuard};

use super::wheel::Wheel;
use super::ProbeJob;

/// Wheel resolution: a probe starts at most this much after it is due
/// (plus waiting for a free worker and the kernel's wakeup latency).
const TICK: Duration = Duration::from_millis(1);
/// 4096 slots of 1 ms: one rotation is about 4 s, longer than the usual
/// intervals, so most slots hold only entries of the current rotation.
const SLOTS: usize = 4096;

/// A job whose time has come, with the time it was due.
pub(crate) struct Dispatch {
    pub(crate) due: Instant,
    pub(crate) job: ProbeJob,
}

pub(crate) struct State {
    wheel: Wheel<ProbeJob>,
    /// When the wheel thread will wake by itself; `None` while it sleeps
    /// with no deadline.
    wakeup: Option<Instant>,
    ready: VecDeque<Dispatch>,
    /// Liveness pings the wheel thread answers on its next turn.
    pings: Vec<Sender<()>>,
    /// Set by shutdown: waiting jobs are dropped, threads exit.
    stopping: bool,
}

pub(crate) struct Queue {
    state: Mutex<State>,
    /// The wheel thread waits here.
    wheel_cv: Condvar,
    /// Idle workers wait here.
    work_cv: Condvar,
}

impl Queue {
    pub(crate) fn new() -> Queue {
        Queue {
            state: Mutex::new(State {
                wheel: Wheel::new(Instant::now(), TICK, SLOTS),
                wakeup: None,
                ready: VecDeque::new(),
                pings: Vec::new(),
                stopping: false,
            }),
            wheel_cv: Condvar::new(),
            work_cv: Condvar::new(),
        }
    }

    /// Adds `job`, due at `at`: straight to the workers when it is already
    /// due, else into the wheel, waking the wheel thread only when the job
    /// fires before the thread would wake anyway.
    pub(crate) fn schedule(&self, at: Instant, job: ProbeJob) {
        let mut st = self.state.lock();
        if st.stopping {
            return;
        }
        if at <= Instant::now() {
            st.ready.push_back(Dispatch { due: at, job });
            drop(st);
            self.work_cv.notify_one();
            return;
        }
        let fires = st.wheel.insert(at, job);
        if !matches!(st.wakeup, Some(w) if w <= fires) {
            st.wakeup = Some(fires);
            drop(st);
            self.wheel_cv.notify_one();
        }
    }

    /// Asks the wheel thread to answer on `reply` when it next turns; once
    /// stopped, `reply` is dropped (its receiver sees a disconnection).
    pub(crate) fn ping(&self, reply: Sender<()>) {
        let mut st = self.state.lock();
        if st.stopping {
            return;
        }
        st.pings.push(reply);
        drop(st);
        self.wheel_cv.notify_one();
    }

    /// Jobs scheduled and neither started nor dropped.
    pub(crate) fn pending(&self) -> usize {
        let st = self.state.lock();
        st.wheel.len() + st.ready.len()
    }

    /// Stops the wheel thread and the workers (each after its current
    /// probe); waiting jobs are dropped.
    pub(crate) fn stop(&self) {
        let mut st = self.state.lock();
        st.stopping = true;
        st.ready.clear();
        st.pings.clear();
        let mut dropped = Vec::new();
        st.wheel.expire(far_future(), &mut dropped);
        drop(st);
        // Jobs (and their targets) are freed outside the lock.
        drop(dropped);
        self.wheel_cv.notify_all();
        self.work_cv.notify_all();
    }

    /// The wheel thread: moves due jobs to the workers, drops cancelled
    /// ones, and sleeps until the next occupied tick or an earlier job.
    pub(crate) fn run_wheel(&self) {
        let mut due = Vec::new();
        let mut st = self.state.lock();
        while !st.stopping {
            for reply in st.pings.drain(..) {
                let _ = reply.try_send(());
            }
            st.wheel.expire(Instant::now(), &mut due);
            let mut woken = 0;
            for (at, job) in due.drain(..) {
                // Cancelled while in the wheel: it never reaches a worker.
                if job.token.is_cancelled() {
                    continue;
                }
                st.ready.push_back(Dispatch { due: at, job });
                woken += 1;
            }
            if woken > 0 {
                // Released while the workers wake, so they do not block on it.
                MutexGuard::unlocked(&mut st, || {
                    for _ in 0..woken {
                        if !self.work_cv.notify_one() {
                            break; // every worker is awake already
                        }
                    }
                });
                continue; // time passed while unlocked
            }
            st.wakeup = st.wheel.next_wakeup();
            match st.wakeup {
                Some(at) => {
                    self.wheel_cv.wait_until(&mut st, at);
                }
                None => self.wheel_cv.wait(&mut st),
            }
        }
    }

    /// A worker's wait for its next job; `None` once the engine stops.
    pub(crate) fn next_job(&self) -> Option<Dispatch> {
        let mut st = self.state.lock();
        loop {
            if st.stopping {
                return None;
            }
            if let Some(d) = st.ready.pop_front() {
                return Some(d);
            }
            self.work_cv.wait(&mut st);
        }
    }
}

/// Later than any due time, for draining the wheel.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 86_400)
}
