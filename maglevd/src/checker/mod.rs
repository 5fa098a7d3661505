//! The checker core: one thread owns all health state.
//!
//! Probe outcomes, operator commands, reloads and subscriptions arrive on
//! one crossbeam channel and are handled in order. After every change the
//! checker publishes a new immutable [`Snapshot`] and sends transition
//! [`Event`]s to subscribers. Nothing else mutates health state.

pub mod events;
pub mod snapshot;

use std::fmt;
use std::sync::Arc;

use crossbeam_channel::Sender;
use parking_lot::RwLock;

use crate::config::Config;

pub use events::{BackendEvent, Event, EventBus, FrontendEvent, Subscription};
pub use snapshot::{BackendSnapshot, FrontendSnapshot, Snapshot, Transition};

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
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::NotFound(what) => write!(f, "{what} not found"),
            CommandError::InvalidArgument(m) | CommandError::FailedPrecondition(m) => f.write_str(m),
            CommandError::Stopped => f.write_str("maglevd is shutting down"),
        }
    }
}

impl std::error::Error for CommandError {}

/// What a reload changed, by backend name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Backends whose address or healthcheck changed (probing restarted).
    pub restarted: Vec<String>,
    pub unchanged: Vec<String>,
}

/// Cheap to clone; everything the rest of the daemon needs from the checker.
#[derive(Clone)]
pub struct CheckerHandle {
    tx: Sender<Request>,
    snapshot: Arc<RwLock<Arc<Snapshot>>>,
    bus: Arc<EventBus>,
}

enum Request {}

impl CheckerHandle {
    /// The current snapshot (never blocks on the checker thread).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().clone()
    }

    /// Applies an operator action; returns when the checker has applied it.
    pub fn command(&self, cmd: Command) -> Result<(), CommandError> {
        let _ = (cmd, &self.tx);
        todo!()
    }

    /// Replaces the config (already validated).
    pub fn reload(&self, config: Config) -> Result<ReloadSummary, CommandError> {
        let _ = config;
        todo!()
    }

    /// Subscribes to transition events. The first events are the current
    /// state of every backend and frontend with `from == to`; no transition
    /// is lost or duplicated between them and the live stream.
    pub fn subscribe(&self, capacity: usize) -> Result<Subscription, CommandError> {
        let _ = (capacity, &self.bus);
        todo!()
    }
}
