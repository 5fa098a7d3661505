//! Daemons (maglevd, vppsim) run as child processes. Their stderr lines are
//! captured so that tests can wait for a log line (bounded) instead of
//! sleeping.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use parking_lot::{Condvar, Mutex};

/// One captured line with the time it was read.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub at: Instant,
    pub text: String,
}

#[derive(Default)]
struct Captured {
    lines: Vec<LogLine>,
    closed: bool,
}

pub struct Daemon {
    name: String,
    child: Option<Child>,
    log: Arc<(Mutex<Captured>, Condvar)>,
}

impl Daemon {
    /// Starts `program` with `args`, capturing stderr (and stdout).
    pub fn start<I, S>(program: &Path, args: I) -> Daemon
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Daemon::start_with_env(program, args, &[])
    }

    /// Like `start`, with extra environment variables.
    pub fn start_with_env<I, S>(program: &Path, args: I, env: &[(&str, &str)]) -> Daemon
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let name = program.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let log: Arc<(Mutex<Captured>, Condvar)> = Arc::default();
        for pipe in [
            child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            let echo = std::env::var_os("MAGLEV_TEST_ECHO").is_some();
            let prefix = name.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(text) = line else { break };
                    if echo {
                        eprintln!("[{prefix}] {text}");
                    }
                    let (m, cv) = &*log;
                    m.lock().lines.push(LogLine { at: Instant::now(), text });
                    cv.notify_all();
                }
                let (m, cv) = &*log;
                m.lock().closed = true;
                cv.notify_all();
            });
        }
        Daemon { name, child: Some(child), log }
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0))
    }

    pub fn signal(&self, sig: Signal) {
        kill(self.pid(), sig).unwrap_or_else(|e| panic!("signal {sig} to {}: {e}", self.name));
    }

    /// All lines so far.
    pub fn lines(&self) -> Vec<LogLine> {
        self.log.0.lock().lines.clone()
    }

    /// The number of lines so far (a cursor for `wait_for_from`).
    pub fn line_count(&self) -> usize {
        self.log.0.lock().lines.len()
    }

    /// Waits until a line containing every one of `needles` appears, and
    /// returns it. Panics with the log tail after `timeout`.
    pub fn wait_for(&self, needles: &[&str], timeout: Duration) -> LogLine {
        self.wait_for_from(0, needles, timeout)
    }

    /// Like `wait_for`, considering only lines from index `from` on.
    pub fn wait_for_from(&self, from: usize, needles: &[&str], timeout: Duration) -> LogLine {
        match self.try_wait_for_from(from, needles, timeout) {
            Some(l) => l,
            None => panic!(
                "{}: no line with {:?} within {:?}; last lines:\n{}",
                self.name,
                needles,
                timeout,
                self.tail(40)
            ),
        }
    }

    /// Like `wait_for_from`, but returns `None` on timeout.
    pub fn try_wait_for_from(&self, from: usize, needles: &[&str], timeout: Duration) -> Option<LogLine> {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.log;
        let mut g = m.lock();
        let mut seen = from;
        loop {
            if let Some(l) = g.lines.iter().skip(seen).find(|l| needles.iter().all(|n| l.text.contains(n))) {
                return Some(l.clone());
            }
            seen = g.lines.len().max(from);
            if g.closed || cv.wait_until(&mut g, deadline).timed_out() {
                return g
                    .lines
                    .iter()
                    .skip(from)
                    .find(|l| needles.iter().all(|n| l.text.contains(n)))
                    .cloned();
            }
        }
    }

    /// The last `n` lines, for failure messages.
    pub fn tail(&self, n: usize) -> String {
        let g = self.log.0.lock();
        let start = g.lines.len().saturating_sub(n);
        g.lines[start..].iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n")
    }

    /// Waits for the process to exit (bounded) and returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return status.code();
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then SIGKILL if it does not exit within 5 s.
    pub fn stop(&mut self) -> Option<i32> {
        self.child.as_ref()?;
        let _ = kill(self.pid(), Signal::SIGTERM);
        let code = self.wait_exit(Duration::from_secs(5));
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        code
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}
