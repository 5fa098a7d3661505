//! Runs the real vppsim binary on sockets in a private temporary directory
//! for one test, and talks to its control socket and request log.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long vppsim may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

pub struct VppSim {
    child: Child,
    pub dir: PathBuf,
    pub api: PathBuf,
    pub stats: PathBuf,
    pub control: PathBuf,
    pub request_log: PathBuf,
}

impl VppSim {
    /// Starts vppsim with its control socket and request log, plus `extra`
    /// flags, and waits for its `vppsim ready` line.
    pub fn start(extra: &[&str]) -> VppSim {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "vppsim-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the test's temp dir");
        let api = dir.join("api.sock");
        let stats = dir.join("stats.sock");
        let control = dir.join("control.sock");
        let request_log = dir.join("requests.jsonl");
        let mut child = Command::new(env!("CARGO_BIN_EXE_vppsim"))
            .arg("--api-socket")
            .arg(&api)
            .arg("--stats-socket")
            .arg(&stats)
            .arg("--control-socket")
            .arg(&control)
            .arg("--request-log")
            .arg(&request_log)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start vppsim");
        let stdout = child.stdout.take().expect("vppsim stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let sim = VppSim { child, dir, api, stats, control, request_log };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) if line == "vppsim ready" => sim,
            other => panic!("vppsim did not report ready within {START_TIMEOUT:?}: {other:?}"),
        }
    }

    /// Sends one control command; returns the lines before `ok`, or panics
    /// with the `error` line.
    pub fn control(&self, command: &str) -> Vec<String> {
        self.try_control(command).unwrap_or_else(|e| panic!("control `{command}` failed: {e}"))
    }

    pub fn try_control(&self, command: &str) -> Result<Vec<String>, String> {
        let mut s = UnixStream::connect(&self.control).map_err(|e| format!("connect: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
        s.write_all(format!("{command}\n").as_bytes()).map_err(|e| e.to_string())?;
        let mut lines = Vec::new();
        for line in BufReader::new(s).lines() {
            let line = line.map_err(|e| format!("read: {e}"))?;
            if line == "ok" {
                return Ok(lines);
            }
            if line.starts_with("error") {
                return Err(line);
            }
            lines.push(line);
        }
        Err("control socket closed without an answer".into())
    }

    /// The request log's lines so far.
    pub fn request_log_lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.request_log).unwrap_or_default().lines().map(str::to_string).collect()
    }

    /// Waits until `pred` holds for the request log, or panics.
    pub fn wait_for_log(&self, what: &str, pred: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let lines = self.request_log_lines();
            if pred(&lines) {
                return lines;
            }
            assert!(Instant::now() < deadline, "request log never showed {what}:\n{}", lines.join("\n"));
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for VppSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
