//! systemd's readiness protocol (sd_notify(3)): datagrams such as
//! `READY=1`, `STATUS=...` and `WATCHDOG=1` sent to `$NOTIFY_SOCKET`.
//!
//! The protocol is one datagram on a unix socket, which std's
//! `UnixDatagram` sends (abstract addresses included), so no crate or
//! libsystemd is linked for it. Outside systemd (`NOTIFY_SOCKET` unset)
//! every call does nothing.

use std::fmt;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// Where notifications go; inert when maglevd does not run under systemd.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
}

#[derive(Debug)]
pub struct NotifyError {
    socket: String,
    source: io::Error,
}

impl fmt::Display for NotifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot use NOTIFY_SOCKET {}: {}", self.socket, self.source)
    }
}

impl std::error::Error for NotifyError {}

impl Notifier {
    /// A notifier for `$NOTIFY_SOCKET` (a path, or `@name` for an abstract
    /// socket); inert when it is unset or empty.
    pub fn from_env() -> Result<Notifier, NotifyError> {
        match std::env::var("NOTIFY_SOCKET") {
            Ok(s) if !s.is_empty() => Notifier::to(&s),
            _ => Ok(Notifier { target: None }),
        }
    }

    /// A notifier for the socket `socket`.
    pub fn to(socket: &str) -> Result<Notifier, NotifyError> {
        let err = |source| NotifyError { socket: socket.to_string(), source };
        let addr = match socket.strip_prefix('@') {
            Some(name) => SocketAddr::from_abstract_name(name.as_bytes()).map_err(err)?,
            None => SocketAddr::from_pathname(socket).map_err(err)?,
        };
        let sock = UnixDatagram::unbound().map_err(err)?;
        Ok(Notifier { target: Some((sock, addr)) })
    }

    pub fn is_active(&self) -> bool {
        self.target.is_some()
    }

    /// Sends one datagram of `KEY=value` lines. A lost notification is not
    /// worth stopping for: the error is returned for the caller to log.
    pub fn send(&self, state: &str) -> io::Result<()> {
        match &self.target {
            Some((sock, addr)) => sock.send_to_addr(state.as_bytes(), addr).map(|_| ()),
            None => Ok(()),
        }
    }
}

/// `STATUS=` text: one line, as systemctl shows it.
pub fn status_line(text: &str) -> String {
    format!("STATUS={}", text.replace('\n', " "))
}

/// The watchdog interval systemd asks for (`WatchdogSec=`), from
/// `$WATCHDOG_USEC` when `$WATCHDOG_PID` is unset or this process.
pub fn watchdog_interval() -> Option<Duration> {
    parse_watchdog(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )
}

fn parse_watchdog(usec: Option<&str>, pid: Option<&str>, me: u32) -> Option<Duration> {
    if let Some(pid) = pid.filter(|p| !p.is_empty()) {
        if pid.parse::<u32>().ok() != Some(me) {
            return None;
        }
    }
    let usec: u64 = usec?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_settings_are_for_this_process_only() {
        assert_eq!(parse_watchdog(Some("2000000"), None, 7), Some(Duration::from_secs(2)));
        assert_eq!(parse_watchdog(Some("2000000"), Some("7"), 7), Some(Duration::from_secs(2)));
        assert_eq!(parse_watchdog(Some("2000000"), Some("8"), 7), None);
        assert_eq!(parse_watchdog(Some("0"), None, 7), None);
        assert_eq!(parse_watchdog(Some("soon"), None, 7), None);
        assert_eq!(parse_watchdog(None, None, 7), None);
    }

    #[test]
    fn datagrams_reach_a_path_and_an_abstract_socket() {
        let dir = std::env::temp_dir().join(format!("maglevd-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::to(path.to_str().unwrap()).unwrap();
        n.send("READY=1\nSTATUS=up").unwrap();
        let mut buf = [0u8; 64];
        let len = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1\nSTATUS=up");
        std::fs::remove_dir_all(&dir).unwrap();

        let name = format!("maglevd-notify-test-{}", std::process::id());
        let listener =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
        Notifier::to(&format!("@{name}")).unwrap().send("WATCHDOG=1").unwrap();
        let len = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"WATCHDOG=1");
        assert!(!Notifier { target: None }.is_active());
    }

    #[test]
    fn status_is_one_line() {
        assert_eq!(status_line("a\nb"), "STATUS=a b");
    }
}
