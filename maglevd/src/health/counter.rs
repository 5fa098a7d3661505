//! HAProxy's single health counter (PRODUCT.md §5.3).

/// Runs from 0 to rise+fall-1; the backend is up iff value >= rise.
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
        todo!("{rise} {fall}")
    }

    /// A pass adds one (capped at max), a failure takes one (floored at 0).
    pub fn record(&mut self, pass: bool) {
        todo!("{pass}")
    }

    pub fn value(&self) -> u32 {
        self.value
    }

    /// rise + fall - 1.
    pub fn max(&self) -> u32 {
        todo!()
    }

    pub fn rise(&self) -> u32 {
        self.rise
    }

    pub fn fall(&self) -> u32 {
        self.fall
    }

    pub fn is_up(&self) -> bool {
        todo!()
    }
}
