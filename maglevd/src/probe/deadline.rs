//! One deadline per probe, and a stream that obeys it.
//!
//! A probe is bounded by its healthcheck's `timeout` as a whole: connect,
//! TLS handshake, write and read all draw on the same budget. Giving each
//! socket operation its own timeout would let a slow-drip backend hold a
//! worker for many times the configured timeout.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use socket2::Socket;

/// The end of a probe's time budget.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    start: Instant,
    end: Instant,
    budget: Duration,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub(crate) fn after(budget: Duration) -> Deadline {
        let start = Instant::now();
        // An absurd budget (years) saturates instead of overflowing.
        let end = start.checked_add(budget).unwrap_or(start + Duration::from_secs(86_400 * 365));
        Deadline { start, end, budget }
    }

    /// Time left, or `None` once the deadline has passed.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        let left = self.end.saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }

    /// Time since the probe started: the duration every result reports.
    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// The whole budget (the configured timeout), for messages.
    pub(crate) fn budget(&self) -> Duration {
        self.budget
    }

    /// The error a socket operation reports when the budget is spent.
    pub(crate) fn expired_error() -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, "probe deadline expired")
    }
}

/// True for the errors a socket timeout produces (`EAGAIN` from
/// `SO_RCVTIMEO`/`SO_SNDTIMEO`, or our own expiry).
pub(crate) fn is_timeout(err: &io::Error) -> bool {
    matches!(err.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
}

/// A connected socket whose every read and write gets the time left until
/// the probe's deadline. Expiry surfaces as `ErrorKind::TimedOut`.
#[derive(Debug)]
pub(crate) struct DeadlineStream {
    socket: Socket,
    deadline: Deadline,
}

impl DeadlineStream {
    pub(crate) fn new(socket: Socket, deadline: Deadline) -> DeadlineStream {
        DeadlineStream { socket, deadline }
    }

    fn left(&self) -> io::Result<Duration> {
        self.deadline.remaining().ok_or_else(Deadline::expired_error)
    }
}

fn timeout_kind(err: io::Error) -> io::Error {
    if is_timeout(&err) {
        Deadline::expired_error()
    } else {
        err
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.socket.set_read_timeout(Some(left))?;
        loop {
            match (&self.socket).read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other.map_err(timeout_kind),
            }
        }
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.socket.set_write_timeout(Some(left))?;
        loop {
            match (&self.socket).write(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other.map_err(timeout_kind),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_shrinks_and_expires() {
        let d = Deadline::after(Duration::from_millis(50));
        let left = d.remaining().expect("fresh deadline has time left");
        assert!(left <= Duration::from_millis(50));
        assert_eq!(d.budget(), Duration::from_millis(50));

        let spent = Deadline::after(Duration::ZERO);
        assert_eq!(spent.remaining(), None);
    }

    #[test]
    fn huge_budget_does_not_overflow() {
        let d = Deadline::after(Duration::MAX);
        assert!(d.remaining().is_some());
    }

    #[test]
    fn read_on_expired_deadline_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let stream = std::net::TcpStream::connect(addr).expect("connect loopback");
        let mut s = DeadlineStream::new(Socket::from(stream), Deadline::after(Duration::ZERO));
        let err = s.read(&mut [0u8; 4]).expect_err("expired deadline must fail the read");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn read_waits_at_most_the_remaining_time() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let stream = std::net::TcpStream::connect(addr).expect("connect loopback");
        let _peer = listener.accept().expect("accept");
        let mut s = DeadlineStream::new(Socket::from(stream), Deadline::after(Duration::from_millis(100)));
        let started = Instant::now();
        let err = s.read(&mut [0u8; 4]).expect_err("silent peer must time out");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(2), "read overran its deadline");
    }
}
