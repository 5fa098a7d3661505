//! gRPC helpers: a client of a running maglevd and bounded waits on the
//! state it reports.

use std::sync::Arc;
use std::time::{Duration, Instant};

use grpcio::{ChannelBuilder, EnvBuilder};
use maglev_proto::maglev as pb;
use maglev_proto::maglev_grpc::MaglevClient;

/// A client of the maglevd at `addr` (`host:port` or `unix:/path`).
pub fn client(addr: &str) -> MaglevClient {
    let env = Arc::new(EnvBuilder::new().cq_count(1).name_prefix("test-grpc").build());
    MaglevClient::new(ChannelBuilder::new(env).connect(addr))
}

/// A client whose HTTP/2 receive window is small, so that a stream it does
/// not read backs up on the server after a few KiB.
pub fn slow_client(addr: &str) -> MaglevClient {
    let env = Arc::new(EnvBuilder::new().cq_count(1).name_prefix("test-grpc-slow").build());
    let channel =
        ChannelBuilder::new(env).stream_initial_window_size(4096).http2_bdp_probe(false).connect(addr);
    MaglevClient::new(channel)
}

/// Polls `check` until it returns `Some`, or panics after `timeout` with
/// `what` and the last value seen.
pub fn wait_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Waits until the backend reports `state`; returns it.
pub fn wait_backend_state(
    c: &MaglevClient,
    backend: &str,
    state: &str,
    timeout: Duration,
) -> pb::BackendInfo {
    wait_until(&format!("backend {backend} to be {state}"), timeout, || {
        let req = pb::GetBackendRequest { name: backend.to_string(), ..Default::default() };
        match c.get_backend(&req) {
            Ok(b) if b.state == state => Ok(b),
            Ok(b) => Err(format!("state {}", b.state)),
            Err(e) => Err(e.to_string()),
        }
    })
}

/// Waits until the frontend reports `state`; returns it.
pub fn wait_frontend_state(
    c: &MaglevClient,
    frontend: &str,
    state: &str,
    timeout: Duration,
) -> pb::FrontendInfo {
    wait_until(&format!("frontend {frontend} to be {state}"), timeout, || {
        let req = pb::GetFrontendRequest { name: frontend.to_string(), ..Default::default() };
        match c.get_frontend(&req) {
            Ok(f) if f.state == state => Ok(f),
            Ok(f) => Err(format!("state {}", f.state)),
            Err(e) => Err(e.to_string()),
        }
    })
}

/// The gRPC status code of a failed call (panics on success).
pub fn status_code<T: std::fmt::Debug>(r: grpcio::Result<T>) -> (grpcio::RpcStatusCode, String) {
    match r {
        Err(grpcio::Error::RpcFailure(s)) => (s.code(), s.message().to_string()),
        other => panic!("expected an RPC failure, got {other:?}"),
    }
}
