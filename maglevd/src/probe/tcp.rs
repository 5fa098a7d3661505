//! TCP connect: the tcp probe itself, and the first step of http/https.

use std::io;
use std::net::SocketAddr;

use nix::errno::Errno;
use nix::poll::PollFlags;
use nix::sys::socket::MsgFlags;
use socket2::{SockAddr, Socket};

use super::deadline::{is_timeout, wait, Deadline, Ready};
use super::socket::{self, io_detail, io_detail_lower};
use super::{ProbeResult, ProbeTarget, ResultCode};

/// What the probe does once connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Then {
    /// Nothing: the handshake is the probe.
    Close,
    /// It sends first (an HTTP request, a TLS ClientHello).
    Send,
}

/// Connects to the target's address on `port` within the deadline and
/// returns the connected socket, still non-blocking. Failures come back as
/// the finished probe result (L4TOUT, L4CON, SOCKERR).
pub(crate) fn connect(
    target: &ProbeTarget,
    port: u16,
    then: Then,
    deadline: &Deadline,
) -> Result<Socket, ProbeResult> {
    let (socket, connected) = start(target, port, then, deadline)?;
    if !connected {
        wait_connected(&socket, deadline)?;
    }
    Ok(socket)
}

/// Connects and hands `data` to the kernel as soon as it takes it, and
/// returns the socket with how much of `data` was taken. Against a nearby
/// backend the handshake is complete when `connect` returns, and the send
/// then needs no `poll` first (HAProxy's checks also send at once); a send
/// that would block waits for the handshake as `connect` does. Failures
/// before the kernel takes a byte are the connection's (L4TOUT, L4CON).
pub(crate) fn connect_sending(
    target: &ProbeTarget,
    port: u16,
    data: &[u8],
    deadline: &Deadline,
) -> Result<(Socket, usize), ProbeResult> {
    let (socket, _) = start(target, port, Then::Send, deadline)?;
    loop {
        // MSG_NOSIGNAL: a connection reset before the send is an L4CON
        // result, never a SIGPIPE.
        match socket.send_with_flags(data, MsgFlags::MSG_NOSIGNAL.bits()) {
            Ok(sent) => return Ok((socket, sent)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Still connecting: the kernel queues nothing before the
            // handshake is done.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait_connected(&socket, deadline)?,
            Err(e) => {
                return Err(ProbeResult::new(ResultCode::L4Con, io_detail_lower(&e), deadline.elapsed()))
            }
        }
    }
}

/// Opens the socket and starts connecting; true when the handshake is
/// already complete.
fn start(
    target: &ProbeTarget,
    port: u16,
    then: Then,
    deadline: &Deadline,
) -> Result<(Socket, bool), ProbeResult> {
    let socket = socket::tcp(&target.check, target.address).map_err(|e| e.into_result(deadline.elapsed()))?;
    if deadline.remaining().is_none() {
        return Err(timed_out(deadline));
    }
    if then == Then::Send {
        // The handshake's last ACK then rides on the first data segment
        // instead of being a packet of its own, as HAProxy's checks do
        // (its "smart connect"): one packet less for both ends.
        let _ = socket.set_quickack(false);
    }
    let dest = SockAddr::from(SocketAddr::new(target.address, port));
    match socket.connect(&dest) {
        Ok(()) => Ok((socket, true)),
        // In progress (an interrupted connect goes on in the background).
        Err(e)
            if matches!(e.raw_os_error().map(Errno::from_raw), Some(Errno::EINPROGRESS | Errno::EINTR)) =>
        {
            Ok((socket, false))
        }
        Err(e) => Err(ProbeResult::new(ResultCode::L4Con, io_detail_lower(&e), deadline.elapsed())),
    }
}

/// Waits until a connecting socket is connected, or says why it is not.
fn wait_connected(socket: &Socket, deadline: &Deadline) -> Result<(), ProbeResult> {
    let fail = |code, detail: String| ProbeResult::new(code, detail, deadline.elapsed());
    match wait(socket, Ready::Write, deadline) {
        Ok(revents) if !revents.intersects(PollFlags::POLLERR | PollFlags::POLLHUP) => Ok(()),
        // Only now is the error worth a syscall: it says why.
        Ok(_) => Err(match socket.take_error() {
            Ok(Some(e)) | Err(e) => fail(ResultCode::L4Con, io_detail_lower(&e)),
            Ok(None) => fail(ResultCode::L4Con, "connection closed while connecting".into()),
        }),
        Err(e) if is_timeout(&e) => Err(timed_out(deadline)),
        Err(e) => Err(fail(ResultCode::SockErr, format!("waiting for the connection: {}", io_detail(&e)))),
    }
}

fn timed_out(deadline: &Deadline) -> ProbeResult {
    ProbeResult::new(
        ResultCode::L4Tout,
        format!("connect timed out after {:?}", deadline.budget()),
        deadline.elapsed(),
    )
}

/// The tcp probe: a completed handshake is a pass.
pub(crate) fn probe(target: &ProbeTarget, port: u16, deadline: &Deadline) -> ProbeResult {
    match connect(target, port, Then::Close, deadline) {
        Ok(_socket) => ProbeResult::new(ResultCode::L4Ok, "connected", deadline.elapsed()),
        Err(result) => result,
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, TcpListener};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::config::ProbeSpec;
    use crate::probe::test_netns::TestNetns;
    use crate::probe::tests::check;

    fn target(addr: IpAddr, port: u16, timeout: Duration) -> ProbeTarget {
        let mut hc = check(ProbeSpec::Tcp { port });
        hc.timeout = timeout;
        ProbeTarget::new("b", addr, Arc::new(hc))
    }

    /// A bound but not listening TCP socket on 127.0.0.1: connects to its
    /// port are refused as long as it lives.
    fn reserve_port() -> (socket2::Socket, u16) {
        let holder =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
        holder.bind(&SockAddr::from(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))).expect("bind");
        let port = holder.local_addr().expect("addr").as_socket().map(|a| a.port()).expect("inet addr");
        (holder, port)
    }

    #[test]
    fn listener_is_l4ok() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let r = crate::probe::run(&target(Ipv4Addr::LOCALHOST.into(), port, Duration::from_secs(1)));
        assert_eq!(r.code, ResultCode::L4Ok, "{r:?}");
        assert!(r.duration < Duration::from_secs(1));
    }

    #[test]
    fn ipv6_listener_is_l4ok() {
        let listener = TcpListener::bind("[::1]:0").expect("bind ::1");
        let port = listener.local_addr().expect("addr").port();
        let r = crate::probe::run(&target("::1".parse().expect("ip"), port, Duration::from_secs(1)));
        assert_eq!(r.code, ResultCode::L4Ok, "{r:?}");
    }

    #[test]
    fn closed_port_is_l4con() {
        // A bound but not listening socket reserves the port: connects are refused.
        let (_holder, port) = reserve_port();
        let r = crate::probe::run(&target(Ipv4Addr::LOCALHOST.into(), port, Duration::from_secs(1)));
        assert_eq!(r.code, ResultCode::L4Con, "{r:?}");
        assert_eq!(r.detail, "connection refused");
    }

    #[test]
    fn unanswered_syn_is_l4tout() {
        let ns = TestNetns::new();
        ns.add_silent_host("10.255.0.1/24", "10.255.0.2");
        let mut t = target("10.255.0.2".parse().expect("ip"), 80, Duration::from_millis(300));
        Arc::make_mut(&mut t.check).netns = Some(ns.name().to_string());
        let r = crate::probe::run(&t);
        assert_eq!(r.code, ResultCode::L4Tout, "{r:?}");
        assert!(r.duration >= Duration::from_millis(290), "returned early: {r:?}");
        assert!(r.duration < Duration::from_secs(2), "overran the timeout: {r:?}");
    }

    #[test]
    fn netns_listener_is_reachable_only_inside() {
        let ns = TestNetns::new();
        // Reserve the port on the host (bound, not listening) so that the
        // probe without netns is refused, never accepted by a stranger.
        let (_holder, port) = reserve_port();
        let inside = crate::probe::netns::within(Some(ns.name()), || TcpListener::bind(("127.0.0.1", port)))
            .expect("enter namespace")
            .expect("listen inside the namespace");

        let mut t = target(Ipv4Addr::LOCALHOST.into(), port, Duration::from_secs(1));
        let outside = crate::probe::run(&t);
        assert_eq!(outside.code, ResultCode::L4Con, "{outside:?}");

        Arc::make_mut(&mut t.check).netns = Some(ns.name().to_string());
        let r = crate::probe::run(&t);
        assert_eq!(r.code, ResultCode::L4Ok, "{r:?}");
        let (_conn, peer) = inside.accept().expect("the probe connected inside the namespace");
        assert_eq!(peer.ip(), IpAddr::from(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn missing_netns_is_sockerr() {
        let mut t = target(Ipv4Addr::LOCALHOST.into(), 9, Duration::from_secs(1));
        Arc::make_mut(&mut t.check).netns = Some("mgpr-missing".into());
        let r = crate::probe::run(&t);
        assert_eq!(r.code, ResultCode::SockErr, "{r:?}");
        assert_eq!(r.detail, "network namespace \"mgpr-missing\": No such file or directory");
    }

    #[test]
    fn source_address_is_bound() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut t = target(Ipv4Addr::LOCALHOST.into(), port, Duration::from_secs(1));
        Arc::make_mut(&mut t.check).source_ipv4 = Some(Ipv4Addr::new(127, 0, 0, 2));
        // An IPv6 source must not be applied to an IPv4 target.
        Arc::make_mut(&mut t.check).source_ipv6 = Some("2001:db8::1".parse().expect("ip"));
        let r = crate::probe::run(&t);
        assert_eq!(r.code, ResultCode::L4Ok, "{r:?}");
        let (_conn, peer) = listener.accept().expect("accept the probe");
        assert_eq!(peer.ip(), IpAddr::from(Ipv4Addr::new(127, 0, 0, 2)));
    }

    #[test]
    fn unusable_source_address_is_sockerr() {
        let mut t = target(Ipv4Addr::LOCALHOST.into(), 9, Duration::from_secs(1));
        // TEST-NET-2 is not configured on any interface of a test host.
        Arc::make_mut(&mut t.check).source_ipv4 = Some(Ipv4Addr::new(198, 51, 100, 9));
        let r = crate::probe::run(&t);
        assert_eq!(r.code, ResultCode::SockErr, "{r:?}");
        assert_eq!(r.detail, "binding to source address 198.51.100.9: Cannot assign requested address");
    }
}
