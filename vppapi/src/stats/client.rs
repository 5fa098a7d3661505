//! The stats-segment reader: connects VPP's stats socket, maps the segment
//! and answers queries under the epoch protocol.

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::socket::{
    connect, recvmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag,
    SockType, UnixAddr,
};
use nix::sys::time::TimeVal;

use super::directory::View;
use super::error::StatsError;
use super::layout::EntryType;
use super::layout::HEADER_LEN;
use super::mapping::{adopt_received_fd, ReadOnlyMapping};
use super::protocol::read_consistent;
use super::query::{eval, Combined, NameIndex, Query, Snapshot, Value};
use super::segment::Segment;

/// One entry of [`StatsClient::dump`]: its name and value (or why it
/// could not be read).
pub type DumpEntry = (String, Result<Value, StatsError>);

/// Default limit for one consistent read and for the socket exchange.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// A reader of one stats segment.
///
/// `S` is the memory being read: the shared mapping from
/// [`StatsClient::connect`], or any [`Segment`] (bytes, a writer's
/// [`MemorySegment`](super::MemorySegment)) via [`StatsClient::from_segment`].
///
/// The client maps exactly one segment; when VPP restarts (a new
/// `/sys/boottime`, a frozen `/sys/heartbeat`) connect again.
pub struct StatsClient<S: Segment = ReadOnlyMapping> {
    segment: S,
    timeout: Duration,
    names: Option<NameIndex>,
}

impl StatsClient<ReadOnlyMapping> {
    /// Connects the stats socket at `path` (VPP: `/run/vpp/stats.sock`),
    /// receives the segment's memfd and maps it read-only.
    pub fn connect(path: impl AsRef<Path>) -> Result<Self, StatsError> {
        Self::connect_with_timeout(path, DEFAULT_TIMEOUT)
    }

    /// Like [`connect`](Self::connect); `timeout` bounds the socket exchange
    /// and, afterwards, each consistent read.
    pub fn connect_with_timeout(path: impl AsRef<Path>, timeout: Duration) -> Result<Self, StatsError> {
        let path = path.as_ref();
        let fd = receive_segment_fd(path, timeout)?;
        let mapping = ReadOnlyMapping::from_fd(fd)?;
        let mut client = StatsClient::from_segment(mapping)?;
        client.timeout = timeout;
        Ok(client)
    }
}

/// Connects the SEQPACKET socket and takes the fd VPP sends on accept
/// (one message, zero data bytes, one `SCM_RIGHTS` descriptor).
fn receive_segment_fd(path: &Path, timeout: Duration) -> Result<OwnedFd, StatsError> {
    let shown = path.display();
    let sock = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| StatsError::os("create a SEQPACKET socket", e))?;
    let addr = UnixAddr::new(path).map_err(|e| StatsError::os(format!("use {shown} as a socket path"), e))?;
    let tv = TimeVal::new(timeout.as_secs().try_into().unwrap_or(i64::MAX), timeout.subsec_micros().into());
    setsockopt(&sock, sockopt::ReceiveTimeout, &tv).map_err(|e| StatsError::os("set SO_RCVTIMEO", e))?;
    connect(sock.as_raw_fd(), &addr).map_err(|e| StatsError::os(format!("connect to {shown}"), e))?;

    let mut data = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let msg = recvmsg::<()>(sock.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC)
        .map_err(|e| StatsError::os(format!("receive the segment from {shown}"), e))?;
    let mut received: Vec<OwnedFd> = Vec::new();
    let cmsgs = msg.cmsgs().map_err(|e| StatsError::os(format!("read control messages from {shown}"), e))?;
    for c in cmsgs {
        if let ControlMessageOwned::ScmRights(fds) = c {
            received.extend(fds.into_iter().filter_map(adopt_received_fd));
        }
    }
    // Extra descriptors (none from VPP) are closed when `received` drops.
    received.into_iter().next().ok_or_else(|| StatsError::NoDescriptor { path: PathBuf::from(path) })
}

impl<S: Segment> StatsClient<S> {
    /// A client over any segment; checks the header once.
    pub fn from_segment(segment: S) -> Result<Self, StatsError> {
        let len = segment.len();
        if len < HEADER_LEN {
            return Err(StatsError::TooSmall { len });
        }
        View::new(&segment)?;
        Ok(StatsClient { segment, timeout: DEFAULT_TIMEOUT, names: None })
    }

    /// Limit for one consistent read (waiting for `in_progress` to clear
    /// and retrying after epoch changes). Zero means a single attempt.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The memory being read.
    pub fn segment(&self) -> &S {
        &self.segment
    }

    /// Reads all `queries` under one epoch, so the values are mutually
    /// consistent. Segment-level failures fail the whole read; a missing or
    /// mistyped entry fails only its own result.
    pub fn read(&mut self, queries: &[Query]) -> Result<Snapshot, StatsError> {
        let cached = self.names.take();
        let outcome = read_consistent(&self.segment, self.timeout, |view, epoch| {
            let dir = view.directory()?;
            let mut fresh = None;
            let names = match &cached {
                Some(c) if c.epoch == epoch => c,
                _ => fresh.insert(NameIndex::build(view, &dir, epoch)?),
            };
            let mut results = Vec::with_capacity(queries.len());
            for q in queries {
                match eval(view, &dir, names, q) {
                    Err(e) if !e.is_entry_error() => return Err(e),
                    r => results.push(r),
                }
            }
            Ok((results, fresh))
        });
        match outcome {
            Ok(((results, fresh), epoch)) => {
                self.names = fresh.or(cached);
                Ok(Snapshot { epoch, results })
            }
            Err(e) => {
                self.names = cached;
                Err(e)
            }
        }
    }

    fn read_one(&mut self, query: Query) -> Result<Value, StatsError> {
        let snap = self.read(std::slice::from_ref(&query))?;
        match snap.results.into_iter().next() {
            Some(r) => r,
            None => Err(StatsError::invalid("empty snapshot")),
        }
    }

    /// A scalar or gauge entry, e.g. `/sys/heartbeat`.
    pub fn scalar(&mut self, name: &str) -> Result<u64, StatsError> {
        match self.read_one(Query::scalar(name))? {
            Value::Scalar(v) => Ok(v),
            other => Err(unexpected(name, "scalar", other)),
        }
    }

    /// Σ over threads of `name[thread][index]` (a simple counter).
    pub fn simple_counter_sum(&mut self, name: &str, index: u32) -> Result<u64, StatsError> {
        match self.read_one(Query::simple(name, index))? {
            Value::Counter(v) => Ok(v),
            other => Err(unexpected(name, "simple counter", other)),
        }
    }

    /// Σ over threads of `name[thread][index]` (a combined counter).
    pub fn combined_counter_sum(&mut self, name: &str, index: u32) -> Result<Combined, StatsError> {
        match self.read_one(Query::combined(name, index))? {
            Value::Combined(v) => Ok(v),
            other => Err(unexpected(name, "combined counter", other)),
        }
    }

    /// Whatever entry `name` holds (whole vectors, name vectors, symlinks
    /// resolved).
    pub fn read_entry(&mut self, name: &str) -> Result<Value, StatsError> {
        self.read_one(Query::entry(name))
    }

    /// `/sys/boottime`: Unix time (seconds) at which VPP's stats started.
    pub fn boottime(&mut self) -> Result<u64, StatsError> {
        self.scalar("/sys/boottime")
    }

    /// `/sys/heartbeat`: increases while VPP is alive.
    pub fn heartbeat(&mut self) -> Result<u64, StatsError> {
        self.scalar("/sys/heartbeat")
    }

    /// Names and types of all entries, in directory order.
    pub fn entries(&mut self) -> Result<Vec<(String, EntryType)>, StatsError> {
        self.read(&[])?;
        Ok(self.names.as_ref().map(|n| n.entries.clone()).unwrap_or_default())
    }

    /// Names of all entries, in directory order.
    pub fn names(&mut self) -> Result<Vec<String>, StatsError> {
        Ok(self.entries()?.into_iter().map(|(n, _)| n).collect())
    }

    /// Every entry with its value (as [`read_entry`](Self::read_entry)),
    /// values under one epoch. An entry removed between listing and reading
    /// shows as `NotFound`.
    pub fn dump(&mut self) -> Result<Vec<DumpEntry>, StatsError> {
        let names = self.names()?;
        let queries: Vec<Query> = names.iter().map(Query::entry).collect();
        let snap = self.read(&queries)?;
        Ok(names.into_iter().zip(snap.results).collect())
    }
}

fn unexpected(name: &str, expected: &'static str, found: Value) -> StatsError {
    StatsError::WrongType { name: name.into(), expected, found: format!("{found:?}") }
}
