//! maglevd under systemd's notify protocol, with the test's own
//! NOTIFY_SOCKET listener standing in for systemd (PID 1 is not systemd
//! everywhere the tests run): READY=1 once it serves, STATUS= lines,
//! WATCHDOG=1 while the checker and the probe wheel turn, and none once
//! the checker is frozen through the debug-build fault hook.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use testsupport::grpc::client;
use testsupport::{Maglevd, MaglevdOpts, TempDir};

const CONFIG: &str = "\
maglev:
  healthchecks:
    tcp:
      type: tcp
      port: 9
      interval: 100ms
      timeout: 100ms
  backends:
    alpha:
      address: 127.0.0.1
      healthcheck: tcp
  frontends:
    web:
      address: 192.0.2.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends:
            alpha: {}
";

/// systemd's side: a datagram socket that collects notifications.
struct NotifySocket {
    _dir: TempDir,
    path: String,
    sock: UnixDatagram,
}

impl NotifySocket {
    fn new() -> NotifySocket {
        let dir = TempDir::new("notify");
        let path = dir.join("notify.sock");
        let sock = UnixDatagram::bind(&path).expect("bind the notify socket");
        NotifySocket { path: path.display().to_string(), _dir: dir, sock }
    }

    /// The next datagram, or `None` when none arrives by `deadline`.
    fn next(&self, deadline: Instant) -> Option<String> {
        let left = deadline.checked_duration_since(Instant::now())?;
        self.sock.set_read_timeout(Some(left.max(Duration::from_millis(1)))).expect("set timeout");
        let mut buf = [0u8; 4096];
        match self.sock.recv(&mut buf) {
            Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => None,
        }
    }

    /// Every datagram until one satisfies `done`; panics after `timeout`.
    fn until(&self, what: &str, timeout: Duration, mut done: impl FnMut(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            match self.next(deadline) {
                Some(m) => {
                    let last = done(&m);
                    seen.push(m);
                    if last {
                        return seen;
                    }
                }
                None => panic!("no {what} within {timeout:?}; received: {seen:?}"),
            }
        }
    }
}

#[test]
fn ready_status_and_watchdog_pings_stop_when_the_checker_freezes() {
    let notify = NotifySocket::new();
    // 600 ms: a ping every 300 ms.
    let env =
        [("NOTIFY_SOCKET", notify.path.as_str()), ("WATCHDOG_USEC", "600000"), ("MAGLEVD_TEST_FAULTS", "1")];
    let m = Maglevd::start(
        CONFIG,
        MaglevdOpts {
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        },
    );

    let before_ready = notify.until("READY=1", Duration::from_secs(10), |m| m.contains("READY=1"));
    // READY=1 means the API is up: it answers at once.
    let c = client(&m.grpc_addr);
    c.get_version(&maglev_proto::maglev::GetVersionRequest::new()).expect("GetVersion right after READY=1");
    let status = before_ready.iter().find(|m| m.starts_with("STATUS=")).cloned().unwrap_or_else(|| {
        notify.until("STATUS=", Duration::from_secs(5), |m| m.starts_with("STATUS=")).pop().unwrap()
    });
    assert!(status.contains("1 backends") && status.contains("VPP disabled"), "{status}");

    // Several pings in a row while everything turns.
    let mut pings = 0;
    notify.until("three WATCHDOG=1", Duration::from_secs(5), |m| {
        if m == "WATCHDOG=1" {
            pings += 1;
        }
        pings >= 3
    });

    // Freeze the checker: the watchdog thread notices and stops pinging.
    let cursor = m.daemon.line_count();
    m.daemon.signal(nix::sys::signal::Signal::SIGUSR2);
    m.daemon.wait_for_from(cursor, &["watchdog-withheld", "loop=checker"], Duration::from_secs(5));
    // Whatever was sent before that line is queued already: drop it.
    // From here on, three watchdog periods pass without a ping.
    while notify.next(Instant::now() + Duration::from_millis(5)).is_some() {}
    let deadline = Instant::now() + Duration::from_millis(900);
    while let Some(msg) = notify.next(deadline) {
        assert_ne!(msg, "WATCHDOG=1", "a watchdog ping was sent after the checker froze");
    }
}
