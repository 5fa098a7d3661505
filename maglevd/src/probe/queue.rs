//! The engine's one shared state: the timer wheel of scheduled jobs and the
//! queue of due ones, behind one mutex with three condition variables.
//!
//! Idle workers expire the wheel themselves: one of them, the *leader*,
//! sleeps until the wheel's next occupied tick, then takes the first due
//! job and runs it (waking other idle workers only for the jobs beyond
//! that). So a probe costs one thread wakeup, not two: there is no hand-off
//! from a timer thread to a worker. A worker back from a probe looks at the
//! wheel before it sleeps and becomes the leader if there is none.
//!
//! While the leader is away running its job, nobody else is woken to take
//! over (that wakeup is the very hand-off this design avoids) unless the
//! wheel would stay unwatched too long: a job carries how long its target's
//! last probe took, and a worker taking one that would outlast the next
//! due tick by more than `BACKUP_SLACK` wakes an idle worker to lead first.
//! The wheel thread is the backstop for the rest (a probe slower than
//! expected, every worker busy): it sleeps until `BACKUP_SLACK` after the
//! wheel's next tick and expires whatever the workers left due. It also
//! answers the watchdog's pings, so they never depend on a free worker.
//!
//! Nobody spins or yields while waiting (a crossbeam channel's blocking
//! receive spins and calls `sched_yield` before it parks, on every probe).
//! Scheduling a job further out than the next wakeup, the usual case, wakes
//! no thread at all.

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
/// How long after a due tick the wheel thread steps in when no worker has
/// expired it: every worker busy, or a probe turned out slower than its
/// worker expected (one known to take longer than this hands the wheel on
/// before it starts). So a job starts at most this late while a worker is
/// idle. The wheel thread wakes about once per slack, needed or not: 3 ms
/// cost 226 wakeups a second at 1,000 backends, 10 ms costs 88.
const BACKUP_SLACK: Duration = Duration::from_millis(10);

/// A job whose time has come, with the time it was due.
pub(crate) struct Dispatch {
    pub(crate) due: Instant,
    pub(crate) job: ProbeJob,
}

pub(crate) struct State {
    wheel: Wheel<ProbeJob>,
    ready: VecDeque<Dispatch>,
    /// When the leader wakes by itself; `None` when there is no leader.
    leader: Option<Wakeup>,
    /// The leader has been woken for a ready job (and will take one).
    leader_claimed: bool,
    /// Workers waiting for a ready job (not the leader) and not yet woken
    /// for one.
    idle: usize,
    /// Workers woken for a ready job that have not yet woken up. Counting
    /// them apart keeps a second job from relying on a worker already woken
    /// for the first.
    claimed: usize,
    /// When the wheel thread wakes by itself.
    backup: Wakeup,
    /// Liveness pings the wheel thread answers on its next turn.
    pings: Vec<Sender<()>>,
    /// Set by shutdown: waiting jobs are dropped, threads exit.
    stopping: bool,
}

/// When a sleeping thread will wake by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wakeup {
    At(Instant),
    Never,
}

impl Wakeup {
    fn from(at: Option<Instant>) -> Wakeup {
        at.map_or(Wakeup::Never, Wakeup::At)
    }

    /// True when a thread waking at `self` would be later than `at`.
    fn after(self, at: Instant) -> bool {
        match self {
            Wakeup::At(w) => w > at,
            Wakeup::Never => true,
        }
    }

    fn wait(self, cv: &Condvar, st: &mut MutexGuard<'_, State>) {
        match self {
            Wakeup::At(at) => {
                cv.wait_until(st, at);
            }
            Wakeup::Never => cv.wait(st),
        }
    }
}

impl State {
    /// Moves every due job of the wheel to `ready`, dropping cancelled
    /// ones; returns how many it moved.
    fn expire(&mut self, due: &mut Vec<(Instant, ProbeJob)>) -> usize {
        self.wheel.expire(Instant::now(), due);
        let before = self.ready.len();
        for (at, job) in due.drain(..) {
            // Cancelled while in the wheel: it never reaches a worker.
            if !job.token.is_cancelled() {
                self.ready.push_back(Dispatch { due: at, job });
            }
        }
        self.ready.len() - before
    }
}

pub(crate) struct Queue {
    state: Mutex<State>,
    /// `BACKUP_SLACK`, or another value under test.
    slack: Duration,
    /// The leader waits here, until the wheel's next tick.
    leader_cv: Condvar,
    /// Other idle workers wait here, for a ready job.
    idle_cv: Condvar,
    /// The wheel thread waits here.
    backup_cv: Condvar,
}

impl Queue {
    pub(crate) fn new() -> Queue {
        Queue::with_slack(BACKUP_SLACK)
    }

    /// A queue whose wheel thread steps in `slack` after a due tick.
    pub(crate) fn with_slack(slack: Duration) -> Queue {
        Queue {
            slack,
            state: Mutex::new(State {
                wheel: Wheel::new(Instant::now(), TICK, SLOTS),
                ready: VecDeque::new(),
                leader: None,
                leader_claimed: false,
                idle: 0,
                claimed: 0,
                backup: Wakeup::Never,
                pings: Vec::new(),
                stopping: false,
            }),
            leader_cv: Condvar::new(),
            idle_cv: Condvar::new(),
            backup_cv: Condvar::new(),
        }
    }

    /// Adds `job`, due at `at`: straight to the workers when it is already
    /// due, else into the wheel, waking a thread only when the job fires
    /// before anyone would look at the wheel anyway.
    pub(crate) fn schedule(&self, at: Instant, job: ProbeJob) {
        let mut st = self.state.lock();
        if st.stopping {
            return;
        }
        if at <= Instant::now() {
            st.ready.push_back(Dispatch { due: at, job });
            self.wake_for_ready(&mut st, 1);
            return;
        }
        let fires = st.wheel.insert(at, job);
        match st.leader {
            Some(w) if w.after(fires) => {
                st.leader = Some(Wakeup::At(fires));
                drop(st);
                self.leader_cv.notify_one();
            }
            Some(_) => {}
            // Nobody watches the wheel (its last leader is running a probe)
            // and the job is due before the wheel thread would look: an
            // idle worker takes the lead. (Jobs due later, the usual case,
            // wake nobody: a worker back from its probe leads by then.)
            None if st.idle > 0 && fires < Instant::now() + self.slack => self.wake_a_leader(&mut st),
            None if st.backup.after(fires + self.slack) => {
                st.backup = Wakeup::At(fires + self.slack);
                drop(st);
                self.backup_cv.notify_one();
            }
            None => {}
        }
    }

    /// Wakes an idle worker to lead (there is no leader and one is idle):
    /// woken as for a ready job, it finds none and takes the lead.
    fn wake_a_leader(&self, st: &mut MutexGuard<'_, State>) {
        self.wake_for_ready(st, 1);
    }

    /// Called by a worker taking `d`: when nobody else leads and `d` is
    /// expected to outlast the wheel's next due tick by more than the
    /// backstop's slack, an idle worker takes the lead now rather than the
    /// next job waiting for the wheel thread. A quicker probe is not worth
    /// the thread switch: the next job waits at most until it is done.
    fn hand_over_the_wheel(&self, st: &mut MutexGuard<'_, State>, d: &Dispatch) {
        if st.leader.is_some() || st.idle == 0 || d.job.expected <= self.slack {
            return;
        }
        if st.wheel.next_wakeup().is_some_and(|next| next + self.slack < Instant::now() + d.job.expected) {
            self.wake_a_leader(st);
        }
    }

    /// Wakes idle workers for `jobs` newly ready jobs: followers first,
    /// then the leader (which takes a ready job before its tick).
    fn wake_for_ready(&self, st: &mut MutexGuard<'_, State>, jobs: usize) {
        let followers = jobs.min(st.idle);
        st.idle -= followers;
        st.claimed += followers;
        let leader = jobs > followers && st.leader.is_some() && !st.leader_claimed;
        st.leader_claimed |= leader;
        if followers == 0 && !leader {
            return; // every worker is busy: the first one back takes them
        }
        // Released while they wake, so they do not block on it.
        MutexGuard::unlocked(st, || {
            for _ in 0..followers {
                self.idle_cv.notify_one();
            }
            if leader {
                self.leader_cv.notify_one();
            }
        });
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
        self.backup_cv.notify_one();
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
        self.backup_cv.notify_all();
        self.leader_cv.notify_all();
        self.idle_cv.notify_all();
    }

    /// The wheel thread: answers pings, and expires the wheel when no
    /// worker has done so `BACKUP_SLACK` after a due tick.
    pub(crate) fn run_wheel(&self) {
        let mut due = Vec::new();
        let mut st = self.state.lock();
        while !st.stopping {
            for reply in st.pings.drain(..) {
                let _ = reply.try_send(());
            }
            let moved = st.expire(&mut due);
            if moved > 0 {
                self.wake_for_ready(&mut st, moved);
                continue; // time passed while unlocked
            }
            if !st.ready.is_empty() && st.idle > 0 {
                // Never expected (every ready job has a worker woken for it
                // or is taken by the next one back); a safety net that costs
                // nothing when it is not needed.
                let waiting = st.ready.len();
                self.wake_for_ready(&mut st, waiting);
            }
            st.backup = Wakeup::from(st.wheel.next_wakeup().map(|at| at + self.slack));
            let backup = st.backup;
            backup.wait(&self.backup_cv, &mut st);
        }
    }

    /// A worker's wait for its next job; `None` once the engine stops.
    pub(crate) fn next_job(&self, due: &mut Vec<(Instant, ProbeJob)>) -> Option<Dispatch> {
        let mut st = self.state.lock();
        loop {
            if st.stopping {
                return None;
            }
            if let Some(d) = st.ready.pop_front() {
                self.hand_over_the_wheel(&mut st, &d);
                return Some(d);
            }
            let moved = st.expire(due);
            if moved > 0 {
                // One is ours; wake idle workers for the rest.
                self.wake_for_ready(&mut st, moved - 1);
                continue;
            }
            if st.leader.is_none() {
                let wakeup = Wakeup::from(st.wheel.next_wakeup());
                st.leader = Some(wakeup);
                wakeup.wait(&self.leader_cv, &mut st);
                st.leader = None;
                st.leader_claimed = false;
            } else {
                st.idle += 1;
                self.idle_cv.wait(&mut st);
                // Woken for a job, or by chance: either way no longer idle.
                if st.claimed > 0 {
                    st.claimed -= 1;
                } else {
                    st.idle -= 1;
                }
            }
        }
    }
}

/// Later than any due time, for draining the wheel.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 86_400)
}
