//! Opening a probe's socket: in the healthcheck's network namespace, bound
//! to its source address. Everything that can go wrong here is local to
//! this host and reported as SOCKERR.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::netns::{self, NetnsError};
use super::{ProbeResult, ResultCode};
use crate::config::HealthCheck;

/// A local failure before the first packet: SOCKERR.
#[derive(Debug)]
pub(crate) enum SocketError {
    Netns(NetnsError),
    Create { what: &'static str, source: io::Error },
    Bind { source_addr: IpAddr, source: io::Error },
}

impl fmt::Display for SocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketError::Netns(e) => e.fmt(f),
            SocketError::Create { what, source } => {
                write!(f, "creating {what} socket: {}", io_detail(source))
            }
            SocketError::Bind { source_addr, source } => {
                write!(f, "binding to source address {source_addr}: {}", io_detail(source))
            }
        }
    }
}

impl From<NetnsError> for SocketError {
    fn from(e: NetnsError) -> Self {
        SocketError::Netns(e)
    }
}

impl SocketError {
    pub(crate) fn into_result(self, duration: Duration) -> ProbeResult {
        ProbeResult::new(ResultCode::SockErr, self.to_string(), duration)
    }
}

/// The system's message for an I/O error, without Rust's "(os error N)".
pub(crate) fn io_detail(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => err.to_string(),
    }
}

/// `io_detail` starting in lower case, for details that stand alone
/// ("connection refused").
pub(crate) fn io_detail_lower(err: &io::Error) -> String {
    let detail = io_detail(err);
    let mut chars = detail.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => detail,
    }
}

/// The healthcheck's source address for `dest`'s family, if it has one.
fn source_for(check: &HealthCheck, dest: IpAddr) -> Option<IpAddr> {
    match dest {
        IpAddr::V4(_) => check.source_ipv4.map(IpAddr::V4),
        IpAddr::V6(_) => check.source_ipv6.map(IpAddr::V6),
    }
}

fn bind_source(socket: &Socket, check: &HealthCheck, dest: IpAddr) -> Result<(), SocketError> {
    if let Some(source_addr) = source_for(check, dest) {
        socket
            .bind(&SockAddr::from(SocketAddr::new(source_addr, 0)))
            .map_err(|source| SocketError::Bind { source_addr, source })?;
    }
    Ok(())
}

fn domain_of(addr: IpAddr) -> Domain {
    match addr {
        IpAddr::V4(_) => Domain::IPV4,
        IpAddr::V6(_) => Domain::IPV6,
    }
}

/// A non-blocking TCP socket for connecting to `dest`, not yet connected.
///
/// Nagle's algorithm stays on: a probe writes its request in one piece,
/// which Nagle never delays (the https probe turns it off for the TLS
/// handshake's several writes).
pub(crate) fn tcp(check: &HealthCheck, dest: IpAddr) -> Result<Socket, SocketError> {
    let socket = netns::within(check.netns.as_deref(), || {
        Socket::new(domain_of(dest), Type::STREAM.nonblocking(), Some(Protocol::TCP))
    })?
    .map_err(|source| SocketError::Create { what: "TCP", source })?;
    // Closed with a reset, as HAProxy closes its checks: no FIN exchange and
    // no TIME_WAIT socket per probe (10,000 backends at 1 s would keep
    // 600,000 of them), and less kernel work on both ends.
    let _ = socket.set_linger(Some(Duration::ZERO));
    bind_source(&socket, check, dest)?;
    Ok(socket)
}

/// Which kind of ICMP socket the kernel gave us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IcmpSocketKind {
    /// Unprivileged ping socket (SOCK_DGRAM): the kernel owns the echo id
    /// and delivers only our replies, without the IP header.
    Ping,
    /// Raw socket (CAP_NET_RAW): sees all ICMP traffic; IPv4 includes the
    /// IP header.
    Raw,
}

/// An ICMP socket for `dest`: a ping socket when `net.ipv4.ping_group_range`
/// allows it, else a raw socket.
pub(crate) fn icmp(check: &HealthCheck, dest: IpAddr) -> Result<(Socket, IcmpSocketKind), SocketError> {
    let protocol = match dest {
        IpAddr::V4(_) => Protocol::ICMPV4,
        IpAddr::V6(_) => Protocol::ICMPV6,
    };
    let opened = netns::within(check.netns.as_deref(), || {
        match Socket::new(domain_of(dest), Type::DGRAM, Some(protocol)) {
            Ok(s) => Ok((s, IcmpSocketKind::Ping)),
            Err(ping_err) => match Socket::new(domain_of(dest), Type::RAW, Some(protocol)) {
                Ok(s) => Ok((s, IcmpSocketKind::Raw)),
                // Report both: the ping socket error says which sysctl to
                // change, the raw one which capability is missing.
                Err(raw_err) => Err(io::Error::new(
                    raw_err.kind(),
                    format!(
                        "ping socket: {} (see net.ipv4.ping_group_range); raw socket: {} (needs CAP_NET_RAW)",
                        io_detail(&ping_err),
                        io_detail(&raw_err)
                    ),
                )),
            },
        }
    })?
    .map_err(|source| SocketError::Create { what: "ICMP", source })?;
    bind_source(&opened.0, check, dest)?;
    Ok(opened)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_detail_drops_the_os_error_suffix() {
        let e = io::Error::from_raw_os_error(111);
        assert_eq!(io_detail(&e), "Connection refused");
        assert_eq!(io_detail_lower(&e), "connection refused");
        let custom = io::Error::other("odd");
        assert_eq!(io_detail(&custom), "odd");
    }
}
