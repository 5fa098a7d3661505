//! The icmp probe: one echo request, IPv4 or IPv6.
//!
//! Ping sockets (SOCK_DGRAM) are preferred: no privilege, and the kernel
//! delivers only replies to our own echo id, which it chooses itself (so we
//! match on sequence number and payload). Raw sockets see every ICMP packet
//! of the namespace, IPv4 ones with the IP header in front; there we match
//! id, sequence, payload and sender, and skip everything else until the
//! deadline.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU16, Ordering};

use nix::sys::socket::{recvfrom, setsockopt, sockopt, SockaddrStorage};
use socket2::{SockAddr, Socket};

use super::deadline::{is_timeout, Deadline};
use super::socket::{self, io_detail, io_detail_lower, IcmpSocketKind};
use super::{ProbeResult, ProbeTarget, ResultCode};

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
const PAYLOAD_LEN: usize = 16;

/// The fields that identify our echo request in a reply or error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Echo {
    id: u16,
    seq: u16,
    payload: [u8; PAYLOAD_LEN],
}

/// What a received ICMP packet means for our probe.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Reply,
    /// An ICMP error about our request, with a human description.
    Unreachable(String),
    /// Someone else's traffic.
    Unrelated,
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 =
        data.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn echo_request(v6: bool, echo: &Echo) -> Vec<u8> {
    let mut pkt = Vec::with_capacity(8 + PAYLOAD_LEN);
    pkt.push(if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 });
    pkt.push(0);
    pkt.extend_from_slice(&[0, 0]);
    pkt.extend_from_slice(&echo.id.to_be_bytes());
    pkt.extend_from_slice(&echo.seq.to_be_bytes());
    pkt.extend_from_slice(&echo.payload);
    if !v6 {
        // The kernel computes ICMPv6 checksums (they cover a pseudo-header
        // it owns), but raw IPv4 ICMP is sent as written.
        let sum = checksum(&pkt);
        pkt[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    pkt
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Strips an IPv4 header when the packet starts with one.
fn skip_ipv4_header(pkt: &[u8]) -> Option<&[u8]> {
    let first = *pkt.first()?;
    if first >> 4 != 4 {
        return None;
    }
    pkt.get(usize::from(first & 0x0f) * 4..)
}

fn unreachable_v4(code: u8) -> &'static str {
    match code {
        0 => "network unreachable",
        1 => "host unreachable",
        2 => "protocol unreachable",
        3 => "port unreachable",
        4 => "fragmentation needed",
        9 | 10 | 13 => "administratively prohibited",
        _ => "unreachable",
    }
}

fn unreachable_v6(code: u8) -> &'static str {
    match code {
        0 => "no route to destination",
        1 => "administratively prohibited",
        3 => "address unreachable",
        4 => "port unreachable",
        5 | 6 => "rejected by policy",
        _ => "unreachable",
    }
}

/// Judges one received packet. `icmp` starts at the ICMP header; `ping`
/// says the kernel owns the echo id (ping socket), so it is not compared.
fn classify(icmp: &[u8], from: IpAddr, dest: IpAddr, echo: &Echo, ping: bool) -> Verdict {
    let (Some(&kind), Some(&code)) = (icmp.first(), icmp.get(1)) else { return Verdict::Unrelated };
    let ours = |id: Option<u16>, seq: Option<u16>| (ping || id == Some(echo.id)) && seq == Some(echo.seq);
    let v6 = dest.is_ipv6();
    let reply_type = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    if kind == reply_type {
        let payload_ok = icmp.get(8..8 + PAYLOAD_LEN) == Some(&echo.payload[..]);
        if from == dest && payload_ok && ours(be16(icmp, 4), be16(icmp, 6)) {
            return Verdict::Reply;
        }
        return Verdict::Unrelated;
    }
    // An error carries the start of the offending packet: its IP header,
    // then our echo request's header.
    let what = match (v6, kind) {
        (false, 3) => format!("destination unreachable ({})", unreachable_v4(code)),
        (false, 11) => "time exceeded".to_string(),
        (false, 12) => "parameter problem".to_string(),
        (true, 1) => format!("destination unreachable ({})", unreachable_v6(code)),
        (true, 2) => "packet too big".to_string(),
        (true, 3) => "time exceeded".to_string(),
        (true, 4) => "parameter problem".to_string(),
        _ => return Verdict::Unrelated,
    };
    let Some(quoted) = icmp.get(8..) else { return Verdict::Unrelated };
    let (inner_dest, inner) = if v6 {
        let dst: Option<[u8; 16]> = quoted.get(24..40).and_then(|b| b.try_into().ok());
        (dst.map(|b| IpAddr::V6(Ipv6Addr::from(b))), quoted.get(40..))
    } else {
        let dst: Option<[u8; 4]> = quoted.get(16..20).and_then(|b| b.try_into().ok());
        (dst.map(|b| IpAddr::V4(Ipv4Addr::from(b))), skip_ipv4_header(quoted))
    };
    let request_type = if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 };
    match inner {
        Some(req)
            if inner_dest == Some(dest)
                && req.first() == Some(&request_type)
                && ours(be16(req, 4), be16(req, 6)) =>
        {
            Verdict::Unreachable(format!("{what} from {from}"))
        }
        _ => Verdict::Unrelated,
    }
}

/// Errors the kernel reports for an unreachable destination, on send or
/// (through IP_RECVERR) on receive.
fn is_unreachable(err: &io::Error) -> bool {
    use nix::errno::Errno;
    matches!(
        err.raw_os_error().map(Errno::from_raw),
        Some(
            Errno::EHOSTUNREACH
                | Errno::ENETUNREACH
                | Errno::EHOSTDOWN
                | Errno::ENETDOWN
                | Errno::ECONNREFUSED
                | Errno::EPROTO
                | Errno::EMSGSIZE
        )
    )
}

fn next_seq() -> u16 {
    static SEQ: AtomicU16 = AtomicU16::new(0);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// The icmp probe.
pub(crate) fn probe(target: &ProbeTarget, deadline: &Deadline) -> ProbeResult {
    match open(target) {
        Ok((socket, kind)) => exchange(&socket, kind, target.address, deadline),
        Err(e) => e.into_result(deadline.elapsed()),
    }
}

fn open(target: &ProbeTarget) -> Result<(Socket, IcmpSocketKind), socket::SocketError> {
    let (socket, kind) = socket::icmp(&target.check, target.address)?;
    if kind == IcmpSocketKind::Ping {
        // Without IP_RECVERR a ping socket silently drops most ICMP errors;
        // with it, they surface as the error of the next receive.
        let _ = match target.address {
            IpAddr::V4(_) => setsockopt(&socket, sockopt::Ipv4RecvErr, &true),
            IpAddr::V6(_) => setsockopt(&socket, sockopt::Ipv6RecvErr, &true),
        };
    }
    Ok((socket, kind))
}

fn exchange(socket: &Socket, kind: IcmpSocketKind, dest: IpAddr, deadline: &Deadline) -> ProbeResult {
    let done = |code, detail: String| ProbeResult::new(code, detail, deadline.elapsed());
    let timeout = || done(ResultCode::L3Tout, format!("no echo reply within {:?}", deadline.budget()));
    let mut payload = [0u8; PAYLOAD_LEN];
    payload[..8].copy_from_slice(&fastrand::u64(..).to_be_bytes());
    payload[8..].copy_from_slice(b"maglevd\0");
    let echo = Echo { id: fastrand::u16(..), seq: next_seq(), payload };
    let request = echo_request(dest.is_ipv6(), &echo);
    let ping = kind == IcmpSocketKind::Ping;

    if let Err(e) = socket.send_to(&request, &SockAddr::from(SocketAddr::new(dest, 0))) {
        return if is_unreachable(&e) {
            done(ResultCode::L3Unreach, io_detail_lower(&e))
        } else {
            done(ResultCode::SockErr, format!("sending the echo request: {}", io_detail(&e)))
        };
    }

    let mut buf = [0u8; 2048];
    loop {
        let Some(left) = deadline.remaining() else { return timeout() };
        if let Err(e) = socket.set_read_timeout(Some(left)) {
            return done(ResultCode::SockErr, format!("setting the receive timeout: {}", io_detail(&e)));
        }
        let (n, from) = match recvfrom::<SockaddrStorage>(socket.as_raw_fd(), &mut buf) {
            Ok((n, from)) => (n, from),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => {
                let e = io::Error::from(errno);
                if is_timeout(&e) {
                    continue;
                }
                return if is_unreachable(&e) {
                    done(ResultCode::L3Unreach, io_detail_lower(&e))
                } else {
                    done(ResultCode::SockErr, format!("receiving: {}", io_detail(&e)))
                };
            }
        };
        let Some(from) = from.and_then(|a| sender(&a)) else { continue };
        let packet = &buf[..n];
        let icmp = match (dest, kind) {
            (IpAddr::V4(_), IcmpSocketKind::Raw) => match skip_ipv4_header(packet) {
                Some(icmp) => icmp,
                None => continue,
            },
            _ => packet,
        };
        match classify(icmp, from, dest, &echo, ping) {
            Verdict::Reply => return done(ResultCode::L3Ok, format!("echo reply from {from}")),
            Verdict::Unreachable(detail) => return done(ResultCode::L3Unreach, detail),
            Verdict::Unrelated => continue,
        }
    }
}

fn sender(addr: &SockaddrStorage) -> Option<IpAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(IpAddr::V4(v4.ip()));
    }
    addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::config::ProbeSpec;
    use crate::probe::test_netns::TestNetns;
    use crate::probe::tests::check;

    fn target(addr: &str, timeout: Duration, netns: Option<&str>) -> ProbeTarget {
        let mut hc = check(ProbeSpec::Icmp);
        hc.timeout = timeout;
        hc.netns = netns.map(str::to_string);
        ProbeTarget::new("b", addr.parse().expect("ip"), Arc::new(hc))
    }

    fn echo() -> Echo {
        Echo { id: 0x1234, seq: 7, payload: *b"0123456789abcdef" }
    }

    fn reply_v4(e: &Echo) -> Vec<u8> {
        let mut p = echo_request(false, e);
        p[0] = ECHO_REPLY_V4;
        p
    }

    #[test]
    fn checksum_is_the_internet_checksum() {
        // RFC 1071 example bytes.
        assert_eq!(checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), !0xddf2);
        let pkt = echo_request(false, &echo());
        assert_eq!(checksum(&pkt), 0, "a packet with its checksum sums to zero");
    }

    #[test]
    fn classify_replies() {
        let dest: IpAddr = "192.0.2.1".parse().unwrap();
        let e = echo();
        assert_eq!(classify(&reply_v4(&e), dest, dest, &e, false), Verdict::Reply);
        // A ping socket rewrites the id: only seq and payload count there.
        let other_id = Echo { id: 99, ..e };
        assert_eq!(classify(&reply_v4(&other_id), dest, dest, &e, true), Verdict::Reply);
        assert_eq!(classify(&reply_v4(&other_id), dest, dest, &e, false), Verdict::Unrelated);
        let other_seq = Echo { seq: 8, ..e };
        assert_eq!(classify(&reply_v4(&other_seq), dest, dest, &e, true), Verdict::Unrelated);
        let other_payload = Echo { payload: [0; PAYLOAD_LEN], ..e };
        assert_eq!(classify(&reply_v4(&other_payload), dest, dest, &e, false), Verdict::Unrelated);
        let stranger: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(classify(&reply_v4(&e), stranger, dest, &e, false), Verdict::Unrelated);
        // Our own request, seen by a raw socket on loopback.
        assert_eq!(classify(&echo_request(false, &e), dest, dest, &e, false), Verdict::Unrelated);
        // Truncated and empty packets.
        assert_eq!(classify(&reply_v4(&e)[..10], dest, dest, &e, false), Verdict::Unrelated);
        assert_eq!(classify(&[], dest, dest, &e, false), Verdict::Unrelated);
    }

    #[test]
    fn classify_errors_quoting_our_request() {
        let dest: IpAddr = "192.0.2.1".parse().unwrap();
        let router: IpAddr = "198.51.100.1".parse().unwrap();
        let e = echo();
        let mut inner_ip = vec![0x45, 0, 0, 44, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1];
        inner_ip.extend_from_slice(&[192, 0, 2, 1]);
        let mut err = vec![3, 1, 0, 0, 0, 0, 0, 0];
        err.extend_from_slice(&inner_ip);
        err.extend_from_slice(&echo_request(false, &e)[..8]);
        assert_eq!(
            classify(&err, router, dest, &e, false),
            Verdict::Unreachable("destination unreachable (host unreachable) from 198.51.100.1".into())
        );
        // The same error about someone else's echo.
        let other = Echo { seq: 1, ..e };
        let mut err_other = err[..28].to_vec();
        err_other.extend_from_slice(&echo_request(false, &other)[..8]);
        assert_eq!(classify(&err_other, router, dest, &e, false), Verdict::Unrelated);
        // Truncated quote.
        assert_eq!(classify(&err[..30], router, dest, &e, false), Verdict::Unrelated);

        let dest6: IpAddr = "2001:db8::1".parse().unwrap();
        let mut inner6 = vec![0x60, 0, 0, 0, 0, 24, 58, 64];
        inner6.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        inner6.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        let mut err6 = vec![1, 3, 0, 0, 0, 0, 0, 0];
        err6.extend_from_slice(&inner6);
        err6.extend_from_slice(&echo_request(true, &e)[..8]);
        assert_eq!(
            classify(&err6, "2001:db8::ff".parse().unwrap(), dest6, &e, false),
            Verdict::Unreachable("destination unreachable (address unreachable) from 2001:db8::ff".into())
        );
    }

    #[test]
    fn loopback_answers() {
        for addr in ["127.0.0.1", "::1"] {
            let r = crate::probe::run(&target(addr, Duration::from_secs(2), None));
            assert_eq!(r.code, ResultCode::L3Ok, "{addr}: {r:?}");
            assert_eq!(r.detail, format!("echo reply from {addr}"));
        }
    }

    #[test]
    fn ping_socket_is_used_where_allowed() {
        let ns = TestNetns::new();
        ns.sysctl("net.ipv4.ping_group_range", "0 2147483647");
        for addr in ["127.0.0.1", "::1"] {
            let t = target(addr, Duration::from_secs(2), Some(ns.name()));
            let (_socket, kind) = open(&t).expect("open an ICMP socket in the namespace");
            assert_eq!(kind, IcmpSocketKind::Ping, "{addr}");
            let r = crate::probe::run(&t);
            assert_eq!(r.code, ResultCode::L3Ok, "{addr}: {r:?}");
        }
    }

    #[test]
    fn silent_address_is_l3tout() {
        let ns = TestNetns::new();
        ns.add_silent_host("10.255.0.1/24", "10.255.0.2");
        let r = crate::probe::run(&target("10.255.0.2", Duration::from_millis(300), Some(ns.name())));
        assert_eq!(r.code, ResultCode::L3Tout, "{r:?}");
        assert!(r.duration >= Duration::from_millis(290), "returned early: {r:?}");
        assert!(r.duration < Duration::from_secs(2), "overran the timeout: {r:?}");
    }

    #[test]
    fn unreachable_route_is_l3unreach() {
        let ns = TestNetns::new();
        ns.ip(&["route", "add", "unreachable", "10.254.0.0/24"]);
        let r = crate::probe::run(&target("10.254.0.9", Duration::from_secs(1), Some(ns.name())));
        assert_eq!(r.code, ResultCode::L3Unreach, "{r:?}");
        assert_eq!(r.detail, "no route to host");
    }

    #[test]
    fn missing_namespace_is_sockerr() {
        let r = crate::probe::run(&target("127.0.0.1", Duration::from_secs(1), Some("mgpr-missing")));
        assert_eq!(r.code, ResultCode::SockErr, "{r:?}");
    }
}
