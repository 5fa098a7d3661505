//! Restart neutrality (PRODUCT.md §7.6). After a start every backend is
//! unknown (weight 0), so syncing at once would drain every VIP. Until
//! `startup-min-delay` nothing is written; between min and max a frontend
//! is released as soon as all its backends have a real state; at
//! `startup-max-delay` everything is released. A reload does not restart it.

use std::collections::BTreeSet;
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
        Warmup { started, min, max, released: BTreeSet::new(), finished }
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

    /// When the next phase starts (for timers); `None` when done.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        match self.phase(now) {
            Phase::Holding => Some(self.started + self.min),
            Phase::Releasing => Some(self.started + self.max),
            Phase::Done => None,
        }
    }

    /// May `frontend` be synced now? `ready`: all its backends have a real
    /// state. A released frontend stays released.
    pub fn allows(&mut self, frontend: &str, ready: bool, now: Instant) -> bool {
        match self.phase(now) {
            Phase::Done => true,
            Phase::Holding => false,
            Phase::Releasing => {
                if ready {
                    self.released.insert(frontend.to_string());
                }
                self.released.contains(frontend)
            }
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
    fn min_zero_releases_ready_frontends_at_once() {
        let t0 = Instant::now();
        let mut w = Warmup::new(t0, Duration::ZERO, Duration::from_secs(10));
        assert_eq!(w.phase(t0), Phase::Releasing);
        assert!(w.allows("a", true, t0));
        assert!(!w.allows("b", false, t0));
    }
}
