//! Why the metrics endpoint could not start.

use std::fmt;
use std::io;

#[derive(Debug)]
pub enum MetricsError {
    /// The address is not `:port`, `host:port` or `[v6]:port`.
    BadAddress { addr: String, reason: String },
    /// Nothing could be bound at the address (in use, no such host, ...).
    Bind { addr: String, source: io::Error },
    /// The HTTP server or one of its threads could not start.
    Start { addr: String, reason: String },
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricsError::BadAddress { addr, reason } => write!(
                f,
                "metrics address {addr:?} is invalid ({reason}): use :PORT, HOST:PORT or [IPV6]:PORT, or \"\" to disable"
            ),
            MetricsError::Bind { addr, source } => write!(
                f,
                "cannot listen for metrics on {addr}: {source} (is another process using the port? change --metrics-addr)"
            ),
            MetricsError::Start { addr, reason } => write!(f, "cannot start the metrics server on {addr}: {reason}"),
        }
    }
}

impl std::error::Error for MetricsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MetricsError::Bind { source, .. } => Some(source),
            _ => None,
        }
    }
}
