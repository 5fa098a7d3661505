//! Backend and frontend state, computed from the checker's snapshot at
//! every scrape (PRODUCT.md §9). Reading the snapshot never waits for the
//! checker thread, and a scrape always shows one consistent snapshot.

use std::sync::Arc;

use parking_lot::RwLock;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;

use crate::checker::{CheckerHandle, Snapshot};
use crate::health::{BackendState, FrontendState};

use super::family::{desc, Family};

const BACKEND_STATE: (&str, &str) =
    ("maglev_backend_state", "Backend state: 1 for the current state, 0 for the others.");
const BACKEND_HEALTH: (&str, &str) = (
    "maglev_backend_health",
    "HAProxy's check health N of N/M: while up, the failures it still takes to go down (fall at full \
     health); otherwise the passes so far toward rise. Absent for static backends.",
);
const BACKEND_ENABLED: (&str, &str) =
    ("maglev_backend_enabled", "1 if the backend is enabled (runtime operator choice, else config).");
const FRONTEND_STATE: (&str, &str) =
    ("maglev_frontend_state", "Frontend state: 1 for the current state, 0 for the others.");
const POOL_WEIGHT: (&str, &str) = (
    "maglev_frontend_pool_backend_weight",
    "Configured weight of a backend in a frontend's pool (the operator's runtime weight when set).",
);
const POOL_EFFECTIVE_WEIGHT: (&str, &str) = (
    "maglev_frontend_pool_backend_effective_weight",
    "Effective weight of a backend in a frontend's pool: what VPP is given.",
);

const L_BACKEND: &[&str] = &["backend"];
const L_BACKEND_STATE: &[&str] = &["backend", "state"];
const L_FRONTEND_STATE: &[&str] = &["frontend", "state"];
const L_POOL: &[&str] = &["frontend", "pool", "backend"];

/// Where the snapshot comes from: attached once the checker runs (the
/// metrics exist before it, because they are its observer).
pub(super) type SnapshotSlot = Arc<RwLock<Option<CheckerHandle>>>;

pub(super) struct HealthCollector {
    source: SnapshotSlot,
    descs: Vec<Desc>,
}

impl HealthCollector {
    pub fn new(source: SnapshotSlot) -> Self {
        let descs = vec![
            desc(BACKEND_STATE.0, BACKEND_STATE.1, L_BACKEND_STATE),
            desc(BACKEND_HEALTH.0, BACKEND_HEALTH.1, L_BACKEND),
            desc(BACKEND_ENABLED.0, BACKEND_ENABLED.1, L_BACKEND),
            desc(FRONTEND_STATE.0, FRONTEND_STATE.1, L_FRONTEND_STATE),
            desc(POOL_WEIGHT.0, POOL_WEIGHT.1, L_POOL),
            desc(POOL_EFFECTIVE_WEIGHT.0, POOL_EFFECTIVE_WEIGHT.1, L_POOL),
        ];
        HealthCollector { source, descs }
    }
}

impl Collector for HealthCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        // Clone the handle out so the slot's lock is not held while encoding.
        let handle = self.source.read().clone();
        match handle {
            Some(h) => families(&h.snapshot()),
            None => Vec::new(),
        }
    }
}

/// Every scrape-time health family of `snap`.
pub(super) fn families(snap: &Snapshot) -> Vec<MetricFamily> {
    let mut state = Family::gauge(BACKEND_STATE.0, BACKEND_STATE.1, L_BACKEND_STATE);
    let mut health = Family::gauge(BACKEND_HEALTH.0, BACKEND_HEALTH.1, L_BACKEND);
    let mut enabled = Family::gauge(BACKEND_ENABLED.0, BACKEND_ENABLED.1, L_BACKEND);
    for (name, b) in &snap.backends {
        for s in BackendState::ALL {
            state.add(&[name, s.as_str()], f64::from(u8::from(s == b.state)));
        }
        if let Some(c) = &b.counter {
            health.add(&[name], f64::from(c.shown().0));
        }
        enabled.add(&[name], f64::from(u8::from(b.enabled)));
    }

    let mut fstate = Family::gauge(FRONTEND_STATE.0, FRONTEND_STATE.1, L_FRONTEND_STATE);
    let mut weight = Family::gauge(POOL_WEIGHT.0, POOL_WEIGHT.1, L_POOL);
    let mut effective = Family::gauge(POOL_EFFECTIVE_WEIGHT.0, POOL_EFFECTIVE_WEIGHT.1, L_POOL);
    for (name, f) in snap.frontends.iter() {
        for s in FrontendState::ALL {
            fstate.add(&[name, s.as_str()], f64::from(u8::from(s == f.state)));
        }
        // `eval.pools` has the shape of `config.pools`; zip keeps a
        // mismatch from panicking (it would only drop series).
        for (pool, evals) in f.config.pools.iter().zip(&f.eval.pools) {
            for e in evals {
                weight.add(&[name, &pool.name, &e.backend], f64::from(e.configured_weight));
                effective.add(&[name, &pool.name, &e.backend], f64::from(e.effective_weight));
            }
        }
    }
    vec![
        state.finish(),
        health.finish(),
        enabled.finish(),
        fstate.finish(),
        weight.finish(),
        effective.finish(),
    ]
}
