//! WatchEvents: one dedicated thread per stream forwards the checker's
//! transition events and the log broadcaster's records to the client. The
//! number of streams (so of threads) is capped: one more is refused with
//! RESOURCE_EXHAUSTED.
//!
//! Both sources have a bounded queue per subscriber. A client that does not
//! keep up stalls its sender, its queue fills, the source drops it, and the
//! stream ends with RESOURCE_EXHAUSTED; the daemon never waits for it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{never, Receiver};
use grpcio::{RpcStatus, RpcStatusCode, ServerStreamingSink};
use log::{warn, LevelFilter};
use maglev_proto::maglev as pb;

use crate::checker::{CheckerHandle, Event};
use crate::logging::{self, Value};
use crate::metrics::{GrpcCall, GrpcCode};

use super::convert;
use super::stream::{SendError, StreamSender};

/// Events queued per subscriber and source before it is cut off.
pub const QUEUE_CAPACITY: usize = 1024;

/// How often an idle stream checks whether its client is still there.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// The default of `--max-watch-streams`.
pub const DEFAULT_MAX_STREAMS: usize = 64;

/// One open stream's place under the cap; given back when dropped.
pub struct Slot(Arc<AtomicUsize>);

impl Slot {
    /// A place if fewer than `max` streams are open.
    pub fn take(open: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1))
            .ok()
            .map(|_| Slot(open.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What a subscriber asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchFilter {
    pub backend: bool,
    pub frontend: bool,
    /// `None`: no log events.
    pub log: Option<LevelFilter>,
}

impl WatchFilter {
    /// Validates a request. With none of log, backend and frontend set,
    /// backend and frontend events are sent.
    pub fn from_request(req: &pb::WatchEventsRequest) -> Result<WatchFilter, String> {
        let level = parse_level(&req.log_level)?;
        if !req.log && !req.backend && !req.frontend {
            return Ok(WatchFilter { backend: true, frontend: true, log: None });
        }
        Ok(WatchFilter { backend: req.backend, frontend: req.frontend, log: req.log.then_some(level) })
    }

    fn wants(&self, ev: &Event) -> bool {
        match ev {
            Event::Backend(_) => self.backend,
            Event::Frontend(_) => self.frontend,
            Event::Weight(_) | Event::Reload(_) => false,
        }
    }
}

/// "" means info; otherwise one of error, warn, info, debug, trace.
pub fn parse_level(s: &str) -> Result<LevelFilter, String> {
    match s.to_ascii_lowercase().as_str() {
        "" | "info" => Ok(LevelFilter::Info),
        "error" => Ok(LevelFilter::Error),
        "warn" | "warning" => Ok(LevelFilter::Warn),
        "debug" => Ok(LevelFilter::Debug),
        "trace" => Ok(LevelFilter::Trace),
        other => Err(format!("bad log level {other:?}: use error, warn, info, debug or trace")),
    }
}

/// Starts the forwarding thread of one WatchEvents stream. `shutdown`
/// disconnects when the server stops.
pub fn spawn(
    peer: String,
    filter: WatchFilter,
    checker: CheckerHandle,
    shutdown: Receiver<()>,
    sink: ServerStreamingSink<pb::Event>,
    call: Option<GrpcCall>,
    slot: Slot,
) {
    let name = "grpc-watch".to_string();
    let spawned = thread::Builder::new().name(name).spawn(move || {
        let _slot = slot;
        let mut out = StreamSender::new(sink);
        let end = forward(&filter, &checker, &shutdown, &mut out, call.as_ref());
        let code = end.code();
        end.finish(&peer, out);
        if let Some(call) = call {
            call.finish(code);
        }
    });
    if let Err(e) = spawned {
        // The sink moved into the closure that failed to start; grpcio
        // cancels the call when it is dropped, so the client sees an error.
        warn!("watch-failed error={}", Value(&format!("cannot start a stream thread: {e}")));
    }
}

/// How a stream ended.
enum End {
    ClientGone,
    Overflow(&'static str),
    Shutdown,
    Unavailable(String),
}

impl End {
    /// The status the client sees, for the metrics.
    fn code(&self) -> GrpcCode {
        match self {
            End::ClientGone => GrpcCode::Canceled,
            End::Overflow(_) => GrpcCode::ResourceExhausted,
            End::Shutdown | End::Unavailable(_) => GrpcCode::Unavailable,
        }
    }

    fn finish(self, peer: &str, out: StreamSender<pb::Event>) {
        match self {
            End::ClientGone => {}
            End::Overflow(source) => {
                warn!("watch-overflow subscriber={} source={source} queue={QUEUE_CAPACITY}", Value(peer));
                out.fail(RpcStatus::with_message(
                    RpcStatusCode::RESOURCE_EXHAUSTED,
                    format!(
                        "event stream overflowed: more than {QUEUE_CAPACITY} {source} events were queued \
                         because the client did not read them; reconnect and read faster"
                    ),
                ));
            }
            End::Shutdown => out.fail(RpcStatus::with_message(
                RpcStatusCode::UNAVAILABLE,
                "maglevd is shutting down".to_string(),
            )),
            End::Unavailable(m) => out.fail(RpcStatus::with_message(RpcStatusCode::UNAVAILABLE, m)),
        }
    }
}

fn forward(
    filter: &WatchFilter,
    checker: &CheckerHandle,
    shutdown: &Receiver<()>,
    out: &mut StreamSender<pb::Event>,
    call: Option<&GrpcCall>,
) -> End {
    let events = if filter.backend || filter.frontend {
        match checker.subscribe(QUEUE_CAPACITY) {
            Ok(s) => Some(s),
            Err(e) => return End::Unavailable(e.to_string()),
        }
    } else {
        None
    };
    let logs = filter.log.map(|level| logging::subscribe_logs(level, QUEUE_CAPACITY));
    let events_rx = events.as_ref().map(|s| s.rx.clone()).unwrap_or_else(never);
    let logs_rx = logs.as_ref().map(|s| s.rx.clone()).unwrap_or_else(never);
    let events_overflowed = || events.as_ref().is_some_and(|s| s.overflowed());
    let logs_overflowed = || logs.as_ref().is_some_and(|s| s.overflowed());
    let stop = || events_overflowed() || logs_overflowed() || is_shut_down(shutdown);
    loop {
        let msg = crossbeam_channel::select! {
            recv(events_rx) -> ev => match ev {
                Ok(ev) => match filter.wants(&ev).then(|| convert::event(&ev)).flatten() {
                    Some(msg) => msg,
                    None => continue,
                },
                Err(_) if events_overflowed() => return End::Overflow("transition"),
                Err(_) => return End::Unavailable("the checker has stopped".to_string()),
            },
            recv(logs_rx) -> rec => match rec {
                Ok(rec) => convert::log_event(&rec),
                Err(_) if logs_overflowed() => return End::Overflow("log"),
                Err(_) => return End::Unavailable("the log broadcaster has stopped".to_string()),
            },
            recv(shutdown) -> _ => return End::Shutdown,
            default(IDLE_CHECK) => {
                if out.client_gone() {
                    return End::ClientGone;
                }
                continue;
            }
        };
        match out.send(msg, stop) {
            Ok(()) => {
                if let Some(call) = call {
                    call.msg_sent();
                }
            }
            Err(SendError::ClientGone) => return End::ClientGone,
            Err(SendError::Stopped) if is_shut_down(shutdown) => return End::Shutdown,
            Err(SendError::Stopped) if events_overflowed() => return End::Overflow("transition"),
            Err(SendError::Stopped) => return End::Overflow("log"),
        }
    }
}

/// The shutdown channel never carries a message: it disconnects.
fn is_shut_down(shutdown: &Receiver<()>) -> bool {
    matches!(shutdown.try_recv(), Err(crossbeam_channel::TryRecvError::Disconnected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(log: bool, level: &str, backend: bool, frontend: bool) -> pb::WatchEventsRequest {
        pb::WatchEventsRequest { log, log_level: level.to_string(), backend, frontend, ..Default::default() }
    }

    #[test]
    fn empty_request_means_backend_and_frontend_events() {
        let f = WatchFilter::from_request(&req(false, "", false, false)).unwrap();
        assert_eq!(f, WatchFilter { backend: true, frontend: true, log: None });
    }

    #[test]
    fn log_only_at_the_requested_level() {
        let f = WatchFilter::from_request(&req(true, "debug", false, false)).unwrap();
        assert_eq!(f, WatchFilter { backend: false, frontend: false, log: Some(LevelFilter::Debug) });
        let f = WatchFilter::from_request(&req(true, "", true, false)).unwrap();
        assert_eq!(f, WatchFilter { backend: true, frontend: false, log: Some(LevelFilter::Info) });
    }

    #[test]
    fn slots_are_capped_and_given_back() {
        let open = Arc::new(AtomicUsize::new(0));
        let a = Slot::take(&open, 2).expect("first");
        let _b = Slot::take(&open, 2).expect("second");
        assert!(Slot::take(&open, 2).is_none(), "a third is refused");
        drop(a);
        assert!(Slot::take(&open, 2).is_some(), "a freed place is reused");
    }

    #[test]
    fn bad_level_is_refused_with_the_choices() {
        let e = WatchFilter::from_request(&req(true, "loud", false, false)).unwrap_err();
        assert!(e.contains("loud") && e.contains("debug"), "{e}");
    }
}
