//! The metrics listener under pressure: idle connections cost maglevd no
//! threads and cannot stop a scrape, and what exceeds a limit is answered
//! 503 at once, status page streams included.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use testsupport::metrics::http_get;
use testsupport::{loopback_net, Maglevd, MaglevdOpts};

const WAIT: Duration = Duration::from_secs(10);

/// maglevd's thread count, from /proc.
fn threads(m: &Maglevd) -> usize {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", m.daemon.pid())).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("a Threads: line")
}

fn start() -> (Maglevd, String) {
    let net = loopback_net();
    let addr = format!("{}.{}.{}.254:9091", net[0], net[1], net[2]);
    let config = "maglev:\n  backends:\n    s0: {address: 127.0.0.1}\n  frontends:\n    f:\n      address: 192.0.2.1\n      protocol: tcp\n      port: 80\n      pools:\n        - name: p\n          backends:\n            s0: {}\n";
    let m = Maglevd::start(config, MaglevdOpts { metrics_addr: addr.clone(), ..Default::default() });
    m.daemon.wait_for(&["metrics-listen", &format!("addr={addr}")], WAIT);
    (m, addr)
}

/// Reads what the server sent until it closes (or 5 s pass).
fn read_answer(mut c: TcpStream) -> String {
    c.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn five_hundred_idle_connections_neither_stop_a_scrape_nor_add_threads() {
    let (m, addr) = start();
    // One scrape first, so every lazily started thread exists.
    assert!(http_get(&addr, "/metrics").expect("first scrape").0.ends_with("200 OK"));
    let before = threads(&m);

    let idle: Vec<TcpStream> = (0..500)
        .map(|i| TcpStream::connect(&addr).unwrap_or_else(|e| panic!("idle connection {i}: {e}")))
        .collect();
    let started = Instant::now();
    let (status, _, body) = http_get(&addr, "/metrics").expect("scrape under pressure");
    let took = started.elapsed();
    assert!(status.ends_with("200 OK") && body.contains("maglev_backend_state"), "{status}");
    assert!(took < Duration::from_secs(1), "the scrape took {took:?} behind 500 idle connections");

    let during = threads(&m);
    assert!(during <= before + 2, "maglevd went from {before} to {during} threads with 500 idle connections");

    // Past 256 waiting connections the oldest are answered 503 at once.
    let oldest = read_answer(idle.into_iter().next().expect("one"));
    assert!(oldest.starts_with("HTTP/1.1 503 ") && oldest.contains("limit 256"), "{oldest}");
    eprintln!("threads: {before} before, {during} with 500 idle connections; scrape in {took:?}");
}

#[test]
fn status_streams_count_against_the_limit_and_the_excess_gets_503_at_once() {
    let (m, addr) = start();
    let before = threads(&m);
    let mut streams = Vec::new();
    for i in 0..16 {
        let mut c = TcpStream::connect(&addr).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        write!(c, "GET /status/events HTTP/1.1\r\nHost: t\r\n\r\n").expect("write");
        let mut head = [0u8; 256];
        let n = c.read(&mut head).expect("stream head");
        let head = String::from_utf8_lossy(&head[..n]);
        assert!(
            head.starts_with("HTTP/1.1 200 OK") && head.contains("text/event-stream"),
            "stream {i}: {head}"
        );
        streams.push(c);
    }
    let started = Instant::now();
    let (status, _, body) = http_get(&addr, "/status/events").expect("the 17th stream");
    assert!(status.contains(" 503 ") && body.contains("limit 16"), "{status} {body}");
    assert!(started.elapsed() < Duration::from_secs(1), "503 after {:?}", started.elapsed());
    // Pages and scrapes are still answered while every stream is taken.
    assert!(http_get(&addr, "/status").expect("page").0.ends_with("200 OK"));
    assert!(http_get(&addr, "/metrics").expect("scrape").0.ends_with("200 OK"));
    let with_streams = threads(&m);
    assert!(with_streams <= before + 16 + 2, "{before} threads, then {with_streams} with 16 streams");

    // A closed page gives its place back.
    drop(streams.pop());
    let deadline = Instant::now() + WAIT;
    loop {
        let mut c = TcpStream::connect(&addr).expect("connect");
        write!(c, "GET /status/events HTTP/1.1\r\nHost: t\r\n\r\n").expect("write");
        c.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let mut head = [0u8; 64];
        let n = c.read(&mut head).unwrap_or(0);
        if String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200 OK") {
            break;
        }
        assert!(Instant::now() < deadline, "no stream place freed within {WAIT:?} of closing one");
        std::thread::sleep(Duration::from_millis(100));
    }
}
