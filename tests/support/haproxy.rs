//! Debian's HAProxy as a reference health checker: a config of our own, run
//! in the foreground, and its servers' check state read from the stats socket.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Daemon, TempDir};

pub struct HaProxy {
    pub dir: TempDir,
    pub stats_socket: PathBuf,
    pub daemon: Daemon,
}

/// One server's check state as `show stat` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCheck {
    /// `UP`, `DOWN`, `UP 2/3` (going down), `DOWN 1/2` (going up), ...
    pub status: String,
    /// HAProxy's single counter (0 .. rise+fall-1).
    pub health: u32,
}

impl ServerCheck {
    pub fn is_up(&self) -> bool {
        self.status.starts_with("UP")
    }
}

impl HaProxy {
    /// The stats socket a config for `dir` must declare (see [`HaProxy::start`]).
    pub fn stats_socket_in(dir: &TempDir) -> PathBuf {
        dir.join("stats.sock")
    }

    /// Starts `haproxy -db` on `config`, which gets a `global` section with
    /// the stats socket prepended. Waits until the socket answers.
    pub fn start(dir: TempDir, config: &str) -> HaProxy {
        let stats_socket = Self::stats_socket_in(&dir);
        let full = format!("global\n  stats socket {} level admin\n\n{config}", stats_socket.display());
        let cfg = dir.write("haproxy.cfg", &full);
        let check = std::process::Command::new("haproxy").arg("-c").arg("-f").arg(&cfg).output();
        let check = check.expect("run haproxy -c (Debian package haproxy; `make test` installs it)");
        assert!(check.status.success(), "haproxy -c: {}", String::from_utf8_lossy(&check.stderr));
        let args: [&std::ffi::OsStr; 3] = ["-db".as_ref(), "-f".as_ref(), cfg.as_os_str()];
        let daemon = Daemon::start(Path::new("haproxy"), args);
        let h = HaProxy { dir, stats_socket, daemon };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while show_stat(&h.stats_socket).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "haproxy stats socket never answered: {}",
                h.daemon.tail(20)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        h
    }

    /// The check state of server `server` of backend `backend`.
    pub fn server(&self, backend: &str, server: &str) -> Result<ServerCheck, String> {
        server_check(&self.stats_socket, backend, server)
    }
}

/// `show stat` on `socket` (CSV with a `# ` header).
pub fn show_stat(socket: &Path) -> std::io::Result<String> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"show stat\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// The check state of one server, read from the stats socket at `socket`.
pub fn server_check(socket: &Path, backend: &str, server: &str) -> Result<ServerCheck, String> {
    let csv = show_stat(socket).map_err(|e| format!("show stat: {e}"))?;
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().trim_start_matches("# ").split(',').collect();
    let col =
        |name: &str| header.iter().position(|h| *h == name).ok_or(format!("no column {name} in show stat"));
    let (status, health) = (col("status")?, col("check_health")?);
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        if f.first() == Some(&backend) && f.get(1) == Some(&server) {
            let health =
                f.get(health).and_then(|h| h.parse().ok()).ok_or(format!("bad check_health: {line}"))?;
            return Ok(ServerCheck { status: f.get(status).unwrap_or(&"").to_string(), health });
        }
    }
    Err(format!("no server {backend}/{server} in show stat"))
}
