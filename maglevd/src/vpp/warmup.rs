//! Restart neutrality (PRODUCT.md §7.6). After a start every backend is
//! unknown (weight 0), so syncing at once would drain every VIP. Until
//! `startup-min-delay` nothing is written; between min and max a frontend
//! is released as soon as all its backends have a real state; at
//! `startup-max-delay` everything is released. A reload does not restart it,
//! but a frontend a reload left with unknown backends is held the same way
//! (§5.7): until all its backends have a real state, at most
//! `startup-max-delay` from the reload.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Phase {
    /// Before min: no writes at all.
    #[default]
    Holding,
    /// Between min and max: ready frontends are released one by one.
    Releasing,
    /// After max (or disabled): everything syncs.
    Done,
}

#[derive(Debug, Clone)]
pub struct Warmup {
    started: Instant,
    min: Duration,
    max: Duration,
    released: BTreeSet<String>,
    finished: bool,
    /// Frontends held after a reload, with the deadline of each hold.
    reload_holds: BTreeMap<String, Instant>,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Holding => "holding",
            Phase::Releasing => "releasing",
            Phase::Done => "done",
        }
    }
}

impl Warmup {
    pub fn new(started: Instant, min: Duration, max: Duration) -> Warmup {
        let finished = min.is_zero() && max.is_zero();
        Warmup { started, min, max, released: BTreeSet::new(), finished, reload_holds: BTreeMap::new() }
    }

    pub fn phase(&self, now: Instant) -> Phase {
        let elapsed = now.saturating_duration_since(self.started);
        if self.finished || elapsed >= self.max.max(self.min) {
            Phase::Done
        } else if elapsed < self.min {
            Phase::Holding
        } else {
            Phase::Releasing
        }
    }

    /// Marks the warmup over (called once the final full sync ran).
    pub fn finish(&mut self) {
        self.finished = true;
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// When the next phase starts or the next reload hold ends (for
    /// timers); `None` when there is neither.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let phase = match self.phase(now) {
            Phase::Holding => Some(self.started + self.min),
            Phase::Releasing => Some(self.started + self.max),
            Phase::Done => None,
        };
        let hold = self.reload_holds.values().min().copied();
        match (phase, hold) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Holds `frontends` after a reload made some of their backends
    /// unknown, for at most `startup-max-delay` (nothing when the warmup
    /// is disabled).
    pub fn hold_after_reload(&mut self, frontends: impl IntoIterator<Item = String>, now: Instant) {
        if self.max.is_zero() {
            return;
        }
        for fe in frontends {
            self.reload_holds.insert(fe, now + self.max);
        }
    }

    /// Whether a reload hold covers `frontend` (a full sync leaves its VIP
    /// alone). [`Warmup::allows`] ends the hold once it is ready.
    pub fn is_held_after_reload(&self, frontend: &str) -> bool {
        self.reload_holds.contains_key(frontend)
    }

    /// Ends the reload holds whose deadline passed and returns their
    /// frontends, to sync now whatever their backends' state.
    pub fn expire_holds(&mut self, now: Instant) -> Vec<String> {
        let expired: Vec<String> =
            self.reload_holds.iter().filter(|(_, d)| **d <= now).map(|(f, _)| f.clone()).collect();
        for f in &expired {
            self.reload_holds.remove(f);
        }
        expired
    }

    /// May `frontend` be synced now? `ready`: all its backends have a real
    /// state. A released frontend stays released; a reload hold ends when
    /// the frontend is ready or at its deadline.
    pub fn allows(&mut self, frontend: &str, ready: bool, now: Instant) -> bool {
        let startup = match self.phase(now) {
            Phase::Done => true,
            Phase::Holding => false,
            Phase::Releasing => {
                if ready {
                    self.released.insert(frontend.to_string());
                }
                self.released.contains(frontend)
            }
        };
        if !startup {
            return false;
        }
        match self.reload_holds.get(frontend) {
            Some(deadline) if !ready && now < *deadline => false,
            Some(_) => {
                self.reload_holds.remove(frontend);
                true
            }
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_and_release() {
        let t0 = Instant::now();
        let mut w = Warmup::new(t0, Duration::from_secs(5), Duration::from_secs(30));
        assert_eq!(w.phase(t0), Phase::Holding);
        assert!(!w.allows("web", true, t0 + Duration::from_secs(4)));
        let t = t0 + Duration::from_secs(6);
        assert_eq!(w.phase(t), Phase::Releasing);
        assert!(!w.allows("web", false, t));
        assert!(w.allows("web", true, t));
        // Once released, a backend flapping to unknown does not hold it back.
        assert!(w.allows("web", false, t));
        assert!(!w.allows("other", false, t));
        assert_eq!(w.next_deadline(t), Some(t0 + Duration::from_secs(30)));
        let end = t0 + Duration::from_secs(30);
        assert_eq!(w.phase(end), Phase::Done);
        assert!(w.allows("other", false, end));
        assert_eq!(w.next_deadline(end), None);
    }

    #[test]
    fn zero_delays_disable_it() {
        let t0 = Instant::now();
        let mut w = Warmup::new(t0, Duration::ZERO, Duration::ZERO);
        assert_eq!(w.phase(t0), Phase::Done);
        assert!(w.allows("x", false, t0));
    }

    #[test]
    fn a_reload_holds_until_ready_or_max() {
        let t0 = Instant::now();
        let max = Duration::from_secs(30);
        let mut w = Warmup::new(t0, Duration::ZERO, max);
        w.finish();
        let t = t0 + Duration::from_secs(100);
        assert_eq!(w.next_deadline(t), None);
        w.hold_after_reload(["web".to_string(), "api".to_string()], t);
        assert!(w.is_held_after_reload("web"));
        assert_eq!(w.next_deadline(t), Some(t + max));
        assert!(!w.allows("web", false, t + Duration::from_secs(1)), "held while its backends are unknown");
        assert!(w.allows("other", false, t), "frontends the reload did not touch are not held");
        assert!(w.allows("web", true, t + Duration::from_secs(2)), "released once ready");
        assert!(!w.is_held_after_reload("web"));
        assert!(w.allows("web", false, t + Duration::from_secs(3)), "and stays released");
        assert_eq!(w.expire_holds(t + Duration::from_secs(29)), Vec::<String>::new());
        assert_eq!(w.expire_holds(t + max), ["api"]);
        assert!(w.allows("api", false, t + max));
        assert_eq!(w.next_deadline(t + max), None);
    }

    #[test]
    fn no_reload_hold_when_the_warmup_is_disabled() {
        let t0 = Instant::now();
        let mut w = Warmup::new(t0, Duration::ZERO, Duration::ZERO);
        w.hold_after_reload(["web".to_string()], t0);
        assert!(w.allows("web", false, t0));
    }

    #[test]
    fn min_zero_releases_ready_frontends_at_once() {
        let t0 = Instant::now();
        let mut w = Warmup::new(t0, Duration::ZERO, Duration::from_secs(10));
        assert_eq!(w.phase(t0), Phase::Releasing);
        assert!(w.allows("a", true, t0));
        assert!(!w.allows("b", false, t0));
    }
}
