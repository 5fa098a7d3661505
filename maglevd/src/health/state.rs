//! Backend and frontend states (PRODUCT.md §5.2, §6).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BackendState {
    /// New, resumed or re-enabled: no verdict yet.
    Unknown,
    Up,
    Down,
    /// Operator: no probes are sent at all; the state is frozen.
    Paused,
    /// Operator: no probes, weight 0 with flush.
    Disabled,
    /// Dropped by a reload.
    Removed,
}

impl BackendState {
    pub const ALL: [BackendState; 6] = [
        BackendState::Unknown,
        BackendState::Up,
        BackendState::Down,
        BackendState::Paused,
        BackendState::Disabled,
        BackendState::Removed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BackendState::Unknown => "unknown",
            BackendState::Up => "up",
            BackendState::Down => "down",
            BackendState::Paused => "paused",
            BackendState::Disabled => "disabled",
            BackendState::Removed => "removed",
        }
    }

    /// Inactive states discard probe results (§5.2).
    pub fn is_active(self) -> bool {
        matches!(self, BackendState::Unknown | BackendState::Up | BackendState::Down)
    }
}

impl fmt::Display for BackendState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrontendState {
    /// No backend has a real state yet.
    Unknown,
    /// At least one backend has an effective weight > 0.
    Up,
    Down,
}

impl FrontendState {
    pub const ALL: [FrontendState; 3] = [FrontendState::Unknown, FrontendState::Up, FrontendState::Down];

    pub fn as_str(self) -> &'static str {
        match self {
            FrontendState::Unknown => "unknown",
            FrontendState::Up => "up",
            FrontendState::Down => "down",
        }
    }
}

impl fmt::Display for FrontendState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
