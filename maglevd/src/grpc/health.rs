//! The standard `grpc.health.v1.Health` service. The daemon says when it is
//! serving: with VPP integration enabled, SERVING only while the warmup is
//! over and VPP is connected with the weight API, following VPP as it goes
//! and comes back (the VPP thread's `ready`); with VPP disabled, SERVING
//! once started. A load balancer's own health check can rely on it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use grpcio::{RpcContext, RpcStatus, RpcStatusCode, ServerStreamingSink, UnarySink};
use log::warn;
use maglev_proto::health_v1::health_check_response::ServingStatus;
use maglev_proto::health_v1::{HealthCheckRequest, HealthCheckResponse};
use maglev_proto::health_v1_grpc::Health;
use parking_lot::Mutex;

use crate::logging::Value;
use crate::metrics::GrpcType;

use super::instrument::Instrument;
use super::stream::{SendError, StreamSender};
use super::watch::Slot;

/// How often an idle Watch stream checks whether its client is still there.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// The serving status, shared by the daemon (which sets it) and the
/// service. Cheap to clone.
#[derive(Clone, Default)]
pub struct HealthStatus {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    serving: AtomicBool,
    /// One wake-up channel per Watch stream.
    watchers: Mutex<Vec<Sender<()>>>,
}

impl HealthStatus {
    pub fn new(serving: bool) -> Self {
        let s = HealthStatus::default();
        s.inner.serving.store(serving, Ordering::Release);
        s
    }

    pub fn is_serving(&self) -> bool {
        self.inner.serving.load(Ordering::Acquire)
    }

    /// Sets the status and wakes every Watch stream.
    pub fn set_serving(&self, serving: bool) {
        if self.inner.serving.swap(serving, Ordering::AcqRel) == serving {
            return;
        }
        // A full channel already holds a wake-up; a gone watcher is dropped.
        self.inner.watchers.lock().retain(|w| !matches!(w.try_send(()), Err(TrySendError::Disconnected(_))));
    }

    fn watch(&self) -> Receiver<()> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.inner.watchers.lock().push(tx);
        rx
    }

    fn status(&self) -> ServingStatus {
        if self.is_serving() {
            ServingStatus::SERVING
        } else {
            ServingStatus::NOT_SERVING
        }
    }
}

#[derive(Clone)]
pub struct HealthService {
    status: HealthStatus,
    /// Service names this server knows ("" is the server as a whole).
    services: Arc<Vec<String>>,
    shutdown: Receiver<()>,
    instrument: Instrument,
    /// Watch streams open now (each has a thread), and how many may be.
    streams: Arc<AtomicUsize>,
    max_streams: usize,
}

impl HealthService {
    pub fn new(
        status: HealthStatus,
        services: Vec<String>,
        shutdown: Receiver<()>,
        instrument: Instrument,
        max_streams: usize,
    ) -> Self {
        HealthService {
            status,
            services: Arc::new(services),
            shutdown,
            instrument,
            streams: Arc::new(AtomicUsize::new(0)),
            max_streams,
        }
    }

    fn known(&self, service: &str) -> bool {
        service.is_empty() || self.services.iter().any(|s| s == service)
    }
}

fn response(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse { status: status.into(), ..Default::default() }
}

impl Health for HealthService {
    fn check(&mut self, ctx: RpcContext, req: HealthCheckRequest, sink: UnarySink<HealthCheckResponse>) {
        let call = self.instrument.begin(&ctx, GrpcType::Unary);
        let reply = if self.known(&req.service) {
            Ok(response(self.status.status()))
        } else {
            Err(RpcStatus::with_message(
                RpcStatusCode::NOT_FOUND,
                format!("unknown service {:?}", req.service),
            ))
        };
        super::service::reply(&ctx, call, sink, reply);
    }

    fn watch(
        &mut self,
        ctx: RpcContext,
        req: HealthCheckRequest,
        sink: ServerStreamingSink<HealthCheckResponse>,
    ) {
        // Recorded from start to end; the status it ends with is not
        // tracked (Unknown).
        let call = self.instrument.begin(&ctx, GrpcType::ServerStream);
        let Some(slot) = Slot::take(&self.streams, self.max_streams) else {
            let st = RpcStatus::with_message(
                RpcStatusCode::RESOURCE_EXHAUSTED,
                format!(
                    "too many health Watch streams: {} are open, the limit (--max-watch-streams); use Check, \
                     or close a stream",
                    self.max_streams
                ),
            );
            return super::service::fail_stream(&ctx, call, sink, st);
        };
        let known = self.known(&req.service);
        let status = self.status.clone();
        let wake = status.watch();
        let shutdown = self.shutdown.clone();
        let spawned = thread::Builder::new().name("grpc-health".to_string()).spawn(move || {
            let _call = call;
            let _slot = slot;
            let mut out = StreamSender::new(sink);
            let stop = || matches!(shutdown.try_recv(), Err(crossbeam_channel::TryRecvError::Disconnected));
            if !known {
                // The protocol: SERVICE_UNKNOWN, and keep the stream open in
                // case the service appears.
                if out.send(response(ServingStatus::SERVICE_UNKNOWN), stop).is_err() {
                    return;
                }
                loop {
                    match shutdown.recv_timeout(IDLE_CHECK) {
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) if !out.client_gone() => {}
                        _ => return,
                    }
                }
            }
            let mut last = status.status();
            if out.send(response(last), stop).is_err() {
                return;
            }
            loop {
                crossbeam_channel::select! {
                    recv(wake) -> _ => {
                        let now = status.status();
                        if now != last {
                            last = now;
                            match out.send(response(now), stop) {
                                Ok(()) => {}
                                Err(SendError::ClientGone) => return,
                                Err(SendError::Stopped) => break,
                            }
                        }
                    }
                    recv(shutdown) -> _ => break,
                    default(IDLE_CHECK) => {
                        if out.client_gone() {
                            return;
                        }
                    }
                }
            }
            out.fail(RpcStatus::with_message(
                RpcStatusCode::UNAVAILABLE,
                "maglevd is shutting down".to_string(),
            ));
        });
        if let Err(e) = spawned {
            warn!("health-watch-failed error={}", Value(&format!("cannot start a stream thread: {e}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_serving_wakes_watchers_once_per_change() {
        let s = HealthStatus::new(false);
        let rx = s.watch();
        s.set_serving(false);
        assert!(rx.try_recv().is_err(), "no change, no wake-up");
        s.set_serving(true);
        assert!(rx.try_recv().is_ok());
        assert_eq!(s.status(), ServingStatus::SERVING);
    }
}
