//! Which interval to wait before the next probe (PRODUCT.md §5.4).

use std::time::Duration;

use crate::config::HealthCheck;
use crate::health::{BackendState, HealthCounter};

/// No probe is ever scheduled sooner than this after the previous one,
/// whatever the jitter does to a tiny interval.
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// The unjittered interval for the next probe: `interval` while up with the
/// counter at max, `down-interval` while down with the counter at 0,
/// `fast-interval` otherwise (changing, or unknown).
///
/// Paused, disabled and removed backends are never probed; they get
/// `interval` so that callers need no special case.
pub fn base_interval(check: &HealthCheck, state: BackendState, counter: &HealthCounter) -> Duration {
    match state {
        BackendState::Up if counter.value() == counter.max() => check.interval,
        BackendState::Down if counter.value() == 0 => check.down_interval,
        BackendState::Up | BackendState::Down | BackendState::Unknown => check.fast_interval,
        BackendState::Paused | BackendState::Disabled | BackendState::Removed => check.interval,
    }
}

/// `base` scaled by a random factor in [1 - j, 1 + j] with j = jitter_percent/100,
/// never below `MIN_INTERVAL`.
pub fn jittered(base: Duration, jitter_percent: u8, rng: &mut fastrand::Rng) -> Duration {
    let j = f64::from(jitter_percent.min(100)) / 100.0;
    let factor = 1.0 - j + 2.0 * j * rng.f64();
    // from_secs_f64 cannot fail here: factor is in [0, 2] and base is a
    // configured interval, far from Duration::MAX.
    let scaled = Duration::try_from_secs_f64(base.as_secs_f64() * factor).unwrap_or(base);
    scaled.max(MIN_INTERVAL)
}

/// The delay before a backend's first probe: uniform in [0, interval).
pub fn initial_delay(interval: Duration, rng: &mut fastrand::Rng) -> Duration {
    let nanos = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(rng.u64(0..nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProbeSpec;

    fn check() -> HealthCheck {
        HealthCheck {
            name: "t".into(),
            probe: ProbeSpec::Tcp { port: 80 },
            interval: Duration::from_secs(2),
            fast_interval: Duration::from_secs(1),
            down_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
            rise: 2,
            fall: 3,
            jitter_percent: 10,
            netns: None,
            source_ipv4: None,
            source_ipv6: None,
        }
    }

    #[test]
    fn interval_per_state_and_counter() {
        let hc = check();
        let (normal, fast, down) = (hc.interval, hc.fast_interval, hc.down_interval);
        // rise 2, fall 3: counter 0..=4.
        let c = |v| HealthCounter::with_value(2, 3, v);
        let table: &[(BackendState, u32, Duration)] = &[
            (BackendState::Up, 4, normal),
            (BackendState::Up, 3, fast),
            (BackendState::Up, 2, fast),
            (BackendState::Down, 0, down),
            (BackendState::Down, 1, fast),
            (BackendState::Unknown, 1, fast),
            (BackendState::Unknown, 0, fast),
            (BackendState::Unknown, 4, fast),
            (BackendState::Paused, 4, normal),
            (BackendState::Paused, 0, normal),
            (BackendState::Disabled, 1, normal),
            (BackendState::Removed, 0, normal),
        ];
        for &(state, value, want) in table {
            assert_eq!(base_interval(&hc, state, &c(value)), want, "state {state} counter {value}");
        }
    }

    #[test]
    fn rise1_fall1_extremes() {
        // Counter 0..=1: up is always at max, down always at 0.
        let hc = check();
        assert_eq!(base_interval(&hc, BackendState::Up, &HealthCounter::with_value(1, 1, 1)), hc.interval);
        assert_eq!(
            base_interval(&hc, BackendState::Down, &HealthCounter::with_value(1, 1, 0)),
            hc.down_interval
        );
        assert_eq!(
            base_interval(&hc, BackendState::Unknown, &HealthCounter::unknown(1, 1)),
            hc.fast_interval
        );
    }

    #[test]
    fn jitter_stays_in_bounds_and_spreads() {
        let mut rng = fastrand::Rng::with_seed(7);
        let base = Duration::from_secs(2);
        for pct in [0u8, 1, 10, 25, 50] {
            let j = f64::from(pct) / 100.0;
            let lo = base.mul_f64(1.0 - j);
            let hi = base.mul_f64(1.0 + j);
            let (mut min, mut max) = (Duration::MAX, Duration::ZERO);
            for _ in 0..10_000 {
                let d = jittered(base, pct, &mut rng);
                assert!(d >= lo && d <= hi, "jitter {pct}%: {d:?} outside [{lo:?}, {hi:?}]");
                min = min.min(d);
                max = max.max(d);
            }
            if pct == 0 {
                assert_eq!((min, max), (base, base));
            } else {
                // 10k uniform samples cover all but a sliver of the range.
                let span = (hi - lo).as_secs_f64();
                assert!((min - lo).as_secs_f64() < span * 0.01, "jitter {pct}%: min {min:?} far from {lo:?}");
                assert!((hi - max).as_secs_f64() < span * 0.01, "jitter {pct}%: max {max:?} far from {hi:?}");
            }
        }
    }

    #[test]
    fn jitter_never_below_one_millisecond() {
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..1000 {
            assert!(jittered(Duration::from_micros(1500), 50, &mut rng) >= MIN_INTERVAL);
        }
        assert_eq!(jittered(Duration::ZERO, 10, &mut rng), MIN_INTERVAL);
        // Out-of-range jitter cannot make the factor negative.
        assert!(jittered(Duration::from_secs(1), 255, &mut rng) <= Duration::from_secs(2));
    }

    #[test]
    fn initial_delay_is_within_one_interval() {
        let mut rng = fastrand::Rng::with_seed(3);
        let interval = Duration::from_secs(2);
        let mut max = Duration::ZERO;
        let mut min = Duration::MAX;
        for _ in 0..10_000 {
            let d = initial_delay(interval, &mut rng);
            assert!(d < interval, "{d:?} >= {interval:?}");
            min = min.min(d);
            max = max.max(d);
        }
        assert!(min < Duration::from_millis(20), "min {min:?}: delays do not start near 0");
        assert!(max > Duration::from_millis(1980), "max {max:?}: delays do not reach the interval");
        assert_eq!(initial_delay(Duration::ZERO, &mut rng), Duration::ZERO);
    }
}
