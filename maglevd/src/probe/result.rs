//! What a probe reports: a HAProxy-style result code, a human detail, the
//! duration and, for HTTP, the status.

use std::fmt;
use std::time::Duration;

/// Result codes (the HAProxy vocabulary, PRODUCT.md §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResultCode {
    /// ICMP echo reply received.
    L3Ok,
    /// ICMP: no reply within the timeout.
    L3Tout,
    /// ICMP: destination unreachable (or an error reply).
    L3Unreach,
    /// TCP connect succeeded (also the synthetic result of a static backend).
    L4Ok,
    /// TCP connect timed out.
    L4Tout,
    /// TCP connect refused/reset/unreachable.
    L4Con,
    /// TLS handshake succeeded (never final for https; kept for completeness).
    L6Ok,
    /// TLS handshake timed out.
    L6Tout,
    /// TLS handshake failed (certificate, protocol).
    L6Rsp,
    /// HTTP response accepted.
    L7Ok,
    /// HTTP response not complete within the timeout.
    L7Tout,
    /// Malformed response or body mismatch.
    L7Rsp,
    /// Status not in expect-status.
    L7Sts,
    /// Local error: namespace, bind, socket creation.
    SockErr,
}

impl ResultCode {
    pub const ALL: [ResultCode; 14] = [
        ResultCode::L3Ok,
        ResultCode::L3Tout,
        ResultCode::L3Unreach,
        ResultCode::L4Ok,
        ResultCode::L4Tout,
        ResultCode::L4Con,
        ResultCode::L6Ok,
        ResultCode::L6Tout,
        ResultCode::L6Rsp,
        ResultCode::L7Ok,
        ResultCode::L7Tout,
        ResultCode::L7Rsp,
        ResultCode::L7Sts,
        ResultCode::SockErr,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResultCode::L3Ok => "L3OK",
            ResultCode::L3Tout => "L3TOUT",
            ResultCode::L3Unreach => "L3UNREACH",
            ResultCode::L4Ok => "L4OK",
            ResultCode::L4Tout => "L4TOUT",
            ResultCode::L4Con => "L4CON",
            ResultCode::L6Ok => "L6OK",
            ResultCode::L6Tout => "L6TOUT",
            ResultCode::L6Rsp => "L6RSP",
            ResultCode::L7Ok => "L7OK",
            ResultCode::L7Tout => "L7TOUT",
            ResultCode::L7Rsp => "L7RSP",
            ResultCode::L7Sts => "L7STS",
            ResultCode::SockErr => "SOCKERR",
        }
    }

    pub fn parse(s: &str) -> Option<ResultCode> {
        ResultCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// A pass counts up in the health counter; everything else counts down.
    pub fn is_pass(self) -> bool {
        matches!(self, ResultCode::L3Ok | ResultCode::L4Ok | ResultCode::L6Ok | ResultCode::L7Ok)
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub code: ResultCode,
    /// Human detail: "connection refused", "status 503", "static", ...
    pub detail: String,
    /// Wall time the probe took (0 for static).
    pub duration: Duration,
    /// HTTP status, when a status line was read.
    pub http_status: Option<u16>,
}

impl ProbeResult {
    pub fn new(code: ResultCode, detail: impl Into<String>, duration: Duration) -> Self {
        ProbeResult { code, detail: detail.into(), duration, http_status: None }
    }

    /// The synthetic passing result of a static backend (PRODUCT.md §5.5).
    pub fn static_pass() -> Self {
        ProbeResult::new(ResultCode::L4Ok, "static", Duration::ZERO)
    }

    pub fn is_pass(&self) -> bool {
        self.code.is_pass()
    }
}
