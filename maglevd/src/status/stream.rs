//! `/status/events`: Server-Sent Events for the status page.
//!
//! On connect, and every [`REFRESH`], an `event: state` carries the whole
//! [`StatusView`](super::view::StatusView) (counters, health, ages). Each
//! transition from the checker becomes an `event: change` with the event
//! and the rows it touched, read from the snapshot published before the
//! event was sent. The subscription is bounded like WatchEvents': a client
//! that does not keep up is dropped, and its browser reconnects.

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, warn};
use serde::Serialize;

use super::view::{self, BackendView, EventView, FrontendView};
use super::StatusSource;
use crate::checker::Event;
use crate::http::{stream_head, Response, StreamCtx};
use crate::logging::Value;

/// How often the whole view is sent again.
pub const REFRESH: Duration = Duration::from_secs(5);

/// Transitions queued per page before it is cut off.
pub const QUEUE_CAPACITY: usize = 1024;

/// What the browser waits before reconnecting (milliseconds).
const RETRY_MS: u32 = 2000;

#[derive(Serialize)]
struct Change {
    /// `None` for an operator's weight change (not a transition).
    event: Option<EventView>,
    backends: Vec<BackendView>,
    frontends: Vec<FrontendView>,
}

pub fn run(source: Arc<StatusSource>, ctx: StreamCtx) {
    let StreamCtx { mut socket, shutdown } = ctx;
    let sub = match source.checker.subscribe(QUEUE_CAPACITY) {
        Ok(s) => s,
        Err(e) => {
            let _ = Response::text(503, &e.to_string()).write_to(&mut socket, false);
            return;
        }
    };
    let head = stream_head(
        "text/event-stream; charset=utf-8",
        &[("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")],
    );
    if socket.write_all(&head).and_then(|_| write!(socket, "retry: {RETRY_MS}\n\n")).is_err() {
        return;
    }
    let mut next_state = Instant::now();
    loop {
        if Instant::now() >= next_state {
            next_state = Instant::now() + REFRESH;
            if send(&mut socket, "state", &source.view()).is_err() {
                return;
            }
        }
        let wait = next_state.saturating_duration_since(Instant::now());
        crossbeam_channel::select! {
            recv(sub.rx) -> ev => match ev {
                Ok(Event::Reload(_)) => {
                    // Frontends, pools or backends may have changed: the
                    // whole view now (the page reloads if its layout did).
                    next_state = Instant::now();
                }
                Ok(ev) => {
                    if let Some(change) = change(&source, &ev) {
                        if send(&mut socket, "change", &change).is_err() {
                            return;
                        }
                    }
                }
                Err(_) => {
                    if sub.overflowed() {
                        warn!(
                            "status-stream-overflow peer={} queue={QUEUE_CAPACITY}",
                            Value(&peer(&socket))
                        );
                    }
                    return;
                }
            },
            recv(shutdown) -> _ => return,
            default(wait) => {}
        }
    }
}

fn peer(s: &TcpStream) -> String {
    s.peer_addr().map(|a| a.to_string()).unwrap_or_default()
}

/// The change message of a transition or an operator's weight change
/// (`None` for the initial `from == to` events a subscription starts
/// with: the state message already holds them).
fn change(source: &StatusSource, ev: &Event) -> Option<Change> {
    let snap = source.checker.snapshot();
    let (backends, frontends) = match ev {
        Event::Backend(b) if b.from != b.to => {
            let users: Vec<_> = snap
                .frontends
                .values()
                .filter(|f| f.config.backend_names().any(|n| n == b.backend))
                .collect();
            let names = users.iter().map(|f| f.config.name.clone()).collect();
            let backends =
                snap.backends.get(&b.backend).map(|s| view::backend(s, names)).into_iter().collect();
            (backends, users.into_iter().map(|f| view::frontend(&snap, f)).collect())
        }
        Event::Weight(w) => (
            Vec::new(),
            snap.frontends.get(&w.frontend).map(|s| view::frontend(&snap, s)).into_iter().collect(),
        ),
        Event::Frontend(f) if f.from != f.to => (
            Vec::new(),
            snap.frontends.get(&f.frontend).map(|s| view::frontend(&snap, s)).into_iter().collect(),
        ),
        _ => return None,
    };
    Some(Change { event: view::event(ev), backends, frontends })
}

/// Writes one event; an error means the client is gone or too slow.
fn send<T: Serialize>(socket: &mut TcpStream, name: &str, data: &T) -> std::io::Result<()> {
    let json = serde_json::to_string(data).map_err(std::io::Error::other)?;
    let mut msg = Vec::with_capacity(json.len() + 32);
    // serde_json's compact output has no newline: one data line.
    let _ = write!(msg, "event: {name}\ndata: {json}\n\n");
    socket.write_all(&msg).inspect_err(|e| debug!("status-stream-closed error={}", Value(&e.to_string())))
}
