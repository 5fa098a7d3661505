//! The API socket: a unix STREAM listener, one thread per client, VPP's
//! 16-byte framing, replies in request order. Also the fault knobs the
//! control socket drives (drop every connection, stall replies, restart).

use std::collections::HashMap;
use std::io::Write;
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use parking_lot::Mutex;
use vppapi::frame::{encode_frame, read_frame, FrameError};

use crate::handlers::{self, Session};
use crate::request_log::RequestLog;
use crate::sim::Sim;

/// Largest request accepted; VPP's requests here are well under 1 KiB (a
/// CLI command line is the only variable part).
const MAX_REQUEST: usize = 1 << 20;

pub struct Shared {
    pub sim: Mutex<Sim>,
    pub request_log: Option<RequestLog>,
    /// Delay before each request's replies, in milliseconds.
    pub stall_ms: AtomicU64,
    connections: Mutex<HashMap<u64, UnixStream>>,
    next_connection: AtomicU64,
}

impl Shared {
    pub fn new(sim: Sim, request_log: Option<RequestLog>) -> Self {
        Shared {
            sim: Mutex::new(sim),
            request_log,
            stall_ms: AtomicU64::new(0),
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(1),
        }
    }

    /// Closes every API connection (the clients see EOF) and releases
    /// their registrations at once, so the next client is `0x80000001`.
    pub fn drop_connections(&self) -> usize {
        let mut sim = self.sim.lock();
        let n = self.shutdown_all();
        sim.forget_clients();
        n
    }

    /// Caller holds the sim lock (connections register under it).
    fn shutdown_all(&self) -> usize {
        let conns = self.connections.lock();
        for stream in conns.values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        conns.len()
    }

    /// A VPP restart as clients see it: connections drop, then everything
    /// starts afresh.
    pub fn restart(&self) -> Result<(), String> {
        let mut sim = self.sim.lock();
        self.shutdown_all();
        sim.restart().map_err(|e| format!("cannot create the new stats segment: {e}"))
    }
}

/// Accepts API clients forever.
pub fn serve(listener: UnixListener, shared: Arc<Shared>) {
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                let shared = Arc::clone(&shared);
                let spawned =
                    thread::Builder::new().name("api-client".into()).spawn(move || client(stream, &shared));
                if let Err(e) = spawned {
                    log::error!("api socket: cannot start a client thread: {e}");
                }
            }
            Err(e) => log::warn!("api socket: accept failed: {e}"),
        }
    }
}

fn client(stream: UnixStream, shared: &Shared) {
    let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
    let (reader, mut writer) = match (stream.try_clone(), stream.try_clone()) {
        (Ok(r), Ok(w)) => (r, w),
        _ => return,
    };
    let generation = {
        // Registered under the sim lock, so a concurrent restart either
        // sees this connection (and drops it) or happened before.
        let sim = shared.sim.lock();
        shared.connections.lock().insert(id, stream);
        sim.generation
    };
    // Buffered: pipelined requests arrive many to a read.
    let mut reader = std::io::BufReader::new(reader);
    let mut session = Session::default();
    loop {
        let payload = match read_frame(&mut reader, MAX_REQUEST) {
            Ok(p) => p,
            Err(FrameError::Eof { partial: false }) => break,
            Err(e) => {
                log::info!("api client {id}: {e}");
                break;
            }
        };
        let outcome = {
            let mut sim = shared.sim.lock();
            if sim.generation != generation {
                break;
            }
            handlers::handle(&mut sim, &mut session, &payload)
        };
        if let (Some(log), Some(entry)) = (&shared.request_log, &outcome.log) {
            log.record(entry);
        }
        let stall = shared.stall_ms.load(Ordering::Relaxed);
        if stall > 0 && !outcome.replies.is_empty() {
            thread::sleep(Duration::from_millis(stall));
        }
        // All replies of one request in one write, as VPP queues them
        // (a dump of thousands of details is then not thousands of syscalls).
        let mut out = Vec::new();
        for r in &outcome.replies {
            out.extend_from_slice(&encode_frame(r));
        }
        if !out.is_empty() && writer.write_all(&out).is_err() {
            break;
        }
        if outcome.close {
            break;
        }
    }
    shared.connections.lock().remove(&id);
    let _ = writer.shutdown(Shutdown::Both);
    if let Some(handle) = session.handle {
        let mut sim = shared.sim.lock();
        if sim.generation == generation {
            sim.unregister_client(handle);
        }
    }
}
