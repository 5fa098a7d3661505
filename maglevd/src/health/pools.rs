//! Pool failover, effective weights and frontend state (PRODUCT.md §6).

use crate::config::Frontend;
use crate::health::{BackendState, FrontendState};

/// One backend of one pool of a frontend, evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendEval {
    pub backend: String,
    pub state: BackendState,
    /// The pool weight (configured, or the operator's runtime override).
    pub configured_weight: u8,
    /// What VPP gets (0..=100). Meaningless when `state == Removed`.
    pub effective_weight: u8,
    /// Whether setting the effective weight must flush the AS's flows.
    pub flush: bool,
}

/// A frontend evaluated against the current backend states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendEval {
    /// Index of the active pool (first with an up backend of weight > 0; 0 if none).
    pub active_pool: usize,
    pub state: FrontendState,
    /// Same shape as `Frontend::pools`.
    pub pools: Vec<Vec<BackendEval>>,
}

/// Index of the first pool with a backend that is up with weight > 0, else 0.
/// `pools[i]` lists (state, configured weight) of pool i's backends.
pub fn active_pool(pools: &[Vec<(BackendState, u8)>]) -> usize {
    todo!("{pools:?}")
}

/// (effective weight, flush) of one backend; `None` when the AS must be
/// deleted (state `Removed`). Weights above 100 are clamped to 100.
pub fn effective_weight(
    state: BackendState,
    in_active_pool: bool,
    configured_weight: u8,
    flush_on_down: bool,
) -> Option<(u8, bool)> {
    todo!("{state} {in_active_pool} {configured_weight} {flush_on_down}")
}

/// `unknown` if no backend has a real state yet (real = up, down or
/// disabled; unknown and paused are not), `up` if any effective weight > 0,
/// else `down`. A frontend without backends is `unknown`.
pub fn frontend_state(backends: &[BackendEval]) -> FrontendState {
    todo!("{backends:?}")
}

/// Evaluates a whole frontend. `state_of(name)` gives each backend's state,
/// `weight_of(pool_index, name)` its configured (or runtime) pool weight.
pub fn evaluate_frontend(
    frontend: &Frontend,
    state_of: impl Fn(&str) -> BackendState,
    weight_of: impl Fn(usize, &str) -> u8,
) -> FrontendEval {
    todo!("{frontend:?} {} {}", state_of(""), weight_of(0, ""))
}
