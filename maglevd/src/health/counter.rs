//! HAProxy's single health counter (PRODUCT.md §5.3).

/// Runs from 0 to rise+fall-1; the backend is up iff value >= rise.
///
/// One counter instead of separate pass/fail streaks gives hysteresis for
/// free: a flapping backend oscillates around the rise threshold instead of
/// toggling on every result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCounter {
    value: u32,
    rise: u32,
    fall: u32,
}

impl HealthCounter {
    /// The counter of a backend entering `unknown`: rise-1, so the first
    /// pass makes it up and any failure makes it down.
    pub fn unknown(rise: u32, fall: u32) -> Self {
        let (rise, fall) = (rise.max(1), fall.max(1));
        HealthCounter { value: rise - 1, rise, fall }
    }

    /// A counter at `value` (clamped to 0..=max), e.g. a static backend at
    /// its maximum, or a test fixture.
    pub fn with_value(rise: u32, fall: u32, value: u32) -> Self {
        let mut c = Self::unknown(rise, fall);
        c.value = value.min(c.max());
        c
    }

    /// A pass adds one (capped at max), a failure takes one (floored at 0).
    pub fn record(&mut self, pass: bool) {
        self.value = if pass { (self.value + 1).min(self.max()) } else { self.value.saturating_sub(1) };
    }

    pub fn value(&self) -> u32 {
        self.value
    }

    /// rise + fall - 1.
    pub fn max(&self) -> u32 {
        self.rise.saturating_add(self.fall) - 1
    }

    pub fn rise(&self) -> u32 {
        self.rise
    }

    pub fn fall(&self) -> u32 {
        self.fall
    }

    pub fn is_up(&self) -> bool {
        self.value >= self.rise
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `results` ('P' pass, 'F' fail) and returns is_up after each.
    fn run(counter: &mut HealthCounter, results: &str) -> Vec<bool> {
        results
            .chars()
            .map(|c| {
                counter.record(c == 'P');
                counter.is_up()
            })
            .collect()
    }

    #[test]
    fn unknown_starts_at_rise_minus_one() {
        for (rise, fall) in [(1, 1), (2, 3), (5, 1), (1, 7)] {
            let c = HealthCounter::unknown(rise, fall);
            assert_eq!(c.value(), rise - 1, "rise {rise} fall {fall}");
            assert_eq!(c.max(), rise + fall - 1);
            assert!(!c.is_up());
        }
    }

    #[test]
    fn from_unknown_first_result_decides() {
        for (rise, fall) in [(1, 1), (2, 3), (5, 2), (1, 7)] {
            let mut c = HealthCounter::unknown(rise, fall);
            assert_eq!(run(&mut c, "P"), [true], "rise {rise} fall {fall}: one pass from unknown is up");
            let mut c = HealthCounter::unknown(rise, fall);
            c.record(false);
            assert!(!c.is_up(), "rise {rise} fall {fall}: one failure from unknown is down");
            if rise > 1 {
                assert_eq!(c.value(), rise - 2);
            }
        }
    }

    #[test]
    fn rise2_fall3_sequences() {
        // max = 4; up iff value >= 2.
        let at_max = HealthCounter::with_value(2, 3, 99);
        assert_eq!(at_max.value(), 4);
        assert!(at_max.is_up());

        let mut c = at_max;
        assert_eq!(run(&mut c, "FF"), [true, true], "two failures from max stay up");
        let mut c = at_max;
        assert_eq!(run(&mut c, "FFF"), [true, true, false], "three failures from max go down");
        assert_eq!(c.value(), 1);

        let mut c = HealthCounter::with_value(2, 3, 0);
        assert_eq!(run(&mut c, "PP"), [false, true], "two passes from 0 come up");

        // A failure in between resets progress by one, not to zero.
        let mut c = HealthCounter::with_value(2, 3, 0);
        assert_eq!(run(&mut c, "PFPP"), [false, false, false, true]);

        // Flapping around the threshold from barely up.
        let mut c = HealthCounter::with_value(2, 3, 2);
        assert_eq!(run(&mut c, "FPFP"), [false, true, false, true]);
    }

    #[test]
    fn caps_and_floors() {
        let mut c = HealthCounter::unknown(2, 3);
        run(&mut c, "PPPPPPPPPP");
        assert_eq!(c.value(), c.max());
        run(&mut c, "FFFFFFFFFFFF");
        assert_eq!(c.value(), 0);
        assert!(!c.is_up());
    }

    #[test]
    fn rise1_fall1_follows_each_result() {
        let mut c = HealthCounter::unknown(1, 1);
        assert_eq!(c.max(), 1);
        assert_eq!(run(&mut c, "PFFPPF"), [true, false, false, true, true, false]);
    }

    #[test]
    fn zero_rise_or_fall_is_treated_as_one() {
        let c = HealthCounter::unknown(0, 0);
        assert_eq!((c.rise(), c.fall(), c.value(), c.max()), (1, 1, 0, 1));
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let mut c = HealthCounter::unknown(u32::MAX, u32::MAX);
        assert_eq!(c.max(), u32::MAX - 1);
        c.record(true);
        c.record(true);
        assert_eq!(c.value(), u32::MAX - 1);
    }
}
