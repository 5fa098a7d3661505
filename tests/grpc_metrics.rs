//! Every gRPC call shows in the `grpc_server_*` family of /metrics.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use grpcio::RpcStatusCode;
use maglev_proto::maglev as pb;
use testsupport::grpc::{client, status_code, wait_until};
use testsupport::{loopback_net, Maglevd, MaglevdOpts};

fn metrics(addr: &str) -> Result<String, String> {
    let mut c = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    c.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
    write!(c, "GET /metrics HTTP/1.0\r\nHost: maglevd\r\n\r\n").map_err(|e| e.to_string())?;
    let mut raw = String::new();
    c.read_to_string(&mut raw).map_err(|e| e.to_string())?;
    Ok(raw)
}

/// The value of the sample whose line starts with `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
}

#[test]
fn calls_are_counted_by_method_and_code() {
    let net = loopback_net();
    let metrics_addr = format!("{}.{}.{}.254:9091", net[0], net[1], net[2]);
    let m = Maglevd::start(
        "maglev:\n  backends:\n    a:\n      address: 127.0.0.1\n",
        MaglevdOpts { metrics_addr: metrics_addr.clone(), ..Default::default() },
    );
    m.daemon.wait_for(&["metrics-listen"], Duration::from_secs(10));
    let labels = |method: &str, kind: &str| {
        format!("{{grpc_method=\"{method}\",grpc_service=\"maglev.Maglev\",grpc_type=\"{kind}\"")
    };
    // Every method is there at 0 before any call.
    let first = wait_until("a scrape", Duration::from_secs(10), || metrics(&metrics_addr));
    let started_watch = format!("grpc_server_started_total{}}}", labels("WatchEvents", "server_stream"));
    assert_eq!(sample(&first, &started_watch), Some(0.0), "{first}");

    let c = client(&m.grpc_addr);
    c.list_backends(&pb::ListBackendsRequest::new()).expect("ListBackends");
    let missing = pb::GetBackendRequest { name: "nope".into(), ..Default::default() };
    assert_eq!(status_code(c.get_backend(&missing)).0, RpcStatusCode::NOT_FOUND);

    // Labels are sorted by name: grpc_code comes first.
    let handled = |code: &str, method: &str| {
        format!("grpc_server_handled_total{{grpc_code=\"{code}\",{}}}", &labels(method, "unary")[1..])
    };
    let (ok, nf) = (handled("OK", "ListBackends"), handled("NotFound", "GetBackend"));
    let sent = format!("grpc_server_msg_sent_total{}}}", labels("ListBackends", "unary"));
    wait_until("both calls in /metrics", Duration::from_secs(10), || {
        let text = metrics(&metrics_addr)?;
        match (sample(&text, &ok), sample(&text, &nf), sample(&text, &sent)) {
            (Some(a), Some(b), Some(c)) if a >= 1.0 && b >= 1.0 && c >= 1.0 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
}
