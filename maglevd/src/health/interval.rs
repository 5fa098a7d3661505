//! Which interval to wait before the next probe (PRODUCT.md §5.4).

use std::time::Duration;

use crate::config::HealthCheck;
use crate::health::{BackendState, HealthCounter};

/// The unjittered interval for the next probe: `interval` while up with the
/// counter at max, `down-interval` while down with the counter at 0,
/// `fast-interval` otherwise (changing, or unknown).
pub fn base_interval(check: &HealthCheck, state: BackendState, counter: &HealthCounter) -> Duration {
    todo!("{check:?} {state} {counter:?}")
}

/// `base` scaled by a random factor in [1 - j, 1 + j] with j = jitter_percent/100.
pub fn jittered(base: Duration, jitter_percent: u8, rng: &mut fastrand::Rng) -> Duration {
    todo!("{base:?} {jitter_percent} {rng:?}")
}

/// The delay before a backend's first probe: uniform in [0, interval).
pub fn initial_delay(interval: Duration, rng: &mut fastrand::Rng) -> Duration {
    todo!("{interval:?} {rng:?}")
}
