//! The checker core: one thread owns all health state.
//!
//! Probe outcomes, operator commands, reloads and subscriptions arrive on
//! one crossbeam channel and are handled in order. After every change the
//! checker publishes a new immutable [`Snapshot`] and sends transition
//! [`Event`]s to subscribers. Nothing else mutates health state.

mod core;
pub mod events;
pub mod observer;
pub mod snapshot;
mod table;

#[cfg(test)]
mod publish_tests;

use std::fmt;
use std::io;
use std::sync::Arc;
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, RecvError, SendError, Sender, TryRecvError, TrySendError};
use parking_lot::RwLock;

use crate::config::Config;
use crate::probe::{Engine, ProbeOutcome, WheelPinger};

pub use events::{BackendEvent, Event, EventBus, FrontendEvent, ReloadEvent, Subscription, WeightEvent};
pub use observer::{CheckerObserver, NoObserver};
pub use snapshot::{BackendSnapshot, BackendTable, FrontendSnapshot, Snapshot, Transition};

/// An operator action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Pause { backend: String },
    Resume { backend: String },
    Enable { backend: String },
    Disable { backend: String },
    SetWeight { frontend: String, pool: String, backend: String, weight: u8, flush: bool },
}

/// Why a command or reload was refused. Maps 1:1 to gRPC status codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// NOT_FOUND: names what is missing (`backend "nginx9"`).
    NotFound(String),
    /// INVALID_ARGUMENT.
    InvalidArgument(String),
    /// FAILED_PRECONDITION: the state forbids the action.
    FailedPrecondition(String),
    /// The checker has stopped (daemon shutting down).
    Stopped,
    /// RESOURCE_EXHAUSTED: the checker's request queue is full.
    Busy,
    /// DEADLINE_EXCEEDED: the caller stopped waiting before the checker got
    /// to the command, so it was not applied.
    Expired,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::NotFound(what) => write!(f, "{what} not found"),
            CommandError::InvalidArgument(m) | CommandError::FailedPrecondition(m) => f.write_str(m),
            CommandError::Stopped => f.write_str("maglevd is shutting down"),
            CommandError::Busy => {
                write!(f, "the checker is busy: {REQUEST_QUEUE} requests are already queued; retry later")
            }
            CommandError::Expired => {
                f.write_str("the deadline passed before the checker got to the command; it was not applied")
            }
        }
    }
}

impl std::error::Error for CommandError {}

/// What a reload changed, by backend name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Backends whose address changed: they start `unknown`.
    pub restarted: Vec<String>,
    /// Backends whose healthcheck or enabled flag changed: state, counter
    /// and history kept, the new healthcheck applies from the next probe.
    pub reconfigured: Vec<String>,
    pub unchanged: Vec<String>,
}

/// Cheap to clone; everything the rest of the daemon needs from the checker.
#[derive(Clone)]
pub struct CheckerHandle {
    tx: RequestTx,
    snapshot: Arc<RwLock<Arc<Snapshot>>>,
    bus: Arc<EventBus>,
}

/// Requests (commands, reloads, subscriptions) queued for the checker
/// before callers are told it is busy.
pub const REQUEST_QUEUE: usize = 256;

/// The sending side of the checker's request queue. Every request also
/// unparks the checker thread: between result batches it sleeps in
/// `park_timeout`, which costs nothing to wake, where a timed crossbeam
/// receive would spin and call `sched_yield` on every wait (about 1.5
/// yields per probe at 1,000 probes a second).
#[derive(Clone)]
struct RequestTx {
    tx: Sender<Request>,
    checker: Thread,
}

impl RequestTx {
    fn send(&self, req: Request) -> Result<(), SendError<Request>> {
        let sent = self.tx.send(req);
        self.checker.unpark();
        sent
    }

    fn try_send(&self, req: Request) -> Result<(), TrySendError<Request>> {
        let sent = self.tx.try_send(req);
        self.checker.unpark();
        sent
    }
}

/// Where the answer to a command goes; called on the checker thread once
/// the new snapshot is published.
pub type CommandDone = Box<dyn FnOnce(Result<(), CommandError>) + Send>;

/// Whether the caller has stopped waiting: a command still queued then is
/// dropped, not applied.
pub type CommandExpired = Box<dyn Fn() -> bool + Send>;

enum Request {
    Command(Command, CommandExpired, CommandDone),
    Reload(Box<Config>, Sender<ReloadSummary>),
    Subscribe(usize, Sender<Subscription>),
    /// Answered at once: proves the loop is turning (the watchdog).
    Ping(Sender<()>),
    /// Test-only fault: the loop stops handling anything but Stop.
    #[cfg(debug_assertions)]
    Freeze,
    Stop,
}

/// The running checker thread (and the probe engine it owns).
pub struct Checker {
    handle: CheckerHandle,
    wheel: WheelPinger,
    thread: Option<JoinHandle<()>>,
}

impl Checker {
    /// Starts the probe engine (`healthchecker.workers` threads) and the
    /// checker thread, and begins probing every backend of `config`.
    pub fn start(config: Config, observer: Arc<dyn CheckerObserver>) -> io::Result<Checker> {
        let (outcome_tx, outcome_rx) = crossbeam_channel::unbounded::<ProbeOutcome>();
        let engine = Engine::start(config.healthchecker.workers, outcome_tx)?;
        let wheel = engine.pinger();
        let (request_tx, rx) = crossbeam_channel::bounded::<Request>(REQUEST_QUEUE);
        let config = Arc::new(config);
        let empty = Snapshot {
            seq: 0,
            config: config.clone(),
            backends: BackendTable::default(),
            frontends: Arc::default(),
        };
        let snapshot = Arc::new(RwLock::new(Arc::new(empty)));
        let bus = Arc::new(EventBus::new());
        // Build the initial state before returning, so the first snapshot a
        // caller reads already lists every backend.
        let core = core::Core::new(config, engine, snapshot.clone(), bus.clone(), observer);
        let thread =
            std::thread::Builder::new().name("checker".into()).spawn(move || run(core, rx, outcome_rx))?;
        let tx = RequestTx { tx: request_tx, checker: thread.thread().clone() };
        let handle = CheckerHandle { tx, snapshot, bus };
        Ok(Checker { handle, wheel, thread: Some(thread) })
    }

    pub fn handle(&self) -> CheckerHandle {
        self.handle.clone()
    }

    /// What the systemd watchdog asks for signs of life.
    pub fn liveness(&self) -> Liveness {
        Liveness { tx: self.handle.tx.clone(), wheel: self.wheel.clone() }
    }

    /// Stops probing and joins the checker thread.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        let _ = self.handle.tx.send(Request::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// While probe results keep coming, the checker takes them in batches, at
/// most this often, instead of waking for each one (at 10,000 probes a
/// second that was one wakeup per probe); requests are still answered at
/// once. A health decision waits at most this much longer.
const RESULT_BATCH: Duration = Duration::from_millis(5);

fn run(mut core: core::Core, requests: Receiver<Request>, outcomes: Receiver<ProbeOutcome>) {
    'outer: loop {
        let mut batching = false;
        select! {
            recv(requests) -> req => if !on_request(&mut core, req, &requests) {
                break;
            },
            recv(outcomes) -> out => match out {
                Ok(o) => {
                    core.on_outcome(o);
                    batching = true;
                }
                Err(_) => break,
            },
        }
        // Drain what is already queued before publishing once.
        while let Ok(o) = outcomes.try_recv() {
            core.on_outcome(o);
        }
        core.publish();
        if batching {
            // Let the next results gather, answering requests meanwhile
            // (each one unparks this thread: `RequestTx`).
            let until = Instant::now() + RESULT_BATCH;
            loop {
                match requests.try_recv() {
                    Ok(req) => {
                        if !on_request(&mut core, Ok(req), &requests) {
                            break 'outer;
                        }
                    }
                    Err(TryRecvError::Disconnected) => break 'outer,
                    Err(TryRecvError::Empty) => {
                        let now = Instant::now();
                        if now >= until {
                            break;
                        }
                        std::thread::park_timeout(until - now);
                    }
                }
            }
        }
    }
    core.shutdown();
}

/// Handles one request; false when the checker is to stop.
#[cfg_attr(not(debug_assertions), allow(unused_variables))]
fn on_request(core: &mut core::Core, req: Result<Request, RecvError>, requests: &Receiver<Request>) -> bool {
    match req {
        Ok(Request::Stop) | Err(_) => false,
        #[cfg(debug_assertions)]
        Ok(Request::Freeze) => {
            log::warn!("checker-frozen detail=\"test fault: nothing but stop is handled from now on\"");
            // Requests are dropped unanswered, outcomes pile up.
            while !matches!(requests.recv(), Ok(Request::Stop) | Err(_)) {}
            false
        }
        Ok(req) => {
            handle_request(core, req);
            true
        }
    }
}

fn handle_request(core: &mut core::Core, req: Request) {
    match req {
        Request::Command(_, expired, done) if expired() => done(Err(CommandError::Expired)),
        Request::Command(cmd, _, done) => {
            let r = core.on_command(cmd);
            core.publish();
            done(r);
        }
        Request::Reload(config, reply) => {
            let summary = core.on_reload(*config);
            core.publish();
            let _ = reply.send(summary);
        }
        Request::Subscribe(capacity, reply) => {
            let _ = reply.send(core.on_subscribe(capacity));
        }
        Request::Ping(reply) => {
            let _ = reply.send(());
        }
        #[cfg(debug_assertions)]
        Request::Freeze => {}
        Request::Stop => {}
    }
}

/// Asks the checker loop and the probe wheel whether they are turning.
#[derive(Clone)]
pub struct Liveness {
    tx: RequestTx,
    wheel: WheelPinger,
}

impl Liveness {
    /// Both receivers get `()` once the checker loop and the wheel thread
    /// have come round to the request; a stuck loop never answers, and a
    /// stopped one disconnects its receiver.
    pub fn ping(&self) -> (Receiver<()>, Receiver<()>) {
        let (tx, checker) = crossbeam_channel::bounded(1);
        // Never blocks: a queue full for a whole half watchdog interval
        // counts as no answer, as a stuck loop does.
        let _ = self.tx.try_send(Request::Ping(tx));
        (checker, self.wheel.ping())
    }
}

impl CheckerHandle {
    /// The current snapshot (never blocks on the checker thread).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().clone()
    }

    /// Applies an operator action; returns when the checker has applied it.
    pub fn command(&self, cmd: Command) -> Result<(), CommandError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.command_then(cmd, Box::new(|| false), Box::new(move |r| drop(tx.send(r))));
        rx.recv().map_err(|_| CommandError::Stopped)?
    }

    /// Queues an operator action without waiting: `done` is called on the
    /// checker thread once it is applied and published (or at once, if the
    /// queue is full or the checker stopped). Never blocks, so gRPC
    /// handlers use it.
    pub fn command_then(&self, cmd: Command, expired: CommandExpired, done: CommandDone) {
        match self.tx.try_send(Request::Command(cmd, expired, done)) {
            Ok(()) => {}
            Err(TrySendError::Full(Request::Command(_, _, done))) => done(Err(CommandError::Busy)),
            Err(TrySendError::Disconnected(Request::Command(_, _, done))) => done(Err(CommandError::Stopped)),
            Err(_) => {}
        }
    }

    /// Replaces the config (already validated).
    pub fn reload(&self, config: Config) -> Result<ReloadSummary, CommandError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.tx.send(Request::Reload(Box::new(config), tx)).map_err(|_| CommandError::Stopped)?;
        rx.recv().map_err(|_| CommandError::Stopped)
    }

    /// Subscribes to transition events. The first events are the current
    /// state of every backend and frontend with `from == to`; no transition
    /// is lost or duplicated between them and the live stream.
    pub fn subscribe(&self, capacity: usize) -> Result<Subscription, CommandError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.tx.send(Request::Subscribe(capacity, tx)).map_err(|_| CommandError::Stopped)?;
        rx.recv().map_err(|_| CommandError::Stopped)
    }

    /// The last [`events::RECENT`] transitions, newest first.
    pub fn recent_events(&self) -> Vec<Event> {
        self.bus.recent()
    }

    /// Test-only fault (debug builds): the checker loop stops handling
    /// probe outcomes and requests, as if it were stuck; only stopping the
    /// daemon still works.
    #[cfg(debug_assertions)]
    pub fn freeze_for_test(&self) {
        let _ = self.tx.try_send(Request::Freeze);
    }

    /// How many event subscribers are connected.
    pub fn subscriber_count(&self) -> usize {
        self.bus.subscriber_count()
    }
}
