//! The immutable view of all health state that readers (gRPC, metrics, the
//! VPP thread) get. The checker publishes a new one after every change and
//! swaps it in; readers never lock the checker. Consecutive snapshots share
//! what did not change: backends through a persistent [`BackendTable`],
//! frontends through one `Arc` that is replaced only when a frontend changed.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use crate::config::{Config, Frontend};
use crate::health::{BackendState, FrontendEval, FrontendState, HealthCounter};
use crate::probe::ProbeResult;

pub use super::table::BackendTable;

#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Increases with every published snapshot.
    pub seq: u64,
    /// The config in force.
    pub config: Arc<Config>,
    pub backends: BackendTable,
    /// Replaced only when a frontend changed; unchanged entries are shared
    /// with the previous snapshot even then.
    pub frontends: Arc<BTreeMap<String, Arc<FrontendSnapshot>>>,
}

#[derive(Debug, Clone)]
pub struct BackendSnapshot {
    pub name: String,
    pub address: IpAddr,
    pub state: BackendState,
    /// The runtime enabled flag (operator enable/disable, else config).
    pub enabled: bool,
    /// Healthcheck name; `None` for a static backend.
    pub healthcheck: Option<String>,
    /// `None` for a static backend.
    pub counter: Option<HealthCounter>,
    pub last_result: Option<ProbeResult>,
    pub last_result_at: Option<SystemTime>,
    /// Newest first, at most `healthchecker.transition-history` entries.
    /// Shared with the checker until the next transition: publishing after
    /// a probe result copies no history.
    pub history: Arc<Vec<Transition>>,
}

/// One backend state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub at: SystemTime,
    pub from: BackendState,
    pub to: BackendState,
    /// A result code (`L4CON`), or the operator action / reload that caused it
    /// (`pause`, `resume`, `enable`, `disable`, `reload`).
    pub code: String,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct FrontendSnapshot {
    pub config: Frontend,
    pub state: FrontendState,
    /// Pools with configured (possibly operator-set) and effective weights.
    pub eval: FrontendEval,
}
