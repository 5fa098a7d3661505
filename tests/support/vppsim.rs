//! vppsim (the VPP stand-in) under test: sockets, request log and control
//! socket in a temp dir.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::{bin, Daemon, TempDir};

pub struct VppSim {
    pub dir: TempDir,
    pub api_socket: PathBuf,
    pub stats_socket: PathBuf,
    pub request_log: PathBuf,
    pub control_socket: PathBuf,
    pub daemon: Daemon,
}

/// One request-log line (a flat JSON object), kept as text with accessors.
#[derive(Debug, Clone)]
pub struct Request {
    pub line: String,
}

impl Request {
    /// The raw value of `key` (strings without quotes).
    pub fn get(&self, key: &str) -> Option<String> {
        let pat = format!("\"{key}\":");
        let start = self.line.find(&pat)? + pat.len();
        let rest = &self.line[start..];
        if let Some(s) = rest.strip_prefix('"') {
            let end = s.find('"')?;
            Some(s[..end].to_string())
        } else {
            let end = rest.find([',', '}']).unwrap_or(rest.len());
            Some(rest[..end].trim().to_string())
        }
    }

    pub fn msg(&self) -> String {
        self.get("msg").unwrap_or_default()
    }

    /// Messages that change VPP's state.
    pub fn is_write(&self) -> bool {
        matches!(
            self.msg().as_str(),
            "lb_conf"
                | "lb_add_del_vip"
                | "lb_add_del_vip_v2"
                | "lb_add_del_as"
                | "lb_add_del_as_v2"
                | "lb_as_set_weight"
                | "lb_flush_vip"
        )
    }
}

impl VppSim {
    pub fn start(extra: &[&str]) -> VppSim {
        let dir = TempDir::new("vppsim");
        Self::start_in(dir, extra)
    }

    /// Starts vppsim with its files in `dir` (reused across restarts).
    pub fn start_in(dir: TempDir, extra: &[&str]) -> VppSim {
        let api_socket = dir.join("api.sock");
        let stats_socket = dir.join("stats.sock");
        let request_log = dir.join("requests.jsonl");
        let control_socket = dir.join("control.sock");
        let mut args: Vec<String> = vec![
            "--api-socket".into(),
            api_socket.display().to_string(),
            "--stats-socket".into(),
            stats_socket.display().to_string(),
            "--request-log".into(),
            request_log.display().to_string(),
            "--control-socket".into(),
            control_socket.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let daemon = Daemon::start(&bin("vppsim"), &args);
        daemon.wait_for(&["vppsim ready"], Duration::from_secs(10));
        VppSim { dir, api_socket, stats_socket, request_log, control_socket, daemon }
    }

    /// Kills vppsim and starts a new process on the same paths.
    pub fn kill_and_restart(self, extra: &[&str]) -> VppSim {
        let VppSim { dir, mut daemon, .. } = self;
        daemon.signal(nix::sys::signal::Signal::SIGKILL);
        let _ = daemon.wait_exit(Duration::from_secs(5));
        drop(daemon);
        for f in ["api.sock", "stats.sock", "control.sock"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        Self::start_in(dir, extra)
    }

    /// Sends a control command; returns the lines before the final `ok`.
    pub fn control(&self, cmd: &str) -> Vec<String> {
        let mut s = UnixStream::connect(&self.control_socket).expect("connect vppsim control socket");
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        writeln!(s, "{cmd}").expect("send control command");
        let mut out = Vec::new();
        for line in BufReader::new(s).lines() {
            let line = line.expect("read control answer");
            if line == "ok" {
                return out;
            }
            assert!(!line.starts_with("error"), "vppsim control {cmd:?}: {line}");
            out.push(line);
        }
        panic!("vppsim control {cmd:?}: no final ok: {out:?}")
    }

    /// The `state` dump: `vip ...` and `  as ...` lines.
    pub fn state(&self) -> Vec<String> {
        self.control("state")
    }

    /// Every request logged so far.
    pub fn requests(&self) -> Vec<Request> {
        std::fs::read_to_string(&self.request_log)
            .unwrap_or_default()
            .lines()
            .map(|l| Request { line: l.to_string() })
            .collect()
    }

    /// Polls the `state` dump until `pred` holds (bounded).
    pub fn wait_state(&self, what: &str, timeout: Duration, pred: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let st = self.state();
            if pred(&st) {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "vppsim never reached: {what} within {timeout:?}; state:\n{}",
                st.join("\n")
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// The `as` lines of one VIP in a `state` dump, as (address, weight, used).
pub fn ases_of(state: &[String], vip_prefix: &str) -> Vec<(String, u32, bool)> {
    let mut out = Vec::new();
    let mut inside = false;
    for l in state {
        if l.starts_with("vip ") {
            let words: Vec<&str> = l.split_whitespace().collect();
            inside = words.get(2) == Some(&vip_prefix) && !l.contains(" removed ");
            continue;
        }
        if inside {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.first() == Some(&"as") {
                let field = |k: &str| w.iter().position(|x| *x == k).and_then(|i| w.get(i + 1)).copied();
                out.push((
                    w.get(1).copied().unwrap_or_default().to_string(),
                    field("weight").and_then(|v| v.parse().ok()).unwrap_or(0),
                    field("used") == Some("1"),
                ));
            }
        }
    }
    out
}
