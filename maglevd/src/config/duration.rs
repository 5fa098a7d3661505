//! Go-style duration strings (`200ms`, `2s`, `1m30s`).

use std::time::Duration;

/// Parses a Go-style duration: a sequence of decimal numbers with units
/// `ns`, `us`/`µs`, `ms`, `s`, `m`, `h` (`1m30s`, `1.5s`, `0`). Negative
/// durations are rejected.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    todo!("{s}")
}

/// Formats a duration the way Go prints it (`1m30s`, `200ms`, `0s`).
pub fn format_duration(d: Duration) -> String {
    todo!("{d:?}")
}
