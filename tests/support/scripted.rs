//! An HTTP health endpoint whose answers follow scripts: `GET /<checker>/<n>`
//! gets the next answer of script `n` (200 for a pass, 500 for a failure),
//! counted per checker. Just before answering probe k, the server asks an
//! observer for that checker's view of the backend, which is its state
//! after probe k-1: so two checkers are compared probe by probe, keyed by
//! probe number and never by wall-clock time.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// What a checker reports about one backend after a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub up: bool,
    /// The single rise/fall counter.
    pub counter: u32,
    /// HAProxy's `N/M` when the checker shows one.
    pub shown: Option<String>,
}

/// Reads checker state for script `n`.
pub type Observer = Box<dyn Fn(usize) -> Result<Seen, String> + Send + Sync>;

struct Checker {
    name: String,
    observer: OnceLock<Observer>,
}

#[derive(Default)]
struct Progress {
    /// (checker, script) -> probes answered.
    served: HashMap<(usize, usize), usize>,
    /// (checker, script) -> what the checker reported after each probe.
    seen: HashMap<(usize, usize), Vec<Seen>>,
    errors: Vec<String>,
}

pub struct ScriptedServer {
    pub addr: SocketAddr,
    scripts: Arc<Vec<Vec<bool>>>,
    checkers: Arc<Vec<Checker>>,
    progress: Arc<(Mutex<Progress>, Condvar)>,
}

impl ScriptedServer {
    /// Listens on `ip`:ephemeral; `checkers` name the path prefixes.
    pub fn start(ip: &str, checkers: &[&str], scripts: Vec<Vec<bool>>) -> ScriptedServer {
        let listener = TcpListener::bind((ip, 0)).expect("bind the scripted server");
        let addr = listener.local_addr().expect("local addr");
        let server = ScriptedServer {
            addr,
            scripts: Arc::new(scripts),
            checkers: Arc::new(
                checkers.iter().map(|c| Checker { name: c.to_string(), observer: OnceLock::new() }).collect(),
            ),
            progress: Arc::default(),
        };
        let (scripts, checkers, progress) =
            (server.scripts.clone(), server.checkers.clone(), server.progress.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (scripts, checkers, progress) = (scripts.clone(), checkers.clone(), progress.clone());
                std::thread::spawn(move || serve(conn, &scripts, &checkers, &progress));
            }
        });
        server
    }

    /// Sets how to read checker `name`'s state (before or after it starts).
    pub fn observe(&self, name: &str, observer: Observer) {
        let c = self.checkers.iter().find(|c| c.name == name).expect("known checker");
        assert!(c.observer.set(observer).is_ok(), "observer of {name} set twice");
    }

    /// Waits until every checker has probed every script to its end; returns
    /// per checker and script what it reported after each probe.
    pub fn wait_done(&self, timeout: Duration) -> Vec<Vec<Vec<Seen>>> {
        let deadline = Instant::now() + timeout;
        let (lock, cv) = &*self.progress;
        let mut p = lock.lock();
        loop {
            assert!(p.errors.is_empty(), "scripted server: {:?}", p.errors);
            let behind: Vec<String> = (0..self.checkers.len())
                .flat_map(|c| (0..self.scripts.len()).map(move |s| (c, s)))
                .filter(|k| p.seen.get(k).map_or(0, Vec::len) < self.scripts[k.1].len())
                .map(|(c, s)| {
                    format!(
                        "{}/{s} at {}/{}",
                        self.checkers[c].name,
                        p.seen.get(&(c, s)).map_or(0, Vec::len),
                        self.scripts[s].len()
                    )
                })
                .collect();
            if behind.is_empty() {
                return (0..self.checkers.len())
                    .map(|c| (0..self.scripts.len()).map(|s| p.seen[&(c, s)].clone()).collect())
                    .collect();
            }
            let now = Instant::now();
            assert!(now < deadline, "scripts not finished within {timeout:?}: {}", behind.join(", "));
            cv.wait_for(&mut p, (deadline - now).min(Duration::from_millis(500)));
        }
    }
}

fn serve(
    mut conn: TcpStream,
    scripts: &[Vec<bool>],
    checkers: &[Checker],
    progress: &(Mutex<Progress>, Condvar),
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or_default().to_string();
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let checker = parts.next().and_then(|c| checkers.iter().position(|k| k.name == c));
    let script = parts.next().and_then(|n| n.parse::<usize>().ok()).filter(|n| *n < scripts.len());
    let (Some(c), Some(s)) = (checker, script) else {
        let _ = conn.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let (lock, cv) = progress;
    let k = {
        let mut p = lock.lock();
        let n = p.served.entry((c, s)).or_insert(0);
        *n += 1;
        *n - 1
    };
    let script = &scripts[s];
    if k >= 1 && k <= script.len() {
        // The checker's state after probe k-1: it schedules probe k only
        // once it has applied k-1's result.
        let observer = wait_observer(&checkers[c]);
        let seen = observer(s);
        let mut p = lock.lock();
        match seen {
            Ok(seen) => p.seen.entry((c, s)).or_default().push(seen),
            Err(e) => p.errors.push(format!("{} script {s} probe {}: {e}", checkers[c].name, k - 1)),
        }
        cv.notify_all();
    }
    let pass = script.get(k).or(script.last()).copied().unwrap_or(true);
    let answer: &[u8] = if pass {
        b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    } else {
        b"HTTP/1.0 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    };
    let _ = conn.write_all(answer);
}

fn wait_observer(c: &Checker) -> &Observer {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(o) = c.observer.get() {
            return o;
        }
        assert!(Instant::now() < deadline, "no observer for checker {}", c.name);
        std::thread::sleep(Duration::from_millis(10));
    }
}
