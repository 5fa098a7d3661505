//! Reading an HTTP/1.x response from an untrusted peer.
//!
//! Everything here is bounded: the header block by `MAX_HEAD`, the body we
//! look at by `MAX_BODY_SCAN`, each chunk-size or trailer line by
//! `MAX_LINE`. Whatever the peer sends, the outcome is a parsed head, a
//! body verdict, a timeout or a `Malformed` message; never a panic.

use std::cell::Cell;
use std::io::{self, Read};

use crate::config::HttpMethod;
use crate::probe::deadline::is_timeout;
use crate::probe::socket::io_detail;

/// The status line plus headers may not exceed this.
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// expect-body looks at most at this much of the (decoded) body.
pub(crate) const MAX_BODY_SCAN: usize = 64 * 1024;
/// Longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResponseError {
    /// The deadline expired before the needed bytes arrived (L7TOUT).
    Timeout,
    /// The peer sent something that is not HTTP/1.x, or closed early (L7RSP).
    Malformed(String),
}

/// How the body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// HEAD, 1xx, 204, 304: no body whatever the headers say.
    Empty,
    Length(u64),
    Chunked,
    UntilClose,
}

/// A parsed status line and the headers that matter to a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) framing: Framing,
}

/// What the body scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyMatch {
    Found,
    /// The whole body (`bytes` long) was read without a match.
    NotInBody {
        bytes: usize,
    },
    /// The first `MAX_BODY_SCAN` bytes were read without a match.
    NotInScanLimit,
}

/// Offset just past the blank line ending the header block, accepting bare
/// LF line ends as RFC 9112 §2.2 allows.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.iter().enumerate().find_map(|(i, &b)| {
        if b != b'\n' {
            return None;
        }
        match &buf[i + 1..] {
            [b'\n', ..] => Some(i + 2),
            [b'\r', b'\n', ..] => Some(i + 3),
            _ => None,
        }
    })
}

fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    block.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

fn shown(bytes: &[u8]) -> String {
    const MAX_SHOWN: usize = 64;
    let cut = &bytes[..bytes.len().min(MAX_SHOWN)];
    let mut s = format!("{:?}", String::from_utf8_lossy(cut));
    if bytes.len() > MAX_SHOWN {
        s.push('…');
    }
    s
}

fn parse_status_line(line: &[u8]) -> Result<(u16, String), String> {
    let bad = || format!("invalid status line {}", shown(line));
    let rest = line.strip_prefix(b"HTTP/1.").ok_or_else(bad)?;
    let (minor, rest) = rest.split_first().ok_or_else(bad)?;
    if !minor.is_ascii_digit() {
        return Err(bad());
    }
    let rest = rest.strip_prefix(b" ").ok_or_else(bad)?;
    let (code, reason) = match rest.get(3) {
        None if rest.len() == 3 => (rest, &b""[..]),
        Some(b' ') => (&rest[..3], &rest[4..]),
        _ => return Err(bad()),
    };
    if !code.iter().all(u8::is_ascii_digit) || code[0] == b'0' {
        return Err(bad());
    }
    let status = code.iter().fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    Ok((status, String::from_utf8_lossy(reason).trim().to_string()))
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a complete header block (status line through blank line).
pub(crate) fn parse_head(block: &[u8], method: HttpMethod) -> Result<Head, String> {
    let mut lines = lines(block);
    let (status, reason) = parse_status_line(lines.next().unwrap_or_default())?;
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut transfer_encoding = false;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // Obsolete line folding continues the previous header; none of
            // the headers we interpret may legitimately be folded.
            continue;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| format!("invalid header line {}", shown(line)))?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().copied().all(is_token_byte) {
            return Err(format!("invalid header name {}", shown(name)));
        }
        let value = value.trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") {
            for part in value.split(|&b| b == b',') {
                let part = part.trim_ascii();
                let n = std::str::from_utf8(part)
                    .ok()
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| format!("invalid Content-Length {}", shown(value)))?;
                if content_length.is_some_and(|m| m != n) {
                    return Err("conflicting Content-Length headers".into());
                }
                content_length = Some(n);
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            transfer_encoding = true;
            // Only the last coding decides whether the body is chunked.
            chunked = value
                .split(|&b| b == b',')
                .filter_map(|c| {
                    let c = c.trim_ascii();
                    (!c.is_empty()).then_some(c)
                })
                .next_back()
                .is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
        }
    }
    let framing = if method == HttpMethod::Head || status < 200 || status == 204 || status == 304 {
        Framing::Empty
    } else if transfer_encoding {
        // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3).
        if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        }
    } else {
        match content_length {
            Some(0) => Framing::Empty,
            Some(n) => Framing::Length(n),
            None => Framing::UntilClose,
        }
    };
    Ok(Head { status, reason, framing })
}

/// Incremental decoder of a body's payload bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decoder {
    Length(u64),
    UntilClose,
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailers,
    Done,
}

impl Decoder {
    fn new(framing: Framing) -> Decoder {
        match framing {
            Framing::Empty | Framing::Length(0) => Decoder::Done,
            Framing::Length(n) => Decoder::Length(n),
            Framing::Chunked => Decoder::ChunkSize,
            Framing::UntilClose => Decoder::UntilClose,
        }
    }

    /// Moves payload from `input` (consuming what it used) to `out`, at most
    /// `room` bytes. Returns when it needs more input, is done or `out` is full.
    fn decode(&mut self, input: &mut Vec<u8>, out: &mut Vec<u8>, room: usize) -> Result<(), String> {
        let mut pos = 0;
        let result = loop {
            let avail = &input[pos..];
            match *self {
                Decoder::Done => break Ok(()),
                Decoder::Length(left) | Decoder::ChunkData(left) => {
                    let room_left = room.saturating_sub(out.len());
                    let n = avail.len().min(room_left).min(usize::try_from(left).unwrap_or(usize::MAX));
                    if n == 0 {
                        break Ok(());
                    }
                    out.extend_from_slice(&avail[..n]);
                    pos += n;
                    let left = left - n as u64;
                    *self = match (*self, left) {
                        (Decoder::Length(_), 0) => Decoder::Done,
                        (Decoder::Length(_), l) => Decoder::Length(l),
                        (_, 0) => Decoder::ChunkDataEnd,
                        (_, l) => Decoder::ChunkData(l),
                    };
                }
                Decoder::UntilClose => {
                    let n = avail.len().min(room.saturating_sub(out.len()));
                    if n == 0 {
                        break Ok(());
                    }
                    out.extend_from_slice(&avail[..n]);
                    pos += n;
                }
                Decoder::ChunkSize | Decoder::Trailers => {
                    let Some(nl) = avail.iter().position(|&b| b == b'\n') else {
                        if avail.len() > MAX_LINE {
                            break Err("chunk-size or trailer line too long".to_string());
                        }
                        break Ok(());
                    };
                    let line = &avail[..nl];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    pos += nl + 1;
                    if *self == Decoder::Trailers {
                        if line.is_empty() {
                            *self = Decoder::Done;
                        }
                        continue;
                    }
                    let size = line.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
                    let size = std::str::from_utf8(size)
                        .ok()
                        .filter(|s| {
                            !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_hexdigit())
                        })
                        .and_then(|s| u64::from_str_radix(s, 16).ok())
                        .ok_or_else(|| format!("invalid chunk size line {}", shown(line)));
                    match size {
                        Ok(0) => *self = Decoder::Trailers,
                        Ok(n) => *self = Decoder::ChunkData(n),
                        Err(e) => break Err(e),
                    }
                }
                Decoder::ChunkDataEnd => match avail {
                    [b'\r', b'\n', ..] => {
                        pos += 2;
                        *self = Decoder::ChunkSize;
                    }
                    [b'\n', ..] => {
                        pos += 1;
                        *self = Decoder::ChunkSize;
                    }
                    [] | [b'\r'] => break Ok(()),
                    _ => break Err("chunk data not followed by CRLF".to_string()),
                },
            }
        };
        input.drain(..pos);
        result
    }

    /// What the end of the connection means in this state.
    fn at_eof(self) -> Result<(), String> {
        match self {
            Decoder::Done | Decoder::UntilClose => Ok(()),
            _ => Err("connection closed before the end of the body".into()),
        }
    }
}

/// How much one read asks for.
const READ_SIZE: usize = 4096;
/// A worker keeps its read buffer for the next probe up to this size.
const KEPT_BUFFER: usize = MAX_HEAD + 2 * READ_SIZE;

thread_local! {
    /// Each worker's read buffer, lent to one response at a time: a 4 KiB
    /// allocation is too large for the allocator's per-thread caches and
    /// cost a trip into its bins on every probe.
    static READ_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A response being read from `inner`, with the bytes read but not yet
/// consumed.
pub(crate) struct Response<R> {
    inner: R,
    buf: Vec<u8>,
    eof: bool,
}

impl<R> Drop for Response<R> {
    fn drop(&mut self) {
        if self.buf.capacity() <= KEPT_BUFFER {
            READ_BUFFER.set(std::mem::take(&mut self.buf));
        }
    }
}

impl<R: Read> Response<R> {
    pub(crate) fn new(inner: R) -> Response<R> {
        // Emptied here: a response dropped early leaves bytes behind.
        let mut buf = READ_BUFFER.take();
        buf.clear();
        Response { inner, buf, eof: false }
    }

    /// Reads more bytes into the buffer; `Ok(0)` at end of stream.
    fn fill(&mut self) -> Result<usize, ResponseError> {
        // Read straight into the buffer's tail, not through a copy.
        let start = self.buf.len();
        self.buf.resize(start + READ_SIZE, 0);
        let read = self.read_at(start);
        self.buf.truncate(start + read.as_ref().map_or(0, |n| *n));
        read
    }

    fn read_at(&mut self, start: usize) -> Result<usize, ResponseError> {
        loop {
            match self.inner.read(&mut self.buf[start..]) {
                Ok(n) => {
                    self.eof = n == 0;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if is_timeout(&e) => return Err(ResponseError::Timeout),
                // TLS peers that close without close_notify: the bytes so far
                // are all there is, exactly like a TCP close.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    self.eof = true;
                    return Ok(0);
                }
                Err(e) => {
                    return Err(ResponseError::Malformed(format!("reading the response: {}", io_detail(&e))))
                }
            }
        }
    }

    /// Reads the status line and headers of the final response (interim
    /// 1xx responses are skipped).
    pub(crate) fn read_head(&mut self, method: HttpMethod) -> Result<Head, ResponseError> {
        loop {
            if let Some(end) = head_end(&self.buf) {
                if end > MAX_HEAD {
                    return Err(ResponseError::Malformed(format!(
                        "response header exceeds {MAX_HEAD} bytes"
                    )));
                }
                let head = parse_head(&self.buf[..end], method).map_err(ResponseError::Malformed)?;
                self.buf.drain(..end);
                if (100..200).contains(&head.status) && head.status != 101 {
                    continue;
                }
                return Ok(head);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(ResponseError::Malformed(format!("response header exceeds {MAX_HEAD} bytes")));
            }
            if self.eof || self.fill()? == 0 {
                return Err(ResponseError::Malformed(if self.buf.is_empty() {
                    "connection closed without a response".into()
                } else {
                    format!("connection closed inside the response header after {}", shown(&self.buf))
                }));
            }
        }
    }

    /// Looks for `needle` in the first `MAX_BODY_SCAN` bytes of the body.
    pub(crate) fn body_contains(
        &mut self,
        framing: Framing,
        needle: &[u8],
    ) -> Result<BodyMatch, ResponseError> {
        let mut decoder = Decoder::new(framing);
        let mut body = Vec::new();
        let mut searched: usize = 0;
        loop {
            decoder.decode(&mut self.buf, &mut body, MAX_BODY_SCAN).map_err(ResponseError::Malformed)?;
            // Re-check the tail of what was searched so that a match split
            // across two reads is found.
            let from = searched.saturating_sub(needle.len().saturating_sub(1));
            if needle.is_empty() || body[from..].windows(needle.len()).any(|w| w == needle) {
                return Ok(BodyMatch::Found);
            }
            searched = body.len();
            if decoder == Decoder::Done {
                return Ok(BodyMatch::NotInBody { bytes: body.len() });
            }
            if body.len() >= MAX_BODY_SCAN {
                return Ok(BodyMatch::NotInScanLimit);
            }
            if self.eof || self.fill()? == 0 {
                // Bytes may remain that the decoder could not use (a partial
                // chunk-size line): the body is cut short either way.
                decoder.at_eof().map_err(ResponseError::Malformed)?;
                return Ok(BodyMatch::NotInBody { bytes: body.len() });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its input in pieces of `step` bytes, then
    /// ends with `end` (EOF when `None`).
    struct Drip {
        data: Vec<u8>,
        step: usize,
        end: Option<io::ErrorKind>,
    }

    impl Read for Drip {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.data.is_empty() {
                return match self.end {
                    Some(kind) => Err(io::Error::from(kind)),
                    None => Ok(0),
                };
            }
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data.drain(..n);
            Ok(n)
        }
    }

    fn response(data: &[u8], step: usize) -> Response<Drip> {
        Response::new(Drip { data: data.to_vec(), step, end: None })
    }

    fn head(data: &[u8]) -> Result<Head, ResponseError> {
        response(data, 7).read_head(HttpMethod::Get)
    }

    fn malformed(r: Result<Head, ResponseError>) -> String {
        match r {
            Err(ResponseError::Malformed(m)) => m,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn a_thread_reuses_its_read_buffer_and_each_response_starts_empty() {
        // Each test runs on a thread of its own: the buffer starts unused.
        let mut first = response(b"HTTP/1.1 200 OK\r\nX: 1\r\n\r\nleftover", 4096);
        assert_eq!(first.read_head(HttpMethod::Get).expect("head").status, 200);
        let lent = first.buf.as_ptr();
        drop(first);
        let mut second = response(b"HTTP/1.1 503 Busy\r\n\r\n", 4096);
        assert!(second.buf.is_empty(), "bytes of the previous response: {:?}", second.buf);
        assert_eq!(second.buf.as_ptr(), lent, "the buffer was not reused");
        assert_eq!(second.read_head(HttpMethod::Get).expect("head").status, 503);

        // A buffer grown past what is worth keeping is freed instead.
        second.buf.reserve(KEPT_BUFFER * 2);
        drop(second);
        assert_eq!(response(b"", 1).buf.capacity(), 0, "an oversized buffer was kept");
    }

    #[test]
    fn status_line_and_framing() {
        let h = head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!(h, Head { status: 200, reason: "OK".into(), framing: Framing::Length(5) });
        let h = head(b"HTTP/1.0 503 Service Unavailable\r\n\r\n").unwrap();
        assert_eq!(
            (h.status, h.reason.as_str(), h.framing),
            (503, "Service Unavailable", Framing::UntilClose)
        );
        let h = head(b"HTTP/1.1 204\r\n\r\n").unwrap();
        assert_eq!((h.status, h.framing), (204, Framing::Empty));
        let h = head(b"HTTP/1.1 200 OK\nTransfer-Encoding: gzip, chunked\nContent-Length: 3\n\n").unwrap();
        assert_eq!(h.framing, Framing::Chunked);
        let h = head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").unwrap();
        assert_eq!(h.framing, Framing::UntilClose);
        let h = head(b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n  b\r\nContent-Length: 1, 1\r\n\r\n").unwrap();
        assert_eq!(h.framing, Framing::Length(1));
    }

    #[test]
    fn head_request_has_no_body() {
        let h = response(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 100)
            .read_head(HttpMethod::Head)
            .unwrap();
        assert_eq!(h.framing, Framing::Empty);
    }

    #[test]
    fn interim_responses_are_skipped() {
        let h = head(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 404 Not Found\r\n\r\n")
            .unwrap();
        assert_eq!(h.status, 404);
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        assert!(malformed(head(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")).starts_with("invalid status line"));
        assert!(malformed(head(b"HTTP/1.1 2000 OK\r\n\r\n")).starts_with("invalid status line"));
        assert!(malformed(head(b"HTTP/1.1 20 OK\r\n\r\n")).starts_with("invalid status line"));
        assert!(malformed(head(b"HTTP/1.1 099 X\r\n\r\n")).starts_with("invalid status line"));
        assert!(malformed(head(b"HTTP/2 200\r\n\r\n")).starts_with("invalid status line"));
        assert!(
            malformed(head(b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n")).starts_with("invalid header line")
        );
        assert!(malformed(head(b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n")).starts_with("invalid header name"));
        assert!(malformed(head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"))
            .starts_with("invalid Content-Length"));
        assert_eq!(
            malformed(head(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")),
            "conflicting Content-Length headers"
        );
        assert_eq!(
            malformed(head(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n")),
            "invalid Content-Length \"99999999999999999999999\""
        );
        assert_eq!(malformed(head(b"")), "connection closed without a response");
        assert!(malformed(head(b"HTTP/1.1 200 OK\r\n"))
            .starts_with("connection closed inside the response header"));
        assert!(malformed(head(&[0xff; 100])).starts_with("connection closed inside"));
        let mut huge = b"HTTP/1.1 200 OK\r\n".to_vec();
        huge.extend(std::iter::repeat_n(b"X-Pad: 0123456789abcdef\r\n".as_slice(), 1000).flatten());
        assert_eq!(malformed(head(&huge)), "response header exceeds 16384 bytes");
    }

    #[test]
    fn timeouts_and_read_errors_are_distinguished() {
        let mut r = Response::new(Drip {
            data: b"HTTP/1.1 200".to_vec(),
            step: 4,
            end: Some(io::ErrorKind::TimedOut),
        });
        assert_eq!(r.read_head(HttpMethod::Get), Err(ResponseError::Timeout));
        let mut r = Response::new(Drip { data: vec![], step: 4, end: Some(io::ErrorKind::ConnectionReset) });
        assert!(
            matches!(r.read_head(HttpMethod::Get), Err(ResponseError::Malformed(m)) if m.starts_with("reading the response"))
        );
        let mut r = Response::new(Drip {
            data: b"HTTP/1.1 200 OK\r\n\r\nbody".to_vec(),
            step: 100,
            end: Some(io::ErrorKind::UnexpectedEof),
        });
        let h = r.read_head(HttpMethod::Get).unwrap();
        assert_eq!(r.body_contains(h.framing, b"body"), Ok(BodyMatch::Found));
    }

    fn scan(data: &[u8], needle: &[u8], step: usize) -> Result<BodyMatch, ResponseError> {
        let mut r = response(data, step);
        let h = r.read_head(HttpMethod::Get)?;
        r.body_contains(h.framing, needle)
    }

    #[test]
    fn body_by_length_close_and_chunks() {
        for step in [1, 3, 1000] {
            assert_eq!(
                scan(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", b"o w", step),
                Ok(BodyMatch::Found)
            );
            assert_eq!(
                scan(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA", b"EXTRA", step),
                Ok(BodyMatch::NotInBody { bytes: 5 })
            );
            assert_eq!(scan(b"HTTP/1.0 200 OK\r\n\r\nuntil close", b"close", step), Ok(BodyMatch::Found));
            let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nsta\n\r\n5\r\ntus:O\r\n1\nK\n0\r\nTrailer: x\r\n\r\n";
            assert_eq!(scan(chunked, b"sta\ntus:OK", step), Ok(BodyMatch::Found));
            assert_eq!(scan(chunked, b"nope", step), Ok(BodyMatch::NotInBody { bytes: 10 }));
            // The chunk framing itself is not part of the body.
            assert_eq!(scan(chunked, b"5\r\n", step), Ok(BodyMatch::NotInBody { bytes: 10 }));
        }
    }

    #[test]
    fn body_errors() {
        assert_eq!(
            scan(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", b"x", 3),
            Err(ResponseError::Malformed("connection closed before the end of the body".into()))
        );
        assert!(matches!(
            scan(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"x", 3),
            Err(ResponseError::Malformed(m)) if m.starts_with("invalid chunk size line")
        ));
        assert_eq!(
            scan(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY", b"x", 3),
            Err(ResponseError::Malformed("chunk data not followed by CRLF".into()))
        );
        assert!(matches!(
            scan(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", b"x", 3),
            Err(ResponseError::Malformed(_))
        ));
        assert_eq!(
            scan(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", b"x", 3),
            Err(ResponseError::Malformed("connection closed before the end of the body".into()))
        );
    }

    #[test]
    fn random_responses_never_panic() {
        // Splices of valid and hostile fragments, read in random step sizes.
        const PIECES: &[&[u8]] = &[
            b"HTTP/1.1 200 OK\r\n",
            b"HTTP/1.0 404 \n",
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"Content-Length: 5\r\n",
            b"Content-Length: 99999999999999999999\r\n",
            b"Transfer-Encoding: chunked\r\n",
            b"\r\n",
            b"\n",
            b"5\r\nhello\r\n",
            b"0\r\n\r\n",
            b"fffffffffffffffff\r\n",
            b";;;\r\n",
            b": :\r\n",
            b" folded\r\n",
            b"\xff\xfe\x00",
            b"OK",
        ];
        let mut rng = fastrand::Rng::with_seed(0x6d61676c);
        for _ in 0..5000 {
            let mut data = Vec::new();
            for _ in 0..rng.usize(0..12) {
                data.extend_from_slice(PIECES[rng.usize(0..PIECES.len())]);
            }
            let mut r = response(&data, rng.usize(1..64));
            let method = if rng.bool() { HttpMethod::Get } else { HttpMethod::Head };
            if let Ok(h) = r.read_head(method) {
                let _ = r.body_contains(h.framing, b"OK");
            }
        }
    }

    #[test]
    fn body_scan_stops_at_64k() {
        let mut data = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        data.extend(std::iter::repeat_n(b'a', MAX_BODY_SCAN - 1));
        data.extend_from_slice(b"OK and more");
        assert_eq!(scan(&data, b"OK", 5000), Ok(BodyMatch::NotInScanLimit));
        assert_eq!(scan(&data, b"aO", 5000), Ok(BodyMatch::Found));
    }
}
