//! The `/metrics` HTTP endpoint on tiny_http.
//!
//! tiny_http parses requests on its own connection threads; two serving
//! threads take parsed requests, encode and answer, so one client that is
//! slow to read its response does not stall every other scrape.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use log::warn;
use socket2::{Domain, Socket, Type};
use tiny_http::{Header, Method, Request, Response, Server};

use super::{Metrics, MetricsError};
use crate::logging::Value;

/// The Content-Type of the Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const SERVING_THREADS: usize = 2;

const INDEX: &str = "<html><head><title>maglevd</title></head><body>\n\
<h1>maglevd</h1>\n<p><a href=\"/metrics\">Metrics</a></p>\n</body></html>\n";

/// The running endpoint; stops on [`MetricsServer::stop`] or drop.
pub struct MetricsServer {
    server: Arc<Server>,
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// Listens on `addr` (`:9091` for every interface, `host:port`,
/// `[::1]:9091`) and serves `GET /metrics` from `metrics`.
pub fn serve(addr: &str, metrics: Arc<Metrics>) -> Result<MetricsServer, MetricsError> {
    let listener = bind(addr)?;
    let local =
        listener.local_addr().map_err(|source| MetricsError::Bind { addr: addr.to_string(), source })?;
    let server = Server::from_listener(listener, None)
        .map_err(|e| MetricsError::Start { addr: addr.to_string(), reason: e.to_string() })?;
    let mut s = MetricsServer {
        server: Arc::new(server),
        addr: local,
        stopping: Arc::new(AtomicBool::new(false)),
        threads: Vec::new(),
    };
    for i in 0..SERVING_THREADS {
        let (server, stopping, metrics) = (s.server.clone(), s.stopping.clone(), metrics.clone());
        let t = std::thread::Builder::new()
            .name(format!("metrics-http-{i}"))
            .spawn(move || serve_loop(&server, &stopping, &metrics))
            .map_err(|e| MetricsError::Start { addr: addr.to_string(), reason: e.to_string() })?;
        s.threads.push(t);
    }
    Ok(s)
}

impl MetricsServer {
    /// The bound address (the real port when `:0` was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and joins the threads; tiny_http closes the listening
    /// socket right after (on its own accept thread).
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        self.stopping.store(true, Ordering::Release);
        // Each unblock wakes exactly one thread blocked in recv().
        for _ in 0..self.threads.len() {
            self.server.unblock();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// Parses and binds the metrics address.
fn bind(addr: &str) -> Result<TcpListener, MetricsError> {
    let bad = |reason: &str| MetricsError::BadAddress { addr: addr.to_string(), reason: reason.to_string() };
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    let port: u16 = port.parse().map_err(|_| bad("the port is not a number in 0..65535"))?;
    let bind_err = |source: io::Error| MetricsError::Bind { addr: addr.to_string(), source };
    if host.is_empty() {
        return bind_any(port).map_err(bind_err);
    }
    if host.starts_with('[') != host.ends_with(']') {
        return Err(bad("unbalanced brackets around the IPv6 address"));
    }
    TcpListener::bind(addr).map_err(bind_err)
}

/// `:port`: every interface, IPv6 and IPv4 on one dual-stack socket when
/// the host has IPv6, else IPv4 only.
fn bind_any(port: u16) -> io::Result<TcpListener> {
    let dual = || -> io::Result<TcpListener> {
        let s = Socket::new(Domain::IPV6, Type::STREAM, None)?;
        s.set_only_v6(false)?;
        s.set_reuse_address(true)?;
        s.bind(&SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port)).into())?;
        s.listen(128)?;
        Ok(s.into())
    };
    match dual() {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => Err(e),
        Err(_) => TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, port)),
    }
}

fn serve_loop(server: &Server, stopping: &AtomicBool, metrics: &Metrics) {
    loop {
        match server.recv() {
            Ok(req) => respond(req, metrics),
            Err(_) if stopping.load(Ordering::Acquire) => return,
            // An accept error (e.g. out of file descriptors) is transient.
            Err(e) => warn!("metrics-accept-failed error={}", Value(&e.to_string())),
        }
    }
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn respond(req: Request, metrics: &Metrics) {
    if !matches!(req.method(), Method::Get | Method::Head) {
        let mut r = Response::from_string("only GET and HEAD are supported\n").with_status_code(405);
        if let Some(h) = header("Allow", "GET, HEAD") {
            r.add_header(h);
        }
        let _ = req.respond(r);
        return;
    }
    let path = req.url().split('?').next().unwrap_or_default();
    let (status, content_type, body) = match path {
        "/metrics" => match metrics.encode() {
            Ok(text) => (200, CONTENT_TYPE, text),
            Err(e) => {
                warn!("metrics-encode-failed error={}", Value(&e.to_string()));
                (500, "text/plain; charset=utf-8", format!("cannot encode metrics: {e}\n"))
            }
        },
        "/" => (200, "text/html; charset=utf-8", INDEX.to_string()),
        _ => (404, "text/plain; charset=utf-8", "not found: see /metrics\n".to_string()),
    };
    // tiny_http sends the headers (with the length) but no body for HEAD.
    let mut r = Response::from_string(body).with_status_code(status);
    if let Some(h) = header("Content-Type", content_type) {
        r.add_header(h);
    }
    // The client may be gone; nothing to do about it.
    let _ = req.respond(r);
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = taken.local_addr().expect("addr").to_string();
        let e = bind(&addr).expect_err("port in use");
        assert!(matches!(e, MetricsError::Bind { .. }), "{e:?}");
        assert!(e.to_string().contains(&addr), "{e}");
    }

    /// One HTTP/1.0 request; returns (status line, headers, body).
    fn get(addr: SocketAddr, method: &str, path: &str) -> (String, String, String) {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(addr).expect("connect");
        c.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
        write!(c, "{method} {path} HTTP/1.0\r\nHost: test\r\n\r\n").expect("write");
        let mut raw = String::new();
        c.read_to_string(&mut raw).expect("read");
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
        (status.to_string(), headers.to_ascii_lowercase(), body.to_string())
    }

    #[test]
    fn serves_metrics_an_index_and_404_then_stops() {
        let metrics = Arc::new(Metrics::new());
        let server = serve("127.0.0.1:0", metrics).expect("serve");
        let addr = server.local_addr();

        let (status, headers, body) = get(addr, "GET", "/metrics");
        assert!(status.ends_with("200 OK"), "{status}");
        assert!(headers.contains("content-type: text/plain; version=0.0.4; charset=utf-8"), "{headers}");
        assert!(body.contains("# TYPE maglev_vpp_connected gauge\nmaglev_vpp_connected 0\n"), "{body}");

        let (status, headers, body) = get(addr, "HEAD", "/metrics?x=1");
        assert!(status.ends_with("200 OK") && body.is_empty(), "{status} {body:?}");
        assert!(headers.contains("content-length:"), "{headers}");

        let (status, headers, body) = get(addr, "GET", "/");
        assert!(status.ends_with("200 OK") && headers.contains("text/html"), "{status} {headers}");
        assert!(body.contains("href=\"/metrics\""), "{body}");

        assert!(get(addr, "GET", "/nope").0.contains(" 404 "));
        let (status, headers, _) = get(addr, "POST", "/metrics");
        assert!(status.contains(" 405 ") && headers.contains("allow: get, head"), "{status} {headers}");

        server.stop();
        // tiny_http's accept thread drops the listener just after the stop.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::net::TcpStream::connect(addr).is_ok() {
            assert!(std::time::Instant::now() < deadline, "still listening 5s after stop");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
