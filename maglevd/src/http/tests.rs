use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::*;

/// Answers `/block` only when the test sends on `release`; `/stream` holds
/// a stream open until the server stops; anything else: 200 "ok".
struct TestHandler {
    release: Receiver<()>,
    blocked: AtomicUsize,
}

impl Handler for TestHandler {
    fn handle(&self, req: &Request) -> Reply {
        match req.path.as_str() {
            "/block" => {
                self.blocked.fetch_add(1, Ordering::SeqCst);
                let _ = self.release.recv_timeout(Duration::from_secs(10));
                Reply::Full(Response::text(200, "released"))
            }
            "/stream" => Reply::Stream(Box::new(|mut ctx: StreamCtx| {
                let _ = ctx.socket.write_all(&stream_head("text/event-stream", &[]));
                let _ = ctx.socket.write_all(b"data: hello\n\n");
                let _ = ctx.shutdown.recv();
            })),
            _ => Reply::Full(Response::text(200, "ok")),
        }
    }
}

fn start(limits: Limits) -> (HttpServer, Sender<()>, Arc<TestHandler>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let handler = Arc::new(TestHandler { release: rx, blocked: AtomicUsize::new(0) });
    let server = serve("127.0.0.1:0", handler.clone(), limits).expect("serve");
    (server, tx, handler)
}

fn send(addr: SocketAddr, raw: &str) -> TcpStream {
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    c.write_all(raw.as_bytes()).expect("write");
    c
}

/// Reads to EOF; the status line and the rest.
fn answer(mut c: TcpStream) -> (String, String) {
    let mut raw = String::new();
    let _ = c.read_to_string(&mut raw);
    let (status, rest) = raw.split_once("\r\n").unwrap_or((&raw, ""));
    (status.to_string(), rest.to_string())
}

fn get(addr: SocketAddr, path: &str) -> (String, String) {
    answer(send(addr, &format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")))
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "not within 5s: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn bad_addresses_are_named_in_the_error() {
    for (addr, want) in [
        ("9091", "no port"),
        ("localhost:http", "not a number"),
        (":99999", "not a number"),
        ("[::1:9091", "brackets"),
    ] {
        let e = bind(addr).expect_err(addr).to_string();
        assert!(e.contains(&format!("{addr:?}")) && e.contains(want), "{addr}: {e}");
    }
}

#[test]
fn every_address_form_binds() {
    for addr in [":0", "127.0.0.1:0", "localhost:0", "[::1]:0"] {
        match bind(addr) {
            Ok(l) => assert!(l.local_addr().expect("local addr").port() != 0, "{addr}"),
            // A host without IPv6 loopback cannot bind [::1].
            Err(e) if addr == "[::1]:0" => eprintln!("skipping {addr}: {e}"),
            Err(e) => panic!("{addr}: {e}"),
        }
    }
}

#[test]
fn a_port_in_use_is_a_bind_error_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let e = bind(&addr).expect_err("port in use");
    assert!(matches!(e, MetricsError::Bind { .. }), "{e:?}");
    assert!(e.to_string().contains(&addr), "{e}");
}

#[test]
fn answers_then_stops_listening() {
    let (server, _release, _) = start(Limits::default());
    let addr = server.local_addr();
    let (status, rest) = get(addr, "/x?y=1");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(rest.contains("Content-Length: 3\r\nConnection: close\r\n\r\nok\n"), "{rest}");
    // A head sent in pieces is put together.
    let mut c = send(addr, "GET / HT");
    std::thread::sleep(Duration::from_millis(20));
    c.write_all(b"TP/1.0\r\n\r\n").expect("write");
    assert_eq!(answer(c).0, "HTTP/1.1 200 OK");
    server.stop();
    assert!(TcpStream::connect(addr).is_err(), "still listening after stop");
}

#[test]
fn malformed_oversized_and_slow_heads_are_refused() {
    let limits = Limits { head_timeout: Duration::from_millis(300), ..Limits::default() };
    let (server, _release, _) = start(limits);
    let addr = server.local_addr();
    let (status, rest) = answer(send(addr, "GET /\r\n\r\n"));
    assert!(status.contains(" 400 ") && rest.contains("METHOD TARGET"), "{status} {rest}");
    let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
    assert!(answer(send(addr, &big)).0.contains(" 431 "));
    let started = Instant::now();
    let (status, _) = answer(send(addr, "GET / HTTP/1.1\r\n"));
    assert!(status.contains(" 408 "), "{status}");
    assert!(started.elapsed() < Duration::from_secs(3), "408 after {:?}", started.elapsed());
}

#[test]
fn idle_connections_beyond_the_limit_close_the_oldest_and_a_request_is_answered() {
    let limits = Limits { waiting: 8, ..Limits::default() };
    let (server, _release, _) = start(limits);
    let addr = server.local_addr();
    let idle: Vec<TcpStream> = (0..20).map(|_| send(addr, "")).collect();
    let started = Instant::now();
    let (status, _) = get(addr, "/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(started.elapsed() < Duration::from_secs(1), "answered after {:?}", started.elapsed());
    // The oldest idle connection was answered 503 and closed.
    let (status, rest) = answer(idle.into_iter().next().expect("one"));
    assert!(status.contains(" 503 ") && rest.contains("limit 8"), "{status} {rest}");
}

#[test]
fn a_full_queue_and_too_many_streams_get_503_at_once() {
    let limits = Limits { workers: 1, queue: 1, streams: 1, ..Limits::default() };
    let (server, release, handler) = start(limits);
    let addr = server.local_addr();
    // One request holds the only worker, one waits in the queue.
    let held = send(addr, "GET /block HTTP/1.1\r\n\r\n");
    wait_until("the worker holds /block", || handler.blocked.load(Ordering::SeqCst) == 1);
    let queued = send(addr, "GET /block HTTP/1.1\r\n\r\n");
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    let (status, rest) = get(addr, "/");
    assert!(status.contains(" 503 ") && rest.contains("busy"), "{status} {rest}");
    assert!(started.elapsed() < Duration::from_secs(1), "503 after {:?}", started.elapsed());
    release.send(()).expect("release");
    release.send(()).expect("release");
    assert_eq!(answer(held).0, "HTTP/1.1 200 OK");
    assert_eq!(answer(queued).0, "HTTP/1.1 200 OK");

    // A stream runs on its own thread: the worker is free again.
    let mut stream = send(addr, "GET /stream HTTP/1.1\r\n\r\n");
    let mut first = [0u8; 64];
    let n = stream.read(&mut first).expect("stream head");
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200 OK"));
    wait_until("one stream counted", || server.streams() == 1);
    let (status, rest) = get(addr, "/stream");
    assert!(status.contains(" 503 ") && rest.contains("limit 1"), "{status} {rest}");
    assert_eq!(get(addr, "/").0, "HTTP/1.1 200 OK");
    // Stopping ends the stream.
    server.stop();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
}
