//! The one error type of the stats module.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use nix::errno::Errno;

/// Why a stats-segment operation failed.
///
/// Segment-level errors (`Corrupt`, `Busy`, `Unstable`, `TooSmall`,
/// `BadVersion`) mean the segment as a whole could not be read consistently;
/// entry-level errors (`NotFound`, `WrongType`) concern one query only and
/// appear per query in a [`Snapshot`](super::Snapshot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsError {
    /// A system call on the stats socket or segment failed.
    Os {
        /// What was being done, e.g. `connect to /run/vpp/stats.sock`.
        op: String,
        errno: Errno,
    },
    /// The stats socket answered without passing a file descriptor.
    NoDescriptor { path: PathBuf },
    /// The segment is smaller than the fixed shared header.
    TooSmall { len: usize },
    /// The shared header carries an unsupported layout version.
    BadVersion { found: u64 },
    /// A pointer, length or entry in the segment does not fit the segment.
    Corrupt { what: String },
    /// The writer kept `in_progress` set for longer than the read timeout.
    Busy { waited: Duration },
    /// The epoch kept changing during every attempt until the read timeout.
    Unstable { attempts: u32, waited: Duration },
    /// No directory entry has this name.
    NotFound { name: String },
    /// The entry exists but holds another kind of value.
    WrongType { name: String, expected: &'static str, found: String },
    /// A writer operation was given an argument that does not fit the segment.
    InvalidArgument { what: String },
    /// The writer's heap has no room left for an allocation.
    SegmentFull { needed: usize, size: usize },
}

impl StatsError {
    pub(crate) fn os(op: impl Into<String>, errno: Errno) -> Self {
        StatsError::Os { op: op.into(), errno }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        StatsError::Corrupt { what: what.into() }
    }

    pub(crate) fn invalid(what: impl Into<String>) -> Self {
        StatsError::InvalidArgument { what: what.into() }
    }

    /// True for errors that concern one entry only (the rest of a batch read
    /// is still valid).
    pub fn is_entry_error(&self) -> bool {
        matches!(self, StatsError::NotFound { .. } | StatsError::WrongType { .. })
    }
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatsError::Os { op, errno } => write!(f, "stats: {op}: {errno}"),
            StatsError::NoDescriptor { path } => write!(
                f,
                "stats: {} closed without passing the segment's file descriptor; is it VPP's stats socket?",
                path.display()
            ),
            StatsError::TooSmall { len } => {
                write!(f, "stats: segment of {len} bytes is smaller than the shared header")
            }
            StatsError::BadVersion { found } => {
                write!(f, "stats: segment layout version {found} is not supported (expected 2, VPP >= 22.06)")
            }
            StatsError::Corrupt { what } => write!(f, "stats: corrupt segment: {what}"),
            StatsError::Busy { waited } => {
                write!(f, "stats: segment stayed locked (in_progress) for {waited:?}; VPP may be stuck")
            }
            StatsError::Unstable { attempts, waited } => {
                write!(f, "stats: segment changed during each of {attempts} read attempts in {waited:?}")
            }
            StatsError::NotFound { name } => write!(f, "stats: no entry named {name:?}"),
            StatsError::WrongType { name, expected, found } => {
                write!(f, "stats: entry {name:?} is a {found}, not a {expected}")
            }
            StatsError::InvalidArgument { what } => write!(f, "stats: {what}"),
            StatsError::SegmentFull { needed, size } => write!(
                f,
                "stats: no room for {needed} more bytes in a segment of {size} bytes; use a larger segment"
            ),
        }
    }
}

impl std::error::Error for StatsError {}
