//! The http and https probes: connect, (TLS handshake,) one HTTP/1.1
//! request, and a verdict on the response.
//!
//! Written on plain sockets rather than an HTTP client library because a
//! probe needs three things none of them gives together: a socket created
//! inside a network namespace, a bound source address, and one deadline for
//! the whole exchange.

mod request;
mod response;

pub(crate) use request::RequestError;

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::IpAddr;

use rustls::ClientConnection;

use super::deadline::{is_timeout, Deadline, DeadlineStream};
use super::socket::io_detail;
use super::{tcp, tls, ProbeResult, ProbeTarget, ResultCode};
use crate::config::{HttpCheck, HttpMethod, StatusMatcher, TlsCheck};
use response::{BodyMatch, Response, ResponseError, MAX_BODY_SCAN};

/// "200-399" or "200,204,300-302", as written in the configuration.
fn describe_statuses(m: &StatusMatcher) -> String {
    let parts: Vec<String> = m
        .ranges
        .iter()
        .map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
        .collect();
    parts.join(",")
}

/// The request an http (`tls` false) or https probe of `address` sends.
pub(crate) fn build_request(
    http: &HttpCheck,
    address: IpAddr,
    port: u16,
    tls: bool,
) -> Result<Vec<u8>, RequestError> {
    let default_port = if tls { 443 } else { 80 };
    request::build(http, &request::host_header(http, address, port, default_port))
}

/// Runs an http probe (`tls` is `None`) or an https probe.
pub(crate) fn probe(
    target: &ProbeTarget,
    port: u16,
    http: &HttpCheck,
    tls: Option<&TlsCheck>,
    deadline: &Deadline,
) -> ProbeResult {
    let sockerr = |detail: String| ProbeResult::new(ResultCode::SockErr, detail, deadline.elapsed());
    // Built with the target (`ProbeTarget::new`), once for all its probes.
    let request = match &target.request {
        Some(Ok(r)) => r.as_slice(),
        Some(Err(RequestError(detail))) => return sockerr(detail.clone()),
        None => return sockerr("internal error: an http target without a request".into()),
    };
    // Prepare TLS before connecting: a local setup problem sends no packet.
    let tls_conn = match tls {
        None => None,
        Some(tls) => {
            let conn = tls::client_config(tls).and_then(|config| {
                let name = tls::server_name(tls, http, target.address)?;
                tls::connection(config, name)
            });
            match conn {
                Ok(conn) => Some(conn),
                Err(e) => return sockerr(e.to_string()),
            }
        }
    };
    let Some(mut conn) = tls_conn else {
        // Plain HTTP: the request goes out with the connect, without
        // waiting for the handshake when it is already complete.
        return match tcp::connect_sending(target, port, request, deadline) {
            Ok((socket, sent)) => {
                exchange(DeadlineStream::new(socket, *deadline), &request[sent..], http, deadline)
            }
            Err(result) => result,
        };
    };
    let socket = match tcp::connect(target, port, tcp::Then::Send, deadline) {
        Ok(s) => s,
        Err(result) => return result,
    };
    // The handshake writes several records in a row; Nagle would hold each
    // one back until the previous one is acknowledged.
    let _ = socket.set_nodelay(true);
    let mut stream = DeadlineStream::new(socket, *deadline);
    match handshake(&mut conn, &mut stream, deadline) {
        Ok(()) => exchange(rustls::StreamOwned::new(conn, stream), request, http, deadline),
        Err(result) => result,
    }
}

fn handshake(
    conn: &mut ClientConnection,
    stream: &mut DeadlineStream,
    deadline: &Deadline,
) -> Result<(), ProbeResult> {
    let fail = |code, detail: String| ProbeResult::new(code, detail, deadline.elapsed());
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(stream) {
            return Err(if is_timeout(&e) {
                fail(ResultCode::L6Tout, format!("TLS handshake not complete within {:?}", deadline.budget()))
            } else {
                fail(ResultCode::L6Rsp, handshake_detail(&e))
            });
        }
    }
    Ok(())
}

/// rustls errors (certificate, alert, protocol) arrive wrapped in an
/// `io::Error`; their own message is the useful one.
fn handshake_detail(e: &io::Error) -> String {
    if let Some(tls_err) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        return tls_err.to_string();
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "connection closed during the TLS handshake".into(),
        _ => format!("TLS handshake: {}", io_detail(e)),
    }
}

/// Sends the request and judges the response.
fn exchange<S: Read + Write>(
    mut stream: S,
    request: &[u8],
    http: &HttpCheck,
    deadline: &Deadline,
) -> ProbeResult {
    let result = |code, detail: String, status: Option<u16>| ProbeResult {
        http_status: status,
        ..ProbeResult::new(code, detail, deadline.elapsed())
    };
    if let Err(e) = stream.write_all(request).and_then(|()| stream.flush()) {
        return if is_timeout(&e) {
            result(ResultCode::L7Tout, format!("request not sent within {:?}", deadline.budget()), None)
        } else {
            result(ResultCode::L7Rsp, format!("sending the request: {}", io_detail(&e)), None)
        };
    }
    let mut response = Response::new(stream);
    let head = match response.read_head(http.method) {
        Ok(head) => head,
        Err(ResponseError::Timeout) => {
            return result(
                ResultCode::L7Tout,
                format!("no complete response header within {:?}", deadline.budget()),
                None,
            )
        }
        Err(ResponseError::Malformed(detail)) => return result(ResultCode::L7Rsp, detail, None),
    };
    let status = Some(head.status);
    // "status 200 OK", built once: it is the detail of a pass too.
    let mut status_text = String::with_capacity(11 + head.reason.len());
    let _ = write!(status_text, "status {}", head.status);
    if !head.reason.is_empty() {
        status_text.push(' ');
        status_text.push_str(&head.reason);
    }
    if !http.expect_status.matches(head.status) {
        return result(
            ResultCode::L7Sts,
            format!("{status_text}, expected {}", describe_statuses(&http.expect_status)),
            status,
        );
    }
    if let Some(needle) = &http.expect_body {
        if http.method == HttpMethod::Head {
            return result(
                ResultCode::L7Rsp,
                "expect-body cannot match: a response to HEAD has no body".into(),
                status,
            );
        }
        match response.body_contains(head.framing, needle.as_bytes()) {
            Ok(BodyMatch::Found) => {}
            Ok(BodyMatch::NotInBody { bytes }) => {
                return result(
                    ResultCode::L7Rsp,
                    format!("body ({bytes} bytes) does not contain {needle:?}"),
                    status,
                )
            }
            Ok(BodyMatch::NotInScanLimit) => {
                return result(
                    ResultCode::L7Rsp,
                    format!("first {} KiB of the body do not contain {needle:?}", MAX_BODY_SCAN / 1024),
                    status,
                )
            }
            Err(ResponseError::Timeout) => {
                return result(
                    ResultCode::L7Tout,
                    format!("body not received within {:?}", deadline.budget()),
                    status,
                )
            }
            Err(ResponseError::Malformed(detail)) => return result(ResultCode::L7Rsp, detail, status),
        }
    }
    result(ResultCode::L7Ok, status_text, status)
}

#[cfg(test)]
mod tests;
