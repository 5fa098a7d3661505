//! `StatsServer`: VPP's stats socket. On every accepted connection it sends
//! one message with zero data bytes and one `SCM_RIGHTS` control message
//! carrying the segment's memfd, then closes the connection (PROTOCOL.md
//! 4.1). Runs on its own thread.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    bind, listen, sendmsg, socket, AddressFamily, Backlog, ControlMessage, MsgFlags, SockFlag, SockType,
    UnixAddr,
};
use nix::unistd::{pipe2, write};
use parking_lot::Mutex;

use super::error::StatsError;
use super::mapping::accept_connection;
use super::writer::SegmentHandle;

/// A running stats socket; stopped (and its socket file removed) by
/// [`stop`](Self::stop) or on drop.
pub struct StatsServer {
    path: PathBuf,
    segment: Arc<Mutex<SegmentHandle>>,
    served: Arc<AtomicU64>,
    wake: Option<OwnedFd>,
    thread: Option<JoinHandle<()>>,
}

impl StatsServer {
    /// Listens on `socket_path` (a stale socket file there is removed
    /// first) and serves `segment` to every client.
    pub fn start(socket_path: impl AsRef<Path>, segment: SegmentHandle) -> Result<StatsServer, StatsError> {
        let path = socket_path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StatsError::os(
                    format!("remove stale socket {shown}"),
                    Errno::from_raw(e.raw_os_error().unwrap_or(0)),
                ))
            }
        }
        let listener = socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )
        .map_err(|e| StatsError::os("create a SEQPACKET socket", e))?;
        let addr =
            UnixAddr::new(&path).map_err(|e| StatsError::os(format!("use {shown} as a socket path"), e))?;
        bind(listener.as_raw_fd(), &addr).map_err(|e| StatsError::os(format!("bind {shown}"), e))?;
        let backlog = Backlog::new(64).map_err(|e| StatsError::os("listen backlog", e))?;
        listen(&listener, backlog).map_err(|e| StatsError::os(format!("listen on {shown}"), e))?;
        let (wake_rx, wake_tx) =
            pipe2(OFlag::O_CLOEXEC).map_err(|e| StatsError::os("create the stats server's wake pipe", e))?;

        let segment = Arc::new(Mutex::new(segment));
        let served = Arc::new(AtomicU64::new(0));
        let thread = {
            let segment = segment.clone();
            let served = served.clone();
            std::thread::Builder::new()
                .name("stats-server".into())
                .spawn(move || serve(listener, wake_rx, segment, served))
                .map_err(|e| {
                    StatsError::os(
                        "spawn the stats server thread",
                        Errno::from_raw(e.raw_os_error().unwrap_or(0)),
                    )
                })?
        };
        Ok(StatsServer { path, segment, served, wake: Some(wake_tx), thread: Some(thread) })
    }

    /// Serves `segment` to clients connecting from now on (a VPP restart:
    /// existing readers keep their mapping of the old, now frozen, segment).
    pub fn replace_segment(&self, segment: SegmentHandle) {
        *self.segment.lock() = segment;
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of clients that were sent the segment.
    pub fn connections_served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    /// Stops the thread and removes the socket file.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(wake) = self.wake.take() {
            if let Err(e) = write(&wake, &[1]) {
                log::warn!("stats server: cannot wake the server thread: {e}");
            }
        }
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                log::warn!("stats server: the server thread panicked");
            }
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for StatsServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn serve(listener: OwnedFd, wake: OwnedFd, segment: Arc<Mutex<SegmentHandle>>, served: Arc<AtomicU64>) {
    loop {
        let mut fds =
            [PollFd::new(listener.as_fd(), PollFlags::POLLIN), PollFd::new(wake.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(e) => {
                log::error!("stats server: poll failed, stopping: {e}");
                return;
            }
        }
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            return;
        }
        let conn = match accept_connection(&listener) {
            Ok(c) => c,
            Err(Errno::EAGAIN | Errno::EINTR | Errno::ECONNABORTED) => continue,
            Err(e) => {
                log::warn!("stats server: accept failed: {e}");
                continue;
            }
        };
        let handle = segment.lock().clone();
        let fds = [handle.fd().as_raw_fd()];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let iov: [IoSlice<'_>; 0] = [];
        // Counted before sending, so a client holding the segment always
        // sees itself counted; taken back if the send fails.
        served.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = sendmsg::<()>(conn.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None) {
            served.fetch_sub(1, Ordering::Relaxed);
            log::warn!("stats server: sending the segment failed: {e}");
        }
        // Dropping `conn` closes the connection, as VPP does.
    }
}
