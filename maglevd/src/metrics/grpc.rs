//! The gRPC server family, with the names and labels of the usual gRPC
//! server interceptors (`grpc_server_*`, labels `grpc_service`,
//! `grpc_method`, `grpc_type`, `grpc_code`), so existing dashboards work.
//!
//! How a handler records one call:
//!
//! ```ignore
//! let call = metrics.grpc_start("maglev.Maglev", "GetBackend", GrpcType::Unary);
//! call.msg_received();                 // the request message
//! // ... handle it ...
//! call.msg_sent();                     // the response message (if any)
//! call.finish(GrpcCode::Ok);           // or the status sent to the client
//! ```
//!
//! A server stream calls `msg_sent()` once per streamed message and
//! `finish` with the status that ends the stream. A call dropped without
//! `finish` is recorded as `Unknown`.

use std::time::Instant;

use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry};

use super::Metrics;

/// Handling times: unary calls take microseconds to milliseconds; streams
/// (WatchEvents) last as long as the client stays.
const HANDLING_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The kind of a gRPC method (`grpc_type` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrpcType {
    Unary,
    ClientStream,
    ServerStream,
    BidiStream,
}

impl GrpcType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrpcType::Unary => "unary",
            GrpcType::ClientStream => "client_stream",
            GrpcType::ServerStream => "server_stream",
            GrpcType::BidiStream => "bidi_stream",
        }
    }
}

/// A gRPC status code (`grpc_code` label), spelled as gRPC's own
/// implementations print it (`OK`, `NotFound`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrpcCode {
    Ok,
    Canceled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
}

impl GrpcCode {
    /// From the numeric status code (grpcio: `RpcStatusCode::NOT_FOUND.into()`).
    /// Numbers outside the standard range map to `Unknown`, as gRPC does.
    pub fn from_i32(code: i32) -> GrpcCode {
        use GrpcCode::*;
        match code {
            0 => Ok,
            1 => Canceled,
            3 => InvalidArgument,
            4 => DeadlineExceeded,
            5 => NotFound,
            6 => AlreadyExists,
            7 => PermissionDenied,
            8 => ResourceExhausted,
            9 => FailedPrecondition,
            10 => Aborted,
            11 => OutOfRange,
            12 => Unimplemented,
            13 => Internal,
            14 => Unavailable,
            15 => DataLoss,
            16 => Unauthenticated,
            _ => Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        use GrpcCode::*;
        match self {
            Ok => "OK",
            Canceled => "Canceled",
            Unknown => "Unknown",
            InvalidArgument => "InvalidArgument",
            DeadlineExceeded => "DeadlineExceeded",
            NotFound => "NotFound",
            AlreadyExists => "AlreadyExists",
            PermissionDenied => "PermissionDenied",
            ResourceExhausted => "ResourceExhausted",
            FailedPrecondition => "FailedPrecondition",
            Aborted => "Aborted",
            OutOfRange => "OutOfRange",
            Unimplemented => "Unimplemented",
            Internal => "Internal",
            Unavailable => "Unavailable",
            DataLoss => "DataLoss",
            Unauthenticated => "Unauthenticated",
        }
    }
}

/// One method of a gRPC service: (`grpc_service`, `grpc_method`, `grpc_type`),
/// e.g. `GrpcMethod::new("maglev.Maglev", "WatchEvents", GrpcType::ServerStream)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GrpcMethod {
    pub service: String,
    pub method: String,
    pub kind: GrpcType,
}

impl GrpcMethod {
    pub fn new(service: &str, method: &str, kind: GrpcType) -> Self {
        GrpcMethod { service: service.to_string(), method: method.to_string(), kind }
    }

    /// From a full method path as gRPC writes it (`/maglev.Maglev/GetBackend`,
    /// the `name` of a generated `grpcio::Method`); `None` if it is not one.
    pub fn from_path(path: &str, kind: GrpcType) -> Option<GrpcMethod> {
        let (service, method) = path.strip_prefix('/')?.split_once('/')?;
        if service.is_empty() || method.is_empty() || method.contains('/') {
            return None;
        }
        Some(GrpcMethod::new(service, method, kind))
    }
}

pub(super) struct GrpcMetrics {
    started: IntCounterVec,
    handled: IntCounterVec,
    handling: HistogramVec,
    received: IntCounterVec,
    sent: IntCounterVec,
}

const L_METHOD: &[&str] = &["grpc_service", "grpc_method", "grpc_type"];
const L_HANDLED: &[&str] = &["grpc_service", "grpc_method", "grpc_type", "grpc_code"];

impl GrpcMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let counter =
            |name: &str, help: &str, labels: &[&str]| IntCounterVec::new(Opts::new(name, help), labels);
        let started = counter("grpc_server_started_total", "RPCs started on the server.", L_METHOD)?;
        let handled = counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, regardless of success or failure.",
            L_HANDLED,
        )?;
        let handling = HistogramVec::new(
            HistogramOpts::new(
                "grpc_server_handling_seconds",
                "Time from the start of an RPC to its completion by the server.",
            )
            .buckets(HANDLING_BUCKETS.to_vec()),
            L_METHOD,
        )?;
        let received =
            counter("grpc_server_msg_received_total", "Messages received from clients.", L_METHOD)?;
        let sent = counter("grpc_server_msg_sent_total", "Messages sent to clients.", L_METHOD)?;
        registry.register(Box::new(started.clone()))?;
        registry.register(Box::new(handled.clone()))?;
        registry.register(Box::new(handling.clone()))?;
        registry.register(Box::new(received.clone()))?;
        registry.register(Box::new(sent.clone()))?;
        Ok(GrpcMetrics { started, handled, handling, received, sent })
    }
}

impl Metrics {
    /// Creates every series of these methods at 0, so each method is
    /// exported from the first scrape. `grpc_server_handled_total` is
    /// created with `grpc_code="OK"` only: the other codes appear when
    /// they first happen (pre-creating all 17 would multiply the series
    /// for nothing). Call once when the server starts, with every method
    /// it serves (maglev.Maglev, grpc.health.v1.Health, reflection).
    pub fn register_grpc_methods(&self, methods: &[GrpcMethod]) {
        for m in methods {
            let l = [m.service.as_str(), m.method.as_str(), m.kind.as_str()];
            self.grpc.started.with_label_values(&l);
            self.grpc.handled.with_label_values(&[l[0], l[1], l[2], GrpcCode::Ok.as_str()]);
            self.grpc.handling.with_label_values(&l);
            self.grpc.received.with_label_values(&l);
            self.grpc.sent.with_label_values(&l);
        }
    }

    /// Starts recording one RPC: counts it as started and starts its clock.
    /// See the module documentation for the full sequence.
    pub fn grpc_start(&self, service: &str, method: &str, kind: GrpcType) -> GrpcCall {
        let l = [service, method, kind.as_str()];
        self.grpc.started.with_label_values(&l).inc();
        GrpcCall {
            labels: [service.to_string(), method.to_string()],
            kind: kind.as_str(),
            start: Instant::now(),
            received: self.grpc.received.with_label_values(&l),
            sent: self.grpc.sent.with_label_values(&l),
            handled: self.grpc.handled.clone(),
            handling: self.grpc.handling.clone(),
            finished: false,
        }
    }
}

/// One RPC in progress, from [`Metrics::grpc_start`]. `Send`, so it can
/// move into the closure or thread that completes the call.
///
/// ```ignore
/// let call = metrics.grpc_start("maglev.Maglev", "GetBackend", GrpcType::Unary);
/// call.msg_received();                         // the request
/// match handle(req) {
///     Ok(reply) => { call.msg_sent(); call.finish(GrpcCode::Ok) }
///     Err(status) => call.finish(GrpcCode::from_i32(status.code().into())),
/// }
/// ```
///
/// Streams call `msg_sent()` per message and `finish` once with the
/// status that ends the stream; dropping without `finish` records `Unknown`.
pub struct GrpcCall {
    labels: [String; 2],
    kind: &'static str,
    start: Instant,
    received: IntCounter,
    sent: IntCounter,
    handled: IntCounterVec,
    handling: HistogramVec,
    finished: bool,
}

impl GrpcCall {
    /// One message received from the client.
    pub fn msg_received(&self) {
        self.received.inc();
    }

    /// One message sent to the client.
    pub fn msg_sent(&self) {
        self.sent.inc();
    }

    /// The RPC ended with `code`: counts it as handled and records its
    /// handling time.
    pub fn finish(mut self, code: GrpcCode) {
        self.record(code);
    }

    fn record(&mut self, code: GrpcCode) {
        if self.finished {
            return;
        }
        self.finished = true;
        let [service, method] = &self.labels;
        self.handled.with_label_values(&[service, method, self.kind, code.as_str()]).inc();
        self.handling
            .with_label_values(&[service, method, self.kind])
            .observe(self.start.elapsed().as_secs_f64());
    }
}

impl Drop for GrpcCall {
    fn drop(&mut self) {
        self.record(GrpcCode::Unknown);
    }
}
