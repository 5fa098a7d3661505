//! HAProxy's single health counter (PRODUCT.md §5.3).

use std::fmt;

/// Runs from 0 to max = rise+fall-1; the backend is up iff value >= rise.
///
/// HAProxy's rule (src/check.c, `set_server_check_status`), transition for
/// transition: a failure takes one and drops to 0 once below `rise`; a pass
/// adds one and jumps to max once it reaches `rise`. So the value is in
/// 1..rise-1 only while a down backend is rising, and in rise..max only
/// while an up backend is falling: an up backend needs `fall` consecutive
/// failures to go down, a down one `rise` consecutive passes to come up,
/// and a backend alternating pass/fail keeps its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCounter {
    value: u32,
    rise: u32,
    fall: u32,
}

impl HealthCounter {
    /// The counter of a backend entering `unknown`: rise-1, so the first
    /// pass makes it up (and jumps to max) and the first failure makes it
    /// down (and drops to 0).
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

    /// The same counter under a new rise/fall (a reload): the value is
    /// clamped into the new 0..=max and kept on the same side of `rise`, so
    /// that the reload itself never changes the backend's state; a counter
    /// at full health stays at full health (the new max), so a raised
    /// `fall` does not leave a healthy backend one failure from down.
    pub fn reconfigured(self, rise: u32, fall: u32, up: bool) -> Self {
        let mut c = Self::with_value(rise, fall, self.value);
        if up && self.value == self.max() {
            c.value = c.max();
        } else if up && !c.is_up() {
            c.value = c.rise;
        } else if !up && c.is_up() {
            c.value = c.rise - 1;
        }
        c
    }

    /// Applies one probe result (HAProxy's rule, see the type).
    pub fn record(&mut self, pass: bool) {
        if pass {
            self.value = (self.value + 1).min(self.max());
            if self.value >= self.rise {
                self.value = self.max();
            }
        } else {
            self.value = self.value.saturating_sub(1);
            if self.value < self.rise {
                self.value = 0;
            }
        }
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

    /// The health as HAProxy's stats page shows it, `N/M`: while up,
    /// value-rise+1 of `fall` (the failures it still takes to go down:
    /// `3/3` at full health); otherwise value of `rise` (the passes so far
    /// toward up: `0/2` when fully down).
    pub fn shown(&self) -> (u32, u32) {
        if self.is_up() {
            (self.value - self.rise + 1, self.fall)
        } else {
            (self.value, self.rise)
        }
    }
}

/// HAProxy's `N/M` (see [`HealthCounter::shown`]).
impl fmt::Display for HealthCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, m) = self.shown();
        write!(f, "{n}/{m}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `results` ('P' pass, 'F' fail) and returns (value, is_up)
    /// after each.
    fn run(counter: &mut HealthCounter, results: &str) -> Vec<(u32, bool)> {
        results
            .chars()
            .map(|c| {
                counter.record(c == 'P');
                (counter.value(), counter.is_up())
            })
            .collect()
    }

    fn ups(counter: &mut HealthCounter, results: &str) -> Vec<bool> {
        run(counter, results).into_iter().map(|(_, up)| up).collect()
    }

    /// The whole transition function for rise 2, fall 3 (max 4): every
    /// value, both results. The two jumps: 1 --pass--> 4 (reaching rise
    /// jumps to max) and 2 --fail--> 0 (falling below rise drops to 0).
    #[test]
    fn truth_table_rise2_fall3() {
        let table = [
            // (value, pass -> value, fail -> value)
            (0, 1, 0),
            (1, 4, 0),
            (2, 4, 0),
            (3, 4, 2),
            (4, 4, 3),
        ];
        for (from, on_pass, on_fail) in table {
            let mut c = HealthCounter::with_value(2, 3, from);
            c.record(true);
            assert_eq!(c.value(), on_pass, "{from} + pass");
            let mut c = HealthCounter::with_value(2, 3, from);
            c.record(false);
            assert_eq!(c.value(), on_fail, "{from} + fail");
        }
    }

    /// rise 3, fall 1 (max 3): a single failure from up drops to 0.
    #[test]
    fn truth_table_rise3_fall1() {
        for (from, on_pass, on_fail) in [(0, 1, 0), (1, 2, 0), (2, 3, 0), (3, 3, 0)] {
            let mut c = HealthCounter::with_value(3, 1, from);
            c.record(true);
            assert_eq!(c.value(), on_pass, "{from} + pass");
            let mut c = HealthCounter::with_value(3, 1, from);
            c.record(false);
            assert_eq!(c.value(), on_fail, "{from} + fail");
        }
    }

    /// rise 1, fall 4 (max 4): a single pass from down jumps to max.
    #[test]
    fn truth_table_rise1_fall4() {
        for (from, on_pass, on_fail) in [(0, 4, 0), (1, 4, 0), (2, 4, 1), (3, 4, 2), (4, 4, 3)] {
            let mut c = HealthCounter::with_value(1, 4, from);
            c.record(true);
            assert_eq!(c.value(), on_pass, "{from} + pass");
            let mut c = HealthCounter::with_value(1, 4, from);
            c.record(false);
            assert_eq!(c.value(), on_fail, "{from} + fail");
        }
    }

    #[test]
    fn unknown_starts_at_rise_minus_one_and_the_first_result_decides() {
        for (rise, fall) in [(1, 1), (2, 3), (5, 2), (1, 7), (4, 1)] {
            let c = HealthCounter::unknown(rise, fall);
            assert_eq!(c.value(), rise - 1, "rise {rise} fall {fall}");
            assert_eq!(c.max(), rise + fall - 1);
            assert!(!c.is_up());
            let mut c = HealthCounter::unknown(rise, fall);
            assert_eq!(run(&mut c, "P"), [(c.max(), true)], "rise {rise} fall {fall}: first pass");
            let mut c = HealthCounter::unknown(rise, fall);
            assert_eq!(run(&mut c, "F"), [(0, false)], "rise {rise} fall {fall}: first failure");
        }
    }

    #[test]
    fn up_needs_fall_failures_and_down_needs_rise_passes() {
        for (rise, fall) in [(1, 1), (2, 3), (3, 2), (1, 5), (5, 1), (4, 4)] {
            let mut c = HealthCounter::with_value(rise, fall, u32::MAX);
            let fails = "F".repeat(fall as usize);
            let got = ups(&mut c, &fails);
            assert!(got[..fall as usize - 1].iter().all(|u| *u), "rise {rise} fall {fall}: {got:?}");
            assert!(!got[fall as usize - 1], "rise {rise} fall {fall}: down after {fall} failures");
            assert_eq!(c.value(), 0);
            let passes = "P".repeat(rise as usize);
            let got = ups(&mut c, &passes);
            assert!(got[..rise as usize - 1].iter().all(|u| !*u), "rise {rise} fall {fall}: {got:?}");
            assert!(got[rise as usize - 1], "rise {rise} fall {fall}: up after {rise} passes");
            assert_eq!(c.value(), c.max());
        }
    }

    /// The half-broken backend: alternating results never flap.
    #[test]
    fn alternation_keeps_the_state() {
        for (rise, fall) in [(2, 2), (2, 3), (3, 2), (5, 5)] {
            let mut up = HealthCounter::with_value(rise, fall, u32::MAX);
            assert!(ups(&mut up, &"FP".repeat(20)).iter().all(|u| *u), "rise {rise} fall {fall} stays up");
            let mut down = HealthCounter::with_value(rise, fall, 0);
            assert!(
                ups(&mut down, &"PF".repeat(20)).iter().all(|u| !*u),
                "rise {rise} fall {fall} stays down"
            );
        }
        // With rise 1 or fall 1, one result is enough, so it does follow.
        let mut c = HealthCounter::with_value(1, 1, 1);
        assert_eq!(ups(&mut c, "FPFP"), [false, true, false, true]);
    }

    /// rise-1 passes then a failure go back to 0; fall-1 failures then a
    /// pass go back to max.
    #[test]
    fn a_short_run_is_forgotten() {
        let mut c = HealthCounter::with_value(3, 3, 0);
        assert_eq!(run(&mut c, "PPF"), [(1, false), (2, false), (0, false)]);
        let mut c = HealthCounter::with_value(3, 3, 5);
        assert_eq!(run(&mut c, "FFP"), [(4, true), (3, true), (5, true)]);
    }

    #[test]
    fn shown_is_haproxys_n_of_m() {
        let c = |v| HealthCounter::with_value(2, 3, v);
        assert_eq!(c(4).to_string(), "3/3");
        assert_eq!(c(3).to_string(), "2/3");
        assert_eq!(c(2).to_string(), "1/3");
        assert_eq!(c(1).to_string(), "1/2");
        assert_eq!(c(0).to_string(), "0/2");
        assert_eq!(HealthCounter::unknown(2, 3).to_string(), "1/2");
        assert_eq!(HealthCounter::with_value(1, 1, 1).to_string(), "1/1");
        assert_eq!(HealthCounter::with_value(1, 1, 0).to_string(), "0/1");
    }

    #[test]
    fn reconfigured_clamps_and_keeps_the_state() {
        let up = HealthCounter::with_value(2, 3, 4);
        assert_eq!(up.reconfigured(2, 3, true), up);
        assert_eq!(up.reconfigured(1, 1, true).value(), 1, "clamped to the new max");
        assert_eq!(up.reconfigured(5, 5, true).value(), 9, "full health stays full health");
        let falling = HealthCounter::with_value(2, 3, 3);
        assert_eq!(falling.reconfigured(5, 5, true).value(), 5, "below the new rise: raised to rise");
        assert_eq!(falling.reconfigured(2, 5, true).value(), 3, "in range: kept");
        let down = HealthCounter::with_value(3, 3, 2);
        assert_eq!(down.reconfigured(3, 3, false), down);
        assert_eq!(down.reconfigured(2, 2, false).value(), 1, "at the new rise: kept below it");
        assert_eq!(down.reconfigured(1, 1, false).value(), 0);
        assert!(!HealthCounter::unknown(2, 2).reconfigured(4, 4, false).is_up());
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
        for pass in [true, true, false, false, true] {
            c.record(pass);
            assert!(c.value() <= c.max());
            let _ = c.to_string();
        }
    }
}
