//! Scraping maglevd's `/metrics` in tests: a plain HTTP GET, a parser of
//! our own exposition, bounded polling, and `promtool check metrics`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on `ip` (bound, then released for the daemon to take).
pub fn free_port(ip: &str) -> u16 {
    let l = std::net::TcpListener::bind((ip, 0)).expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// One scrape: the Content-Type and the body.
pub struct Scrape {
    pub content_type: String,
    pub body: String,
    pub samples: Vec<Sample>,
}

#[derive(Debug)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Scrape {
    /// The value of the series `name` whose labels include `labels`.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
    }

    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or_else(|| panic!("no series {name}{labels:?} in:\n{}", self.body))
    }
}

/// Parses sample lines of our own exposition (label values without
/// commas or escaped quotes, which holds for the names in this test).
pub fn parse(body: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in body.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let Some((series, value)) = line.rsplit_once(' ') else { panic!("bad sample line {line:?}") };
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => {
                let rest = rest.strip_suffix('}').unwrap_or_else(|| panic!("bad labels in {line:?}"));
                let labels = rest
                    .split(',')
                    .filter_map(|p| p.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
                    .collect();
                (n.to_string(), labels)
            }
            None => (series.to_string(), BTreeMap::new()),
        };
        let value = if value == "+Inf" {
            f64::INFINITY
        } else {
            value.parse().unwrap_or_else(|_| panic!("bad value in {line:?}"))
        };
        out.push(Sample { name, labels, value });
    }
    out
}

/// GET `path` over HTTP/1.0; (status line, lower-cased headers, body).
pub fn http_get(addr: &str, path: &str) -> std::io::Result<(String, String, String)> {
    let mut c = TcpStream::connect(addr)?;
    c.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(c, "GET {path} HTTP/1.0\r\nHost: maglevd\r\n\r\n")?;
    let mut raw = String::new();
    c.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    Ok((status.to_string(), headers.to_ascii_lowercase(), body.to_string()))
}

pub fn scrape(addr: &str) -> Scrape {
    let (status, headers, body) =
        http_get(addr, "/metrics").unwrap_or_else(|e| panic!("GET {addr}/metrics: {e}"));
    assert!(status.ends_with("200 OK"), "GET /metrics: {status}\n{body}");
    let content_type = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-type:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    let samples = parse(&body);
    Scrape { content_type, body, samples }
}

/// Scrapes until `check` returns `Some`, at most `timeout`.
pub fn poll<T>(addr: &str, what: &str, timeout: Duration, check: impl Fn(&Scrape) -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        let s = scrape(addr);
        if let Some(v) = check(&s) {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("within {timeout:?}: {what}; last scrape:\n{}", s.body);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn promtool_check(body: &str) {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot run promtool ({e}): install the Debian package `prometheus` (`make test-deps` does)"
        ),
    };
    child.stdin.take().expect("promtool stdin").write_all(body.as_bytes()).expect("feed promtool");
    let out = child.wait_with_output().expect("promtool output");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
