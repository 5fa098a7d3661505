//! One deadline per probe, and a stream that obeys it.
//!
//! A probe is bounded by its healthcheck's `timeout` as a whole: connect,
//! TLS handshake, write and read all draw on the same budget. Giving each
//! socket operation its own timeout would let a slow-drip backend hold a
//! worker for many times the configured timeout.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use std::os::fd::AsFd;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
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

/// True for the errors a probe's expired deadline produces.
pub(crate) fn is_timeout(err: &io::Error) -> bool {
    matches!(err.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
}

/// What to wait for on a socket.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ready {
    Read,
    Write,
}

/// Waits until `socket` (non-blocking) is ready for `what` or the deadline
/// passes (`ErrorKind::TimedOut`). Returns poll's `revents`, so a caller
/// can tell an error or hang-up from readiness without another syscall.
pub(crate) fn wait(socket: &Socket, what: Ready, deadline: &Deadline) -> io::Result<PollFlags> {
    let events = match what {
        Ready::Read => PollFlags::POLLIN,
        Ready::Write => PollFlags::POLLOUT,
    };
    loop {
        let left = deadline.remaining().ok_or_else(Deadline::expired_error)?;
        // Rounded up: a sub-millisecond remainder must still wait, not spin.
        let timeout = PollTimeout::try_from(left.as_micros().div_ceil(1000)).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(socket.as_fd(), events)];
        match poll(&mut fds, timeout) {
            Ok(0) => continue, // the loop re-checks the deadline
            Ok(_) => return Ok(fds[0].revents().unwrap_or(PollFlags::empty())),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(io::Error::from(e)),
        }
    }
}

/// A connected non-blocking socket whose reads and writes wait in `poll`
/// for at most the time left until the probe's deadline. Expiry surfaces
/// as `ErrorKind::TimedOut`.
///
/// Non-blocking with `poll` rather than blocking with `SO_RCVTIMEO`: the
/// timeout then needs no `setsockopt` before every read and write, and
/// connecting needs no `fcntl` round trips (the socket is created
/// non-blocking).
#[derive(Debug)]
pub(crate) struct DeadlineStream {
    socket: Socket,
    deadline: Deadline,
}

impl DeadlineStream {
    /// `socket` must be non-blocking.
    pub(crate) fn new(socket: Socket, deadline: Deadline) -> DeadlineStream {
        DeadlineStream { socket, deadline }
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Waiting first: a probe reads after it has written, when the
        // answer is rarely there yet, so trying first would mostly cost a
        // read that fails with EAGAIN.
        loop {
            wait(&self.socket, Ready::Read, &self.deadline)?;
            match (&self.socket).read(buf) {
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock) => {
                    continue
                }
                other => return other,
            }
        }
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.deadline.remaining().is_none() {
            return Err(Deadline::expired_error());
        }
        // Trying first: the send buffer of a fresh connection has room.
        loop {
            match (&self.socket).write(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait(&self.socket, Ready::Write, &self.deadline)?;
                }
                other => return other,
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
        stream.set_nonblocking(true).expect("nonblocking");
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
        stream.set_nonblocking(true).expect("nonblocking");
        let mut s = DeadlineStream::new(Socket::from(stream), Deadline::after(Duration::from_millis(100)));
        let started = Instant::now();
        let err = s.read(&mut [0u8; 4]).expect_err("silent peer must time out");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(2), "read overran its deadline");
    }
}
