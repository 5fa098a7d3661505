//! The listener: one poller thread, a fixed pool of workers, and at most
//! [`Limits::streams`] stream threads.
//!
//! The poller accepts connections and reads their request heads on
//! non-blocking sockets, so a connection that sends nothing costs a file
//! descriptor and never a thread. A complete head goes to a bounded queue
//! that [`Limits::workers`] threads serve; a reply that streams runs on a
//! thread of its own. Every limit answers the excess at once:
//! - more than [`Limits::waiting`] connections waiting for their head: the
//!   oldest is answered 503 and closed, so idle connections cannot lock
//!   out a scrape;
//! - a full worker queue, or [`Limits::streams`] streams already running:
//!   503;
//! - a head not complete within [`Limits::head_timeout`]: 408.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};
use log::{debug, warn};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::message::{head_end, parse_head, stream_head, Method, Request, Response, MAX_HEAD};
use super::{Handler, Reply, StreamCtx};
use crate::logging::Value;
use crate::metrics::MetricsError;

/// How much the listener takes on at once.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections accepted and waiting for their request head.
    pub waiting: usize,
    /// Threads that answer requests.
    pub workers: usize,
    /// Complete requests waiting for a worker.
    pub queue: usize,
    /// Concurrent streaming replies (`/status/events`), one thread each.
    pub streams: usize,
    /// Time from accept to a complete request head.
    pub head_timeout: Duration,
    /// Time a client may take to read a response before it is dropped.
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            waiting: 256,
            workers: 4,
            queue: 32,
            streams: 16,
            head_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// The running listener; stops on [`HttpServer::stop`] or drop.
pub struct HttpServer {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    waker: UnixStream,
    poller: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
    /// Dropped on stop: stream threads see the disconnection and end.
    shutdown: Option<Sender<()>>,
    streams: Arc<AtomicUsize>,
}

struct Job {
    stream: TcpStream,
    req: Request,
}

/// Serves `handler` on `listener` within `limits`.
pub fn serve_on(
    listener: TcpListener,
    handler: Arc<dyn Handler>,
    limits: Limits,
) -> Result<HttpServer, MetricsError> {
    let local = listener
        .local_addr()
        .map_err(|e| MetricsError::Start { addr: "the listening socket".into(), reason: e.to_string() })?;
    let start = |e: io::Error| MetricsError::Start { addr: local.to_string(), reason: e.to_string() };
    listener.set_nonblocking(true).map_err(start)?;
    let (waker, wake_rx) = UnixStream::pair().map_err(start)?;
    wake_rx.set_nonblocking(true).map_err(start)?;
    let (shutdown_tx, shutdown_rx) = crossbeam_channel::bounded::<()>(0);
    let mut server = HttpServer {
        addr: local,
        stopping: Arc::new(AtomicBool::new(false)),
        waker,
        poller: None,
        workers: Vec::new(),
        shutdown: Some(shutdown_tx),
        streams: Arc::new(AtomicUsize::new(0)),
    };
    // Declared after `server`, so dropped before it when a thread fails to
    // start: the workers already running see the queue close, and the
    // server's drop can join them.
    let (jobs_tx, jobs_rx) = crossbeam_channel::bounded::<Job>(limits.queue.max(1));
    for i in 0..limits.workers.max(1) {
        let worker = Worker {
            jobs: jobs_rx.clone(),
            handler: handler.clone(),
            streams: server.streams.clone(),
            shutdown: shutdown_rx.clone(),
            limits: limits.clone(),
        };
        let t = std::thread::Builder::new()
            .name(format!("http-worker-{i}"))
            .spawn(move || worker.run())
            .map_err(start)?;
        server.workers.push(t);
    }
    let stopping = server.stopping.clone();
    let poller =
        Poller { listener, wake: wake_rx, stopping, jobs: jobs_tx, limits, waiting: VecDeque::new() };
    server.poller = Some(
        std::thread::Builder::new().name("http-poller".into()).spawn(move || poller.run()).map_err(start)?,
    );
    Ok(server)
}

impl HttpServer {
    /// The bound address (the real port when `:0` was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many streaming replies run now.
    pub fn streams(&self) -> usize {
        self.streams.load(Ordering::Acquire)
    }

    /// Closes the listening socket and every waiting connection, ends the
    /// streams, lets the workers finish the requests they hold, and joins
    /// the poller and the workers.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        self.stopping.store(true, Ordering::Release);
        let _ = (&self.waker).write(&[1]);
        if let Some(t) = self.poller.take() {
            let _ = t.join();
        }
        // The poller held the only job sender: workers drain and return.
        for t in self.workers.drain(..) {
            let _ = t.join();
        }
        self.shutdown.take();
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// A connection waiting for its request head.
struct Waiting {
    stream: TcpStream,
    buf: Vec<u8>,
    since: Instant,
}

struct Poller {
    listener: TcpListener,
    wake: UnixStream,
    stopping: Arc<AtomicBool>,
    jobs: Sender<Job>,
    limits: Limits,
    /// Oldest first.
    waiting: VecDeque<Waiting>,
}

/// What reading a waiting connection gave.
enum HeadRead {
    Pending,
    Closed,
    Head(Request),
    Refuse(Response),
}

impl Poller {
    fn run(mut self) {
        let mut accept_pause_until: Option<Instant> = None;
        while !self.stopping.load(Ordering::Acquire) {
            let now = Instant::now();
            let accepting = !matches!(accept_pause_until, Some(t) if now < t);
            let (listener_ready, wake_ready, ready) = match self.wait(now, accepting) {
                Ok(r) => r,
                Err(e) => {
                    warn!("http-poll-failed error={}", Value(&e.to_string()));
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            if wake_ready {
                let mut sink = [0u8; 64];
                while matches!((&self.wake).read(&mut sink), Ok(n) if n > 0) {}
            }
            self.read_ready(&ready);
            self.expire(Instant::now());
            if listener_ready {
                accept_pause_until = self.accept();
            }
        }
    }

    /// Polls the listener, the waker and every waiting connection until
    /// something is ready or the oldest head times out (at most 1 s).
    fn wait(&self, now: Instant, accepting: bool) -> nix::Result<(bool, bool, Vec<bool>)> {
        let mut fds = Vec::with_capacity(self.waiting.len() + 2);
        let listen_events = if accepting { PollFlags::POLLIN } else { PollFlags::empty() };
        fds.push(PollFd::new(self.listener.as_fd(), listen_events));
        fds.push(PollFd::new(self.wake.as_fd(), PollFlags::POLLIN));
        for w in &self.waiting {
            fds.push(PollFd::new(w.stream.as_fd(), PollFlags::POLLIN));
        }
        let mut timeout = Duration::from_secs(1);
        if let Some(oldest) = self.waiting.front() {
            timeout = timeout.min((oldest.since + self.limits.head_timeout).saturating_duration_since(now));
        }
        if !accepting {
            timeout = timeout.min(Duration::from_millis(100));
        }
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(1000);
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok((false, false, vec![false; self.waiting.len()])),
            Err(e) => return Err(e),
        }
        let is_ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
        let ready = fds[2..].iter().map(is_ready).collect();
        Ok((is_ready(&fds[0]), is_ready(&fds[1]), ready))
    }

    fn read_ready(&mut self, ready: &[bool]) {
        let mut keep = VecDeque::with_capacity(self.waiting.len());
        let waiting = std::mem::take(&mut self.waiting);
        for (mut w, r) in waiting.into_iter().zip(ready.iter().copied().chain(std::iter::repeat(false))) {
            if !r {
                keep.push_back(w);
                continue;
            }
            match read_head(&mut w) {
                HeadRead::Pending => keep.push_back(w),
                HeadRead::Closed => {}
                HeadRead::Refuse(resp) => refuse(w.stream, &resp),
                HeadRead::Head(req) => self.dispatch(w.stream, req),
            }
        }
        self.waiting = keep;
    }

    fn dispatch(&self, stream: TcpStream, req: Request) {
        match self.jobs.try_send(Job { stream, req }) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => {
                debug!("http-busy queue={}", self.limits.queue);
                refuse(
                    job.stream,
                    &Response::text(
                        503,
                        &format!(
                            "maglevd is busy: {} requests are already waiting; retry shortly",
                            self.limits.queue
                        ),
                    )
                    .with_header("Retry-After", "1"),
                );
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn expire(&mut self, now: Instant) {
        while self.waiting.front().is_some_and(|w| now >= w.since + self.limits.head_timeout) {
            if let Some(w) = self.waiting.pop_front() {
                let msg = format!("no complete request within {:?}", self.limits.head_timeout);
                refuse(w.stream, &Response::text(408, &msg));
            }
        }
    }

    /// Accepts every pending connection; returns when to try again if
    /// accepting failed for lack of file descriptors.
    fn accept(&mut self) -> Option<Instant> {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    if self.waiting.len() >= self.limits.waiting.max(1) {
                        if let Some(old) = self.waiting.pop_front() {
                            debug!("http-waiting-full limit={}", self.limits.waiting);
                            refuse(old.stream, &too_many(self.limits.waiting));
                        }
                    }
                    self.waiting.push_back(Waiting { stream, buf: Vec::new(), since: Instant::now() });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of file descriptors (or another transient error):
                    // free the oldest idle connection and pause accepting
                    // briefly rather than spin on a readable listener.
                    warn!("http-accept-failed error={}", Value(&e.to_string()));
                    if let Some(old) = self.waiting.pop_front() {
                        refuse(old.stream, &too_many(self.limits.waiting));
                    }
                    return Some(Instant::now() + Duration::from_millis(100));
                }
            }
        }
    }
}

fn too_many(limit: usize) -> Response {
    Response::text(503, &format!("too many connections waiting for a request (limit {limit}); retry"))
        .with_header("Retry-After", "1")
}

fn read_head(w: &mut Waiting) -> HeadRead {
    let mut chunk = [0u8; 2048];
    loop {
        match w.stream.read(&mut chunk) {
            Ok(0) => return HeadRead::Closed,
            Ok(n) => {
                w.buf.extend_from_slice(&chunk[..n]);
                match head_end(&w.buf) {
                    Some(end) if end <= MAX_HEAD => {
                        return match parse_head(&w.buf[..end]) {
                            Ok(req) => HeadRead::Head(req),
                            Err(e) => HeadRead::Refuse(Response::text(400, e.0)),
                        };
                    }
                    _ => {}
                }
                if w.buf.len() > MAX_HEAD {
                    let msg = format!("the request head is longer than {MAX_HEAD} bytes");
                    return HeadRead::Refuse(Response::text(431, &msg));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return HeadRead::Pending,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return HeadRead::Closed,
        }
    }
}

/// Answers on a non-blocking socket and closes it: the answer is small and
/// fits the empty send buffer; if not, the client gets a reset.
fn refuse(mut stream: TcpStream, resp: &Response) {
    let _ = stream.write(&resp.to_bytes(false));
    let _ = stream.shutdown(std::net::Shutdown::Write);
    // Closing with unread bytes makes the kernel send a reset, which can
    // destroy the answer before the client reads it: discard what has
    // already arrived (a bounded amount).
    let mut sink = [0u8; 4096];
    for _ in 0..16 {
        if !matches!(stream.read(&mut sink), Ok(n) if n > 0) {
            break;
        }
    }
}

struct Worker {
    jobs: Receiver<Job>,
    handler: Arc<dyn Handler>,
    streams: Arc<AtomicUsize>,
    shutdown: Receiver<()>,
    limits: Limits,
}

impl Worker {
    fn run(self) {
        for Job { mut stream, req } in self.jobs.iter() {
            if stream.set_nonblocking(false).is_err() {
                continue;
            }
            let _ = stream.set_write_timeout(Some(self.limits.write_timeout));
            let head_only = req.method == Method::Head;
            match self.handler.handle(&req) {
                Reply::Full(resp) => {
                    // The client may be gone; nothing to do about it.
                    let _ = resp.write_to(&mut stream, head_only);
                }
                Reply::Stream(run) => self.start_stream(stream, run),
                Reply::Written { content_type, write } => {
                    let sent = stream.write_all(&stream_head(content_type, &[]));
                    if sent.is_ok() && !head_only {
                        // A write error means the client left; it has
                        // nothing to read an error message from.
                        let _ = write(&mut stream);
                    }
                }
            }
        }
    }

    fn start_stream(&self, mut stream: TcpStream, run: Box<dyn FnOnce(StreamCtx) + Send>) {
        let limit = self.limits.streams;
        let taken =
            self.streams.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < limit).then_some(n + 1));
        if taken.is_err() {
            let msg = format!("too many live streams (limit {limit}): close another status page and retry");
            let _ = Response::text(503, &msg).with_header("Retry-After", "5").write_to(&mut stream, false);
            return;
        }
        let slot = StreamSlot(self.streams.clone());
        let ctx = StreamCtx { socket: stream, shutdown: self.shutdown.clone() };
        let spawned = std::thread::Builder::new().name("http-stream".into()).spawn(move || {
            let _slot = slot;
            run(ctx);
        });
        if let Err(e) = spawned {
            // The closure (with the socket and the slot) is dropped: the
            // client sees the connection close and retries.
            warn!("http-stream-failed error={}", Value(&format!("cannot start a stream thread: {e}")));
        }
    }
}

/// Gives a stream's place back when its thread ends.
struct StreamSlot(Arc<AtomicUsize>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
