//! Drives a grpcio server-streaming sink from a plain thread.
//!
//! grpcio's sinks are futures; long-lived streams (WatchEvents, health
//! Watch) run on a dedicated thread each so that no completion-queue thread
//! ever waits on a slow client. This is a minimal executor for that: it
//! polls the sink, parks the thread until grpcio wakes it, and between
//! wake-ups asks the caller whether to give up (overflow, shutdown), so a
//! client that stopped reading can never pin the thread.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use futures_util::Sink;
use grpcio::{RpcStatus, ServerStreamingSink, WriteFlags};

/// How often a blocked send re-checks its stop condition.
const RECHECK: Duration = Duration::from_millis(50);

/// How long ending a stream may take before the thread gives up on it.
const FINISH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a send did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The client cancelled or disconnected.
    ClientGone,
    /// The stop condition turned true while the send was blocked.
    Stopped,
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// A server-streaming sink owned by the current thread.
pub struct StreamSender<T> {
    sink: ServerStreamingSink<T>,
    waker: Waker,
}

impl<T> StreamSender<T> {
    /// Must be created on the thread that will use it (wake-ups unpark it).
    pub fn new(sink: ServerStreamingSink<T>) -> Self {
        StreamSender { sink, waker: Waker::from(Arc::new(Unpark(thread::current()))) }
    }

    /// Sends one message and waits until grpcio has taken it. While blocked
    /// (the client does not read), `stop()` is checked every few ms.
    pub fn send(&mut self, msg: T, stop: impl Fn() -> bool) -> Result<(), SendError> {
        let waker = self.waker.clone();
        let mut cx = Context::from_waker(&waker);
        self.wait(&mut cx, &stop, |s, cx| Pin::new(s).poll_ready(cx))?;
        Pin::new(&mut self.sink)
            .start_send((msg, WriteFlags::default()))
            .map_err(|_| SendError::ClientGone)?;
        self.wait(&mut cx, &stop, |s, cx| Pin::new(s).poll_flush(cx))
    }

    /// True when the client has gone away (checked without blocking).
    pub fn client_gone(&mut self) -> bool {
        let waker = self.waker.clone();
        let mut cx = Context::from_waker(&waker);
        matches!(Pin::new(&mut self.sink).poll_ready(&mut cx), Poll::Ready(Err(_)))
    }

    /// Ends the stream with OK.
    pub fn close(mut self) {
        let waker = self.waker.clone();
        let mut cx = Context::from_waker(&waker);
        let deadline = Instant::now() + FINISH_TIMEOUT;
        let _ = self.wait(&mut cx, &|| Instant::now() > deadline, |s, cx| Pin::new(s).poll_close(cx));
    }

    /// Ends the stream with an error status.
    pub fn fail(self, status: RpcStatus) {
        let waker = self.waker.clone();
        let mut cx = Context::from_waker(&waker);
        let mut fut = self.sink.fail(status);
        let deadline = Instant::now() + FINISH_TIMEOUT;
        while Instant::now() < deadline {
            if Pin::new(&mut fut).poll(&mut cx).is_ready() {
                return;
            }
            thread::park_timeout(RECHECK);
        }
    }

    fn wait(
        &mut self,
        cx: &mut Context<'_>,
        stop: &dyn Fn() -> bool,
        mut poll: impl FnMut(&mut ServerStreamingSink<T>, &mut Context<'_>) -> Poll<grpcio::Result<()>>,
    ) -> Result<(), SendError> {
        loop {
            match poll(&mut self.sink, cx) {
                Poll::Ready(Ok(())) => return Ok(()),
                Poll::Ready(Err(_)) => return Err(SendError::ClientGone),
                Poll::Pending => {
                    if stop() {
                        return Err(SendError::Stopped);
                    }
                    thread::park_timeout(RECHECK);
                }
            }
        }
    }
}
