//! http and https probes against scripted backends on loopback.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{HttpCheck, HttpMethod, ProbeSpec, StatusMatcher, TlsCheck};
use crate::probe::test_backend::{tls_config, Reply, TestBackend};
use crate::probe::tests::check;
use crate::probe::{run, ProbeResult, ProbeTarget, ResultCode};

fn http_check() -> HttpCheck {
    HttpCheck {
        method: HttpMethod::Get,
        path: "/healthz".into(),
        host: None,
        headers: vec![("X-Probe".into(), "maglev".into())],
        expect_status: StatusMatcher { ranges: vec![(200, 399)] },
        expect_body: None,
    }
}

fn target(addr: SocketAddr, spec: ProbeSpec, timeout: Duration) -> ProbeTarget {
    let mut hc = check(spec);
    hc.timeout = timeout;
    ProbeTarget::new("b", addr.ip(), Arc::new(hc))
}

fn probe_http(backend: &TestBackend, http: HttpCheck, timeout: Duration) -> ProbeResult {
    let spec = ProbeSpec::Http { port: backend.addr().port(), http };
    run(&target(backend.addr(), spec, timeout))
}

fn close(reply: &str) -> Reply {
    Reply::Close(reply.as_bytes().to_vec())
}

const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK";

#[test]
fn status_200_is_l7ok_and_the_request_is_well_formed() {
    let backend = TestBackend::start("127.0.0.1:0", None, close(OK));
    let r = probe_http(&backend, http_check(), Duration::from_secs(2));
    assert_eq!(
        (r.code, r.http_status, r.detail.as_str()),
        (ResultCode::L7Ok, Some(200), "status 200 OK"),
        "{r:?}"
    );
    assert!(r.duration > Duration::ZERO);
    let seen = backend.next_seen();
    let port = backend.addr().port();
    assert_eq!(
        seen.request,
        format!(
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: maglevd/{}\r\nAccept: */*\r\n\
             Connection: close\r\nX-Probe: maglev\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn ipv6_host_header_is_bracketed() {
    let backend = TestBackend::start("[::1]:0", None, close(OK));
    let r = probe_http(&backend, http_check(), Duration::from_secs(2));
    assert_eq!(r.code, ResultCode::L7Ok, "{r:?}");
    let seen = backend.next_seen();
    assert!(
        seen.request.contains(&format!("\r\nHost: [::1]:{}\r\n", backend.addr().port())),
        "{}",
        seen.request
    );
}

#[test]
fn status_503_is_l7sts() {
    let backend = TestBackend::start("127.0.0.1:0", None, close("HTTP/1.1 503 Service Unavailable\r\n\r\n"));
    let r = probe_http(&backend, http_check(), Duration::from_secs(2));
    assert_eq!(r.code, ResultCode::L7Sts, "{r:?}");
    assert_eq!(r.http_status, Some(503));
    assert_eq!(r.detail, "status 503 Service Unavailable, expected 200-399");
}

#[test]
fn expect_status_list() {
    let backend = TestBackend::start("127.0.0.1:0", None, close("HTTP/1.1 204 No Content\r\n\r\n"));
    let http =
        HttpCheck { expect_status: StatusMatcher { ranges: vec![(200, 200), (204, 204)] }, ..http_check() };
    assert_eq!(probe_http(&backend, http, Duration::from_secs(2)).code, ResultCode::L7Ok);
    let http =
        HttpCheck { expect_status: StatusMatcher { ranges: vec![(200, 200), (300, 302)] }, ..http_check() };
    let r = probe_http(&backend, http, Duration::from_secs(2));
    assert_eq!(
        (r.code, r.detail.as_str()),
        (ResultCode::L7Sts, "status 204 No Content, expected 200,300-302")
    );
}

#[test]
fn expect_body_match_and_mismatch() {
    let backend = TestBackend::start("127.0.0.1:0", None, close(OK));
    let found = probe_http(
        &backend,
        HttpCheck { expect_body: Some("OK".into()), ..http_check() },
        Duration::from_secs(2),
    );
    assert_eq!(found.code, ResultCode::L7Ok, "{found:?}");
    let missing = probe_http(
        &backend,
        HttpCheck { expect_body: Some("healthy".into()), ..http_check() },
        Duration::from_secs(2),
    );
    assert_eq!(missing.code, ResultCode::L7Rsp, "{missing:?}");
    assert_eq!(missing.detail, "body (2 bytes) does not contain \"healthy\"");
    assert_eq!(missing.http_status, Some(200));
}

#[test]
fn chunked_body_is_decoded() {
    let reply = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nstatus\r\n4\r\n: up\r\n0\r\n\r\n";
    let backend = TestBackend::start("127.0.0.1:0", None, close(reply));
    let r = probe_http(
        &backend,
        HttpCheck { expect_body: Some("status: up".into()), ..http_check() },
        Duration::from_secs(2),
    );
    assert_eq!(r.code, ResultCode::L7Ok, "{r:?}");
}

#[test]
fn head_request_reads_no_body() {
    // A HEAD response announces a length it does not send: the probe must
    // not wait for it (the backend keeps the connection open).
    let backend = TestBackend::start(
        "127.0.0.1:0",
        None,
        Reply::Stall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec()),
    );
    let r =
        probe_http(&backend, HttpCheck { method: HttpMethod::Head, ..http_check() }, Duration::from_secs(2));
    assert_eq!(r.code, ResultCode::L7Ok, "{r:?}");
    assert!(r.duration < Duration::from_secs(1), "waited for a body: {r:?}");
    assert!(backend.next_seen().request.starts_with("HEAD /healthz HTTP/1.1\r\n"));
}

#[test]
fn garbage_response_is_l7rsp() {
    let backend = TestBackend::start("127.0.0.1:0", None, close("SSH-2.0-OpenSSH_9.2p1\r\n\r\n"));
    let r = probe_http(&backend, http_check(), Duration::from_secs(2));
    assert_eq!(r.code, ResultCode::L7Rsp, "{r:?}");
    assert_eq!(r.detail, "invalid status line \"SSH-2.0-OpenSSH_9.2p1\"");
    assert_eq!(r.http_status, None);

    let empty = TestBackend::start("127.0.0.1:0", None, close(""));
    let r = probe_http(&empty, http_check(), Duration::from_secs(2));
    assert_eq!((r.code, r.detail.as_str()), (ResultCode::L7Rsp, "connection closed without a response"));
}

#[test]
fn slow_server_is_l7tout_within_the_timeout() {
    let backend =
        TestBackend::start("127.0.0.1:0", None, Reply::Stall(b"HTTP/1.1 200 OK\r\nContent-".to_vec()));
    let timeout = Duration::from_millis(300);
    let r = probe_http(&backend, http_check(), timeout);
    assert_eq!(r.code, ResultCode::L7Tout, "{r:?}");
    assert!(r.duration >= timeout - Duration::from_millis(10), "gave up early: {r:?}");
    assert!(r.duration < timeout + Duration::from_millis(500), "overran the timeout: {r:?}");

    // The same for a body that never ends.
    let backend = TestBackend::start(
        "127.0.0.1:0",
        None,
        Reply::Stall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial".to_vec()),
    );
    let r = probe_http(&backend, HttpCheck { expect_body: Some("done".into()), ..http_check() }, timeout);
    assert_eq!((r.code, r.http_status), (ResultCode::L7Tout, Some(200)), "{r:?}");
}

#[test]
fn refused_http_is_l4con() {
    let backend = TestBackend::start("127.0.0.1:0", None, close(OK));
    let addr = backend.addr();
    drop(backend);
    let r =
        run(&target(addr, ProbeSpec::Http { port: addr.port(), http: http_check() }, Duration::from_secs(1)));
    assert_eq!(r.code, ResultCode::L4Con, "{r:?}");
}

#[test]
fn unanswered_syn_is_l4tout_for_http_too() {
    // The request waits for a handshake that never completes: the time
    // runs out in the connection, not in the exchange.
    let ns = crate::probe::test_netns::TestNetns::new();
    ns.add_silent_host("10.255.0.1/24", "10.255.0.2");
    let addr: SocketAddr = "10.255.0.2:80".parse().expect("addr");
    let mut t = target(addr, ProbeSpec::Http { port: 80, http: http_check() }, Duration::from_millis(300));
    Arc::make_mut(&mut t.check).netns = Some(ns.name().to_string());
    let r = run(&t);
    assert_eq!(r.code, ResultCode::L4Tout, "{r:?}");
    assert!(r.duration >= Duration::from_millis(290), "returned early: {r:?}");
    assert!(r.duration < Duration::from_secs(2), "overran the timeout: {r:?}");
}

#[test]
fn source_address_is_used_for_http() {
    let backend = TestBackend::start("127.0.0.1:0", None, close(OK));
    let mut t = target(
        backend.addr(),
        ProbeSpec::Http { port: backend.addr().port(), http: http_check() },
        Duration::from_secs(2),
    );
    Arc::make_mut(&mut t.check).source_ipv4 = Some(Ipv4Addr::new(127, 0, 0, 2));
    assert_eq!(run(&t).code, ResultCode::L7Ok);
    assert_eq!(backend.next_seen().peer.ip(), IpAddr::from(Ipv4Addr::new(127, 0, 0, 2)));
}

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/probe/testdata").join(name)
}

fn probe_https(backend: &TestBackend, http: HttpCheck, tls: TlsCheck) -> ProbeResult {
    let spec = ProbeSpec::Https { port: backend.addr().port(), http, tls };
    run(&target(backend.addr(), spec, Duration::from_secs(2)))
}

#[test]
fn https_without_verification_accepts_the_test_certificate() {
    let backend = TestBackend::start("127.0.0.1:0", Some(tls_config()), close(OK));
    let tls = TlsCheck { server_name: None, verify: false, ca_file: None };
    let r = probe_https(&backend, HttpCheck { expect_body: Some("OK".into()), ..http_check() }, tls);
    assert_eq!((r.code, r.http_status), (ResultCode::L7Ok, Some(200)), "{r:?}");
    let seen = backend.next_seen();
    assert_eq!(seen.sni, None, "an IP address must not be sent as SNI");
    // 443 is the default port of https, the test port is not.
    assert!(seen.request.contains(&format!("Host: 127.0.0.1:{}\r\n", backend.addr().port())));
}

#[test]
fn https_verification_against_system_roots_fails() {
    let backend = TestBackend::start("127.0.0.1:0", Some(tls_config()), close(OK));
    let tls = TlsCheck { server_name: None, verify: true, ca_file: None };
    let r = probe_https(&backend, http_check(), tls);
    assert_eq!(r.code, ResultCode::L6Rsp, "{r:?}");
    assert_eq!(r.detail, "invalid peer certificate: UnknownIssuer");
}

#[test]
fn https_verification_with_ca_file_by_ip_and_by_name() {
    let backend = TestBackend::start("127.0.0.1:0", Some(tls_config()), close(OK));
    let by_ip = TlsCheck { server_name: None, verify: true, ca_file: Some(testdata("ca.pem")) };
    let r = probe_https(&backend, http_check(), by_ip.clone());
    assert_eq!(r.code, ResultCode::L7Ok, "{r:?}");

    let by_name = TlsCheck { server_name: Some("backend.test".into()), ..by_ip.clone() };
    let r = probe_https(&backend, http_check(), by_name);
    assert_eq!(r.code, ResultCode::L7Ok, "{r:?}");

    let wrong_name = TlsCheck { server_name: Some("other.test".into()), ..by_ip };
    let r = probe_https(&backend, http_check(), wrong_name);
    assert_eq!(r.code, ResultCode::L6Rsp, "{r:?}");
    assert!(
        r.detail.starts_with("invalid peer certificate: certificate not valid for name \"other.test\""),
        "{r:?}"
    );
}

#[test]
fn https_sni_follows_the_configuration() {
    let backend = TestBackend::start("127.0.0.1:0", Some(tls_config()), close(OK));
    let insecure = TlsCheck { server_name: None, verify: false, ca_file: None };

    let r = probe_https(
        &backend,
        http_check(),
        TlsCheck { server_name: Some("sni.test".into()), ..insecure.clone() },
    );
    assert_eq!(r.code, ResultCode::L7Ok, "{r:?}");
    assert_eq!(backend.next_seen().sni.as_deref(), Some("sni.test"));

    let named = HttpCheck { host: Some("www.backend.test".into()), ..http_check() };
    let r = probe_https(&backend, named, insecure);
    assert_eq!(r.code, ResultCode::L7Ok, "{r:?}");
    let seen = backend.next_seen();
    assert_eq!(seen.sni.as_deref(), Some("www.backend.test"));
    assert!(seen.request.contains("\r\nHost: www.backend.test\r\n"), "{}", seen.request);
}

#[test]
fn https_to_a_plain_http_server_is_l6rsp() {
    let greeting = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec();
    let backend = TestBackend::start("127.0.0.1:0", None, Reply::Greet(greeting));
    let tls = TlsCheck { server_name: None, verify: false, ca_file: None };
    let r = probe_https(&backend, http_check(), tls);
    assert_eq!(r.code, ResultCode::L6Rsp, "{r:?}");
    assert!(r.detail.starts_with("received corrupt message"), "{r:?}");
}

#[test]
fn https_handshake_timeout_is_l6tout() {
    // The kernel completes the TCP handshake; nobody ever speaks TLS.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let tls = TlsCheck { server_name: None, verify: false, ca_file: None };
    let spec = ProbeSpec::Https { port: addr.port(), http: http_check(), tls };
    let r = run(&target(addr, spec, Duration::from_millis(300)));
    assert_eq!(r.code, ResultCode::L6Tout, "{r:?}");
    assert!(r.duration < Duration::from_millis(800), "overran the timeout: {r:?}");
}

#[test]
fn missing_ca_file_is_sockerr_before_connecting() {
    let backend = TestBackend::start("127.0.0.1:0", Some(tls_config()), close(OK));
    let tls = TlsCheck { server_name: None, verify: true, ca_file: Some(testdata("no-such-ca.pem")) };
    let r = probe_https(&backend, http_check(), tls);
    assert_eq!(r.code, ResultCode::SockErr, "{r:?}");
    assert!(
        r.detail.starts_with("reading CA file ") && r.detail.ends_with(": No such file or directory"),
        "{r:?}"
    );
}
