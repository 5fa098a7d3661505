//! `/metrics` alone on the HTTP listener (benchmarks and tests); maglevd
//! itself serves it with the status page (`crate::http::Routes`).

use std::sync::Arc;

use super::{Metrics, MetricsError};
use crate::http::{self, HttpServer, Limits, Routes};

/// The Content-Type of the Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The running endpoint; stops on `stop()` or drop.
pub type MetricsServer = HttpServer;

/// Listens on `addr` (`:9091`, `host:port`, `[::1]:9091`) and serves
/// `GET /metrics` from `metrics`.
pub fn serve(addr: &str, metrics: Arc<Metrics>) -> Result<MetricsServer, MetricsError> {
    http::serve(addr, Arc::new(Routes { metrics, status: None }), Limits::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

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
        // Streamed: the body ends when the connection closes.
        assert!(headers.contains("connection: close") && !headers.contains("content-length:"), "{headers}");

        let (status, headers, body) = get(addr, "GET", "/");
        assert!(status.ends_with("200 OK") && headers.contains("text/html"), "{status} {headers}");
        assert!(body.contains("href=\"/metrics\""), "{body}");

        assert!(get(addr, "GET", "/nope").0.contains(" 404 "));
        assert!(get(addr, "GET", "/status").0.contains(" 404 "), "no status page without a source");
        let (status, headers, _) = get(addr, "POST", "/metrics");
        assert!(status.contains(" 405 ") && headers.contains("allow: get, head"), "{status} {headers}");

        server.stop();
        assert!(std::net::TcpStream::connect(addr).is_err(), "still listening after stop");
    }
}
