//! Backend and frontend state, computed from the checker's snapshot at
//! every scrape (PRODUCT.md §9) and written straight into the output.
//! Reading the snapshot never waits for the checker thread, and a scrape
//! always shows one consistent snapshot.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::checker::{CheckerHandle, Snapshot};
use crate::health::{BackendState, FrontendState};

use super::text::{labels, Text};

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

/// Where the snapshot comes from: attached once the checker runs (the
/// metrics exist before it, because they are its observer).
pub(super) type SnapshotSlot = Arc<RwLock<Option<CheckerHandle>>>;

/// Writes every health family of the attached checker's snapshot; nothing
/// before a checker is attached.
pub(super) fn write(source: &SnapshotSlot, t: &mut Text<'_>) {
    // Clone the handle out so the slot's lock is not held while writing.
    let handle = source.read().clone();
    if let Some(h) = handle {
        write_snapshot(&h.snapshot(), t);
    }
}

/// Every scrape-time health family of `snap`.
pub(super) fn write_snapshot(snap: &Snapshot, t: &mut Text<'_>) {
    if snap.backends.is_empty() && snap.frontends.is_empty() {
        return;
    }
    // Each backend's label set serves its eight lines.
    let backend_labels: Vec<String> = snap.backends.keys().map(|name| labels(&[("backend", name)])).collect();
    t.family(BACKEND_STATE.0, BACKEND_STATE.1, "gauge");
    for (l, b) in backend_labels.iter().zip(snap.backends.values()) {
        for s in BackendState::ALL {
            t.sample(BACKEND_STATE.0, l, &[("state", s.as_str())], f64::from(u8::from(s == b.state)));
        }
    }
    if snap.backends.values().any(|b| b.counter.is_some()) {
        t.family(BACKEND_HEALTH.0, BACKEND_HEALTH.1, "gauge");
        for (l, b) in backend_labels.iter().zip(snap.backends.values()) {
            if let Some(c) = &b.counter {
                t.sample(BACKEND_HEALTH.0, l, &[], f64::from(c.shown().0));
            }
        }
    }
    t.family(BACKEND_ENABLED.0, BACKEND_ENABLED.1, "gauge");
    for (l, b) in backend_labels.iter().zip(snap.backends.values()) {
        t.sample(BACKEND_ENABLED.0, l, &[], f64::from(u8::from(b.enabled)));
    }

    if snap.frontends.is_empty() {
        return;
    }
    t.family(FRONTEND_STATE.0, FRONTEND_STATE.1, "gauge");
    for (name, f) in snap.frontends.iter() {
        let l = labels(&[("frontend", name)]);
        for s in FrontendState::ALL {
            t.sample(FRONTEND_STATE.0, &l, &[("state", s.as_str())], f64::from(u8::from(s == f.state)));
        }
    }
    // `eval.pools` has the shape of `config.pools`; zip keeps a mismatch
    // from panicking (it would only drop series).
    let pool_labels: Vec<(String, f64, f64)> = snap
        .frontends
        .iter()
        .flat_map(|(name, f)| {
            f.config.pools.iter().zip(&f.eval.pools).flat_map(move |(pool, evals)| {
                evals.iter().map(move |e| {
                    (
                        labels(&[("frontend", name), ("pool", &pool.name), ("backend", &e.backend)]),
                        f64::from(e.configured_weight),
                        f64::from(e.effective_weight),
                    )
                })
            })
        })
        .collect();
    if pool_labels.is_empty() {
        return;
    }
    t.family(POOL_WEIGHT.0, POOL_WEIGHT.1, "gauge");
    for (l, configured, _) in &pool_labels {
        t.sample(POOL_WEIGHT.0, l, &[], *configured);
    }
    t.family(POOL_EFFECTIVE_WEIGHT.0, POOL_EFFECTIVE_WEIGHT.1, "gauge");
    for (l, _, effective) in &pool_labels {
        t.sample(POOL_EFFECTIVE_WEIGHT.0, l, &[], *effective);
    }
}
