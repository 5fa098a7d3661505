//! One HTTP/1.x exchange as this listener speaks it: the request head is
//! parsed (GET and HEAD carry no body worth reading), and every response
//! has a length and `Connection: close`, so a connection serves exactly
//! one request and never goes back to waiting.

use std::io::{self, Write};

/// The longest request head accepted (request line and headers).
pub const MAX_HEAD: usize = 8 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Other(String),
}

/// A parsed request head. Headers are not kept: no route needs one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The path of the target, without the query.
    pub path: String,
    /// The query without `?` ("" when absent).
    pub query: String,
}

/// Why a request head was refused (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest(pub &'static str);

/// The length of the head in `buf` (through its blank line), once complete.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Parses a complete head (see [`head_end`]).
pub fn parse_head(head: &[u8]) -> Result<Request, BadRequest> {
    let text = std::str::from_utf8(head).map_err(|_| BadRequest("the request head is not UTF-8"))?;
    let line = text.lines().next().unwrap_or_default();
    let mut words = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(BadRequest("the request line is not METHOD TARGET HTTP/1.x"));
    };
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
        return Err(BadRequest("only HTTP/1.0 and HTTP/1.1 are spoken here"));
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(BadRequest("the method is not a token"));
    }
    if !target.starts_with('/') {
        return Err(BadRequest("the target is not an absolute path"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        other => Method::Other(other.to_string()),
    };
    Ok(Request { method, path: path.to_string(), query: query.to_string() })
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

pub const TEXT: &str = "text/plain; charset=utf-8";

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response { status, headers: vec![("Content-Type", content_type.to_string())], body: body.into() }
    }

    /// A plain-text answer; `message` should say what to do.
    pub fn text(status: u16, message: &str) -> Response {
        Response::new(status, TEXT, format!("{message}\n"))
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// The whole response as bytes (without the body for HEAD).
    pub fn to_bytes(&self, head_only: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + if head_only { 0 } else { self.body.len() });
        let _ = write!(out, "HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        let _ = write!(out, "Content-Length: {}\r\nConnection: close\r\n\r\n", self.body.len());
        if !head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }

    pub fn write_to(&self, w: &mut impl Write, head_only: bool) -> io::Result<()> {
        w.write_all(&self.to_bytes(head_only))?;
        w.flush()
    }
}

/// The head of a response without a length that ends when the connection
/// closes (a Server-Sent Events stream).
pub fn stream_head(content_type: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let _ = write!(out, "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n");
    for (name, value) in headers {
        let _ = write!(out, "{name}: {value}\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_get_with_a_query_parses() {
        let head = b"GET /status.json?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
        assert_eq!(head_end(head), Some(head.len()));
        let r = parse_head(head).unwrap();
        assert_eq!(r, Request { method: Method::Get, path: "/status.json".into(), query: "x=1".into() });
        assert_eq!(parse_head(b"POST / HTTP/1.0\n\n").unwrap().method, Method::Other("POST".into()));
    }

    #[test]
    fn an_incomplete_head_has_no_end() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: a\r\n"), None);
        assert_eq!(head_end(b"GET / HTTP/1.0\n\nrest"), Some(16));
    }

    #[test]
    fn malformed_heads_are_refused_with_a_reason() {
        for (head, want) in [
            (&b"GET /\r\n\r\n"[..], "request line"),
            (b"GET / HTTP/2\r\n\r\n", "HTTP/1.0"),
            (b"get / HTTP/1.1\r\n\r\n", "token"),
            (b"GET http://x/ HTTP/1.1\r\n\r\n", "absolute path"),
            (b"GET /\xff HTTP/1.1\r\n\r\n", "UTF-8"),
        ] {
            let e = parse_head(head).expect_err(&String::from_utf8_lossy(head));
            assert!(e.0.contains(want), "{e:?}");
        }
    }

    #[test]
    fn a_response_has_its_length_and_closes() {
        let r = Response::text(404, "not found");
        let full = String::from_utf8(r.to_bytes(false)).unwrap();
        assert!(full.starts_with("HTTP/1.1 404 Not Found\r\n"), "{full}");
        assert!(full.contains("Content-Length: 10\r\nConnection: close\r\n\r\nnot found\n"), "{full}");
        let head = String::from_utf8(r.to_bytes(true)).unwrap();
        assert!(head.ends_with("\r\n\r\n") && head.contains("Content-Length: 10"), "{head}");
    }
}
