//! A headless Chromium (Debian's `chromium`) driven over its DevTools
//! protocol on a pipe (`--remote-debugging-pipe`: JSON messages ended by
//! NUL on file descriptors 3 and 4), so tests need no WebDriver and no
//! WebSocket client. Every event the page produces is kept, for checks
//! such as "no console errors" or "no request to another host".

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use serde_json::{json, Value};

use crate::TempDir;

pub struct Browser {
    child: Child,
    to_browser: ChildStdin,
    from_browser: Receiver<Value>,
    next_id: u64,
    /// Events received so far (messages without an id), in order.
    pub events: Vec<Value>,
    _profile: TempDir,
}

/// One tab, attached in flat mode: calls carry its session id.
pub struct Page {
    pub session: String,
}

const CALL_TIMEOUT: Duration = Duration::from_secs(30);

impl Browser {
    /// Starts Chromium with a fresh profile and nothing running in the
    /// background (no updates, sync or other network of its own).
    pub fn start() -> Browser {
        let profile = TempDir::new("chromium");
        let exe = ["chromium", "chromium-browser"]
            .into_iter()
            .find(|c| {
                Command::new("sh")
                    .args(["-c", &format!("command -v {c}")])
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            .expect("chromium is not installed (Debian package chromium; `make test-deps` installs it)");
        // The shell moves our pipes to fds 3 (commands) and 4 (answers).
        let script = format!("exec {exe} \"$@\" 3<&0 4>&1 </dev/null >/dev/null");
        let mut child = Command::new("sh")
            .args(["-c", &script, "sh"])
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--remote-debugging-pipe",
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        let to_browser = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = crossbeam_channel::unbounded();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut buf = Vec::new();
                match r.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        buf.pop();
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                            if tx.send(v).is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        });
        Browser { child, to_browser, from_browser: rx, next_id: 1, events: Vec::new(), _profile: profile }
    }

    /// Sends one command and waits for its answer (events arriving
    /// meanwhile are kept).
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).expect("encode");
        bytes.push(0);
        self.to_browser.write_all(&bytes).unwrap_or_else(|e| panic!("send {method} to chromium: {e}"));
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_browser.recv_timeout(left) {
                Ok(v) if v["id"] == json!(id) => {
                    if let Some(e) = v.get("error") {
                        panic!("chromium refused {method}: {e}");
                    }
                    return v["result"].clone();
                }
                Ok(v) => self.events.push(v),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("chromium did not answer {method} within {CALL_TIMEOUT:?}")
                }
                Err(RecvTimeoutError::Disconnected) => panic!("chromium exited while answering {method}"),
            }
        }
    }

    /// Takes the events that arrived without waiting for anything.
    pub fn drain(&mut self) {
        while let Ok(v) = self.from_browser.try_recv() {
            self.events.push(v);
        }
    }

    /// Opens a tab with the runtime, console log and network events on, and
    /// loads `url` (waits for its load event).
    pub fn open(&mut self, url: &str) -> Page {
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().expect("targetId").to_string();
        let attached =
            self.call(None, "Target.attachToTarget", json!({"targetId": target_id, "flatten": true}));
        let page = Page { session: attached["sessionId"].as_str().expect("sessionId").to_string() };
        for domain in ["Runtime.enable", "Log.enable", "Network.enable", "Page.enable"] {
            self.call(Some(&page.session), domain, json!({}));
        }
        self.events.clear();
        self.call(Some(&page.session), "Page.navigate", json!({"url": url}));
        self.wait_event("Page.loadEventFired", Duration::from_secs(20));
        page
    }

    fn wait_event(&mut self, method: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            self.drain();
            if self.events.iter().any(|e| e["method"] == json!(method)) {
                return;
            }
            assert!(Instant::now() < deadline, "no {method} within {timeout:?}");
            if let Ok(v) = self.from_browser.recv_timeout(Duration::from_millis(50)) {
                self.events.push(v);
            }
        }
    }

    /// Evaluates `expr` in the page and returns its value (JSON).
    pub fn eval(&mut self, page: &Page, expr: &str) -> Value {
        let r = self.call(
            Some(&page.session),
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expr} threw in the page: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Console errors, uncaught exceptions and error log entries so far.
    pub fn errors(&mut self) -> Vec<Value> {
        self.drain();
        self.events
            .iter()
            .filter(|e| match e["method"].as_str() {
                Some("Runtime.exceptionThrown") => true,
                Some("Runtime.consoleAPICalled") => e["params"]["type"] == json!("error"),
                Some("Log.entryAdded") => e["params"]["entry"]["level"] == json!("error"),
                _ => false,
            })
            .cloned()
            .collect()
    }

    /// Every URL the page requested so far.
    pub fn requested_urls(&mut self) -> Vec<String> {
        self.drain();
        self.events
            .iter()
            .filter(|e| e["method"] == json!("Network.requestWillBeSent"))
            .filter_map(|e| e["params"]["request"]["url"].as_str().map(str::to_string))
            .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
