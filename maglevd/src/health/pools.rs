//! Pool failover, effective weights and frontend state (PRODUCT.md §6).
//!
//! Every backend of every pool stays installed in VPP; failover only moves
//! weights. That way a failover is a handful of weight changes, never an
//! AS add/delete that would reshuffle the Maglev table.

use crate::config::Frontend;
use crate::health::{BackendState, FrontendState};

/// The highest weight VPP's lb plugin accepts.
const MAX_WEIGHT: u8 = 100;

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
    pools
        .iter()
        .position(|pool| pool.iter().any(|&(state, weight)| state == BackendState::Up && weight > 0))
        .unwrap_or(0)
}

/// (effective weight, flush) of one backend; `None` when the AS must be
/// deleted (state `Removed`). Weights above 100 are clamped to 100.
pub fn effective_weight(
    state: BackendState,
    in_active_pool: bool,
    configured_weight: u8,
    flush_on_down: bool,
) -> Option<(u8, bool)> {
    match state {
        BackendState::Up if in_active_pool => Some((configured_weight.min(MAX_WEIGHT), false)),
        // Standby: ready to take over without a flush.
        BackendState::Up => Some((0, false)),
        BackendState::Down => Some((0, flush_on_down)),
        BackendState::Disabled => Some((0, true)),
        // No verdict (yet, or frozen by the operator): drain gently.
        BackendState::Unknown | BackendState::Paused => Some((0, false)),
        BackendState::Removed => None,
    }
}

/// `unknown` if no backend has a real state yet (real = up, down or
/// disabled; unknown and paused are not), `up` if any effective weight > 0,
/// else `down`. A frontend without backends is `unknown`.
pub fn frontend_state(backends: &[BackendEval]) -> FrontendState {
    let real = |s: BackendState| matches!(s, BackendState::Up | BackendState::Down | BackendState::Disabled);
    if !backends.iter().any(|b| real(b.state)) {
        FrontendState::Unknown
    } else if backends.iter().any(|b| b.state != BackendState::Removed && b.effective_weight > 0) {
        FrontendState::Up
    } else {
        FrontendState::Down
    }
}

/// Evaluates a whole frontend. `state_of(name)` gives each backend's state,
/// `weight_of(pool_index, name)` its configured (or runtime) pool weight.
pub fn evaluate_frontend(
    frontend: &Frontend,
    state_of: impl Fn(&str) -> BackendState,
    weight_of: impl Fn(usize, &str) -> u8,
) -> FrontendEval {
    let inputs: Vec<Vec<(String, BackendState, u8)>> = frontend
        .pools
        .iter()
        .enumerate()
        .map(|(i, pool)| {
            pool.backends
                .iter()
                .map(|pb| (pb.backend.clone(), state_of(&pb.backend), weight_of(i, &pb.backend)))
                .collect()
        })
        .collect();
    let summary: Vec<Vec<(BackendState, u8)>> =
        inputs.iter().map(|pool| pool.iter().map(|&(_, s, w)| (s, w)).collect()).collect();
    let active = active_pool(&summary);
    let pools: Vec<Vec<BackendEval>> = inputs
        .into_iter()
        .enumerate()
        .map(|(i, pool)| {
            pool.into_iter()
                .map(|(backend, state, configured_weight)| {
                    let (effective_weight, flush) =
                        effective_weight(state, i == active, configured_weight, frontend.flush_on_down)
                            .unwrap_or((0, true));
                    BackendEval { backend, state, configured_weight, effective_weight, flush }
                })
                .collect()
        })
        .collect();
    let all: Vec<BackendEval> = pools.iter().flatten().cloned().collect();
    FrontendEval { active_pool: active, state: frontend_state(&all), pools }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::IpAddr;

    use super::*;
    use crate::config::{Pool, PoolBackend, Protocol};
    use BackendState::*;

    /// (state, in active pool, flush-on-down, expected outcome).
    type TruthRow = (BackendState, bool, bool, Option<([u8; 4], bool)>);
    /// Pools as (state, weight) lists, and the expected active pool.
    type PoolCase<'a> = (&'a [&'a [(BackendState, u8)]], usize);

    /// The configured weights every row is tried with (150 must clamp).
    const WEIGHTS: [u8; 4] = [0, 50, 100, 150];

    /// §6's truth table, one row per (state, in active pool, flush-on-down):
    /// the effective weight for each of `WEIGHTS` and the flush flag;
    /// `None` means the AS is deleted.
    #[rustfmt::skip]
    const TRUTH_TABLE: [TruthRow; 24] = [
        // state    active  f-o-d   weights for 0/50/100/150   flush
        (Up,        true,   true,   Some(([0, 50, 100, 100],   false))),
        (Up,        true,   false,  Some(([0, 50, 100, 100],   false))),
        (Up,        false,  true,   Some(([0, 0, 0, 0],        false))),
        (Up,        false,  false,  Some(([0, 0, 0, 0],        false))),
        (Down,      true,   true,   Some(([0, 0, 0, 0],        true))),
        (Down,      true,   false,  Some(([0, 0, 0, 0],        false))),
        (Down,      false,  true,   Some(([0, 0, 0, 0],        true))),
        (Down,      false,  false,  Some(([0, 0, 0, 0],        false))),
        (Disabled,  true,   true,   Some(([0, 0, 0, 0],        true))),
        (Disabled,  true,   false,  Some(([0, 0, 0, 0],        true))),
        (Disabled,  false,  true,   Some(([0, 0, 0, 0],        true))),
        (Disabled,  false,  false,  Some(([0, 0, 0, 0],        true))),
        (Unknown,   true,   true,   Some(([0, 0, 0, 0],        false))),
        (Unknown,   true,   false,  Some(([0, 0, 0, 0],        false))),
        (Unknown,   false,  true,   Some(([0, 0, 0, 0],        false))),
        (Unknown,   false,  false,  Some(([0, 0, 0, 0],        false))),
        (Paused,    true,   true,   Some(([0, 0, 0, 0],        false))),
        (Paused,    true,   false,  Some(([0, 0, 0, 0],        false))),
        (Paused,    false,  true,   Some(([0, 0, 0, 0],        false))),
        (Paused,    false,  false,  Some(([0, 0, 0, 0],        false))),
        (Removed,   true,   true,   None),
        (Removed,   true,   false,  None),
        (Removed,   false,  true,   None),
        (Removed,   false,  false,  None),
    ];

    #[test]
    fn effective_weight_truth_table() {
        for (state, active, flush_on_down, want) in TRUTH_TABLE {
            for (i, w) in WEIGHTS.into_iter().enumerate() {
                assert_eq!(
                    effective_weight(state, active, w, flush_on_down),
                    want.map(|(weights, flush)| (weights[i], flush)),
                    "state {state} active {active} flush_on_down {flush_on_down} weight {w}"
                );
            }
        }
        // The table covers every combination exactly once.
        for state in BackendState::ALL {
            for active in [true, false] {
                for fod in [true, false] {
                    let n = TRUTH_TABLE.iter().filter(|r| (r.0, r.1, r.2) == (state, active, fod)).count();
                    assert_eq!(n, 1, "rows for {state} {active} {fod}");
                }
            }
        }
    }

    #[test]
    fn effective_weight_spot_checks() {
        // Written out so that the table above cannot hide a shared mistake.
        assert_eq!(effective_weight(Up, true, 150, true), Some((100, false)));
        assert_eq!(effective_weight(Up, true, 50, false), Some((50, false)));
        assert_eq!(effective_weight(Up, true, 0, true), Some((0, false)));
        assert_eq!(effective_weight(Up, false, 100, true), Some((0, false)));
        assert_eq!(effective_weight(Down, true, 100, true), Some((0, true)));
        assert_eq!(effective_weight(Down, true, 100, false), Some((0, false)));
        assert_eq!(effective_weight(Disabled, false, 100, false), Some((0, true)));
        assert_eq!(effective_weight(Unknown, true, 100, true), Some((0, false)));
        assert_eq!(effective_weight(Paused, true, 100, true), Some((0, false)));
        assert_eq!(effective_weight(Removed, true, 100, true), None);
    }

    #[test]
    fn active_pool_selection() {
        let cases: &[PoolCase] = &[
            // Primary healthy.
            (&[&[(Up, 100)], &[(Up, 100)]], 0),
            // Primary all down -> fallback.
            (&[&[(Down, 100), (Down, 100)], &[(Up, 100)]], 1),
            // Primary up but weight 0 -> fallback.
            (&[&[(Up, 0)], &[(Up, 100)]], 1),
            // Nothing up anywhere -> pool 0.
            (&[&[(Down, 100)], &[(Down, 100)], &[(Unknown, 100)]], 0),
            // Up only with weight 0 everywhere -> pool 0.
            (&[&[(Up, 0)], &[(Up, 0)]], 0),
            // Third tier.
            (&[&[(Disabled, 100)], &[(Paused, 100), (Unknown, 100)], &[(Down, 100), (Up, 1)]], 2),
            // One up backend is enough, even among down ones.
            (&[&[(Down, 100), (Up, 30), (Removed, 100)], &[(Up, 100)]], 0),
            // Removed backends do not keep a pool active.
            (&[&[(Removed, 100)], &[(Up, 100)]], 1),
            // Empty pools are skipped; no pools at all -> 0.
            (&[&[], &[(Up, 100)]], 1),
            (&[], 0),
        ];
        for (pools, want) in cases {
            let pools: Vec<Vec<(BackendState, u8)>> = pools.iter().map(|p| p.to_vec()).collect();
            assert_eq!(active_pool(&pools), *want, "pools {pools:?}");
        }
    }

    fn eval(backend: &str, state: BackendState, effective_weight: u8) -> BackendEval {
        BackendEval { backend: backend.into(), state, configured_weight: 100, effective_weight, flush: false }
    }

    #[test]
    fn frontend_state_rules() {
        assert_eq!(frontend_state(&[]), FrontendState::Unknown);
        assert_eq!(frontend_state(&[eval("a", Unknown, 0), eval("b", Paused, 0)]), FrontendState::Unknown);
        assert_eq!(frontend_state(&[eval("a", Unknown, 0), eval("b", Down, 0)]), FrontendState::Down);
        assert_eq!(frontend_state(&[eval("a", Disabled, 0)]), FrontendState::Down);
        assert_eq!(
            frontend_state(&[eval("a", Up, 0)]),
            FrontendState::Down,
            "up with weight 0 carries nothing"
        );
        assert_eq!(frontend_state(&[eval("a", Down, 0), eval("b", Up, 100)]), FrontendState::Up);
        assert_eq!(frontend_state(&[eval("a", Removed, 100)]), FrontendState::Unknown);
        assert_eq!(frontend_state(&[eval("a", Removed, 100), eval("b", Down, 0)]), FrontendState::Down);
    }

    fn frontend(pools: &[(&str, &[(&str, u8)])], flush_on_down: bool) -> Frontend {
        Frontend {
            name: "web4".into(),
            description: String::new(),
            address: IpAddr::from([192, 0, 2, 1]),
            prefix_len: 32,
            protocol: Protocol::Tcp,
            port: 80,
            src_ip_sticky: false,
            flush_on_down,
            pools: pools
                .iter()
                .map(|(name, backends)| Pool {
                    name: name.to_string(),
                    backends: backends
                        .iter()
                        .map(|(b, w)| PoolBackend { backend: b.to_string(), weight: *w })
                        .collect(),
                })
                .collect(),
        }
    }

    /// Evaluates `fe` with the given states (absent = unknown) and the
    /// configured weights; returns (active pool, state, [(backend, weight, flush)]).
    fn run(
        fe: &Frontend,
        states: &[(&str, BackendState)],
    ) -> (usize, FrontendState, Vec<(String, u8, bool)>) {
        let states: HashMap<&str, BackendState> = states.iter().copied().collect();
        let ev = evaluate_frontend(
            fe,
            |name| states.get(name).copied().unwrap_or(Unknown),
            |pool, name| fe.pools[pool].backends.iter().find(|b| b.backend == name).map_or(0, |b| b.weight),
        );
        let flat =
            ev.pools.iter().flatten().map(|b| (b.backend.clone(), b.effective_weight, b.flush)).collect();
        (ev.active_pool, ev.state, flat)
    }

    fn w(list: &[(&str, u8, bool)]) -> Vec<(String, u8, bool)> {
        list.iter().map(|(b, w, f)| (b.to_string(), *w, *f)).collect()
    }

    #[test]
    fn failover_scenarios() {
        let fe = frontend(&[("primary", &[("p1", 100), ("p2", 50)]), ("fallback", &[("f1", 100)])], true);

        // All unknown at start: pool 0, nothing carries traffic, state unknown.
        assert_eq!(
            run(&fe, &[]),
            (0, FrontendState::Unknown, w(&[("p1", 0, false), ("p2", 0, false), ("f1", 0, false)]))
        );
        // Primary healthy: fallback on standby with weight 0, no flush.
        assert_eq!(
            run(&fe, &[("p1", Up), ("p2", Up), ("f1", Up)]),
            (0, FrontendState::Up, w(&[("p1", 100, false), ("p2", 50, false), ("f1", 0, false)]))
        );
        // One primary down: the other keeps the pool active; the down one is flushed.
        assert_eq!(
            run(&fe, &[("p1", Down), ("p2", Up), ("f1", Up)]),
            (0, FrontendState::Up, w(&[("p1", 0, true), ("p2", 50, false), ("f1", 0, false)]))
        );
        // Primary all down -> fallback.
        assert_eq!(
            run(&fe, &[("p1", Down), ("p2", Down), ("f1", Up)]),
            (1, FrontendState::Up, w(&[("p1", 0, true), ("p2", 0, true), ("f1", 100, false)]))
        );
        // Primary disabled and paused -> fallback; disabled always flushes.
        assert_eq!(
            run(&fe, &[("p1", Disabled), ("p2", Paused), ("f1", Up)]),
            (1, FrontendState::Up, w(&[("p1", 0, true), ("p2", 0, false), ("f1", 100, false)]))
        );
        // Nothing up: pool 0, frontend down.
        assert_eq!(
            run(&fe, &[("p1", Down), ("p2", Down), ("f1", Down)]),
            (0, FrontendState::Down, w(&[("p1", 0, true), ("p2", 0, true), ("f1", 0, true)]))
        );

        // Primary up with weight 0 -> fallback.
        let fe0 = frontend(&[("primary", &[("p1", 0)]), ("fallback", &[("f1", 100)])], true);
        assert_eq!(
            run(&fe0, &[("p1", Up), ("f1", Up)]),
            (1, FrontendState::Up, w(&[("p1", 0, false), ("f1", 100, false)]))
        );
        // ... and with the fallback down too: pool 0, frontend down.
        assert_eq!(
            run(&fe0, &[("p1", Up), ("f1", Down)]),
            (0, FrontendState::Down, w(&[("p1", 0, false), ("f1", 0, true)]))
        );
    }

    #[test]
    fn flush_on_down_false_never_flushes_down_backends() {
        let fe = frontend(&[("primary", &[("p1", 100)]), ("fallback", &[("f1", 100)])], false);
        assert_eq!(
            run(&fe, &[("p1", Down), ("f1", Up)]),
            (1, FrontendState::Up, w(&[("p1", 0, false), ("f1", 100, false)]))
        );
        assert_eq!(run(&fe, &[("p1", Disabled), ("f1", Up)]).2, w(&[("p1", 0, true), ("f1", 100, false)]));
    }

    #[test]
    fn runtime_weights_and_clamping_come_from_weight_of() {
        let fe = frontend(&[("primary", &[("p1", 100), ("p2", 100)])], true);
        let ev = evaluate_frontend(&fe, |_| Up, |_, name| if name == "p1" { 150 } else { 0 });
        assert_eq!(ev.pools[0][0].configured_weight, 150);
        assert_eq!(ev.pools[0][0].effective_weight, 100);
        assert_eq!(ev.pools[0][1].effective_weight, 0);
        assert_eq!(ev.state, FrontendState::Up);
    }

    #[test]
    fn removed_backend_evaluates_to_zero_with_flush() {
        let fe = frontend(&[("primary", &[("p1", 100), ("p2", 100)])], false);
        let (active, state, list) = run(&fe, &[("p1", Removed), ("p2", Up)]);
        assert_eq!((active, state), (0, FrontendState::Up));
        assert_eq!(list, w(&[("p1", 0, true), ("p2", 100, false)]));
    }

    #[test]
    fn frontend_without_backends_is_unknown() {
        let fe = frontend(&[("primary", &[])], true);
        assert_eq!(run(&fe, &[]), (0, FrontendState::Unknown, vec![]));
    }
}
