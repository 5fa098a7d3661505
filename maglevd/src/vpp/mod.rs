//! VPP integration (PRODUCT.md §7): one dedicated thread owns the API
//! socket and the stats segment as one unit, keeps VPP's lb plugin equal
//! to the checker's decision, and reads the per-VIP counters.
//!
//! Other threads talk to it through [`VppHandle`]: cheap reads come from a
//! published [`VppStatus`]; anything that needs the socket is a request on
//! a bounded queue, and the thread hands its answer to the request's
//! [`Reply`] (nobody waits for it: a gRPC handler passes a reply that
//! completes its call).

mod connection;
mod counters;
pub mod desired;
mod model;
pub mod plan;
mod state;
mod sync;
pub mod warmup;
mod worker;

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crossbeam_channel::Sender;
use parking_lot::RwLock;
use vppapi::client::{Direction, LbGlobalConf};
use vppapi::lb::VipKey;
use vppapi::types::LbEncapType;

use crate::checker::CheckerHandle;

/// What the VPP thread reports to metrics; called on the VPP thread.
pub trait VppObserver: Send + Sync {
    /// One API message (see `vppapi::client::ApiObserver`).
    fn on_api(&self, _msg: &str, _direction: Direction, _result: &str) {}
    /// `n` sync writes of `kind` in a run of `scope` (`all` or `vip`).
    fn on_lbsync(&self, _scope: &str, _kind: &str, _n: u64) {}
}

pub struct NoVppObserver;
impl VppObserver for NoVppObserver {}

/// Where VPP is and how to drive it.
#[derive(Debug, Clone)]
pub struct VppOptions {
    pub api_socket: PathBuf,
    pub stats_socket: PathBuf,
    /// Reconnect period after a failure.
    pub retry: Duration,
    /// control_ping period.
    pub ping: Duration,
    /// Counter refresh period.
    pub counters: Duration,
    /// Timeout of one API request.
    pub request_timeout: Duration,
}

impl VppOptions {
    pub fn new(api_socket: impl Into<PathBuf>, stats_socket: impl Into<PathBuf>) -> Self {
        VppOptions {
            api_socket: api_socket.into(),
            stats_socket: stats_socket.into(),
            retry: Duration::from_secs(5),
            ping: Duration::from_secs(10),
            counters: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// `GetVPPInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VppInfo {
    pub version: String,
    pub build_date: String,
    pub build_directory: String,
    pub pid: u32,
    /// From `/sys/boottime` (whole seconds); `None` while the stats
    /// segment is not mapped.
    pub boot_time: Option<SystemTime>,
    pub connect_time: SystemTime,
}

/// `GetVPPLBState`: what VPP holds, annotated with the frontend that wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbState {
    /// `None` when the read skipped it.
    pub conf: Option<LbGlobalConf>,
    pub vips: Vec<VipState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipState {
    pub key: VipKey,
    /// The frontend whose VIP this is (`None`: not maglevd's).
    pub frontend: Option<String>,
    pub encap: Option<LbEncapType>,
    /// `None`: the CLI text did not describe this VIP.
    pub src_ip_sticky: Option<bool>,
    pub index: Option<u32>,
    pub flow_table_length: Option<u32>,
    pub ases: Vec<AsState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsState {
    pub address: IpAddr,
    pub weight: u8,
    pub num_buckets: u32,
    pub in_use: bool,
}

/// `GetVPPLBCounters`: one VIP's counters, summed over VPP's threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipCounters {
    pub frontend: String,
    pub key: VipKey,
    pub first: u64,
    pub next: u64,
    pub untracked: u64,
    pub no_server: u64,
    /// `/net/route/to` of the VIP's prefix (shared by per-port VIPs of one prefix).
    pub fib_packets: u64,
    pub fib_bytes: u64,
}

/// Counts of one sync run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncSummary {
    pub vips_added: u64,
    pub vips_removed: u64,
    pub ases_added: u64,
    pub ases_removed: u64,
    pub weights_updated: u64,
}

impl SyncSummary {
    pub fn writes(&self) -> u64 {
        self.vips_added + self.vips_removed + self.ases_added + self.ases_removed + self.weights_updated
    }
}

/// Why a VPP request could not be served. Maps to gRPC codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VppError {
    /// UNAVAILABLE: not connected (with the last reason).
    Disconnected(String),
    /// NOT_FOUND: no such frontend.
    NotFound(String),
    /// FAILED_PRECONDITION: connected, but VPP cannot do what is needed
    /// (e.g. no weight API), or the warmup still holds writes.
    FailedPrecondition(String),
    /// INTERNAL/UNAVAILABLE: an API call failed.
    Api(String),
    /// RESOURCE_EXHAUSTED: the request queue is full.
    Busy(String),
    /// DEADLINE_EXCEEDED: the caller stopped waiting before the VPP thread
    /// got to the request, so it was not run.
    Expired,
}

impl fmt::Display for VppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VppError::Disconnected(r) => write!(f, "VPP is not connected: {r}"),
            VppError::NotFound(what) => write!(f, "{what} not found"),
            VppError::FailedPrecondition(m) | VppError::Api(m) | VppError::Busy(m) => f.write_str(m),
            VppError::Expired => {
                f.write_str("the deadline passed before the VPP thread got to the request; it was not run")
            }
        }
    }
}

impl std::error::Error for VppError {}

/// What other threads may read without asking the VPP thread.
#[derive(Debug, Clone, Default)]
pub struct VppStatus {
    /// The API socket (what programming needs).
    pub connected: bool,
    /// The stats segment (what counters need); independent of `connected`.
    pub stats_connected: bool,
    /// Why not connected (or what is missing when not writable).
    pub reason: String,
    pub info: Option<VppInfo>,
    /// False when VPP lacks the weight API: maglevd then never writes.
    pub writable: bool,
    pub warmup_done: bool,
    /// Where the startup warmup is (PRODUCT.md §7.6).
    pub warmup: warmup::Phase,
    /// The last sync run that completed.
    pub last_sync: Option<SyncRecord>,
    /// Latest counters (empty while either side is disconnected), and when
    /// they were read.
    pub counters: Arc<Vec<VipCounters>>,
    pub counters_at: Option<SystemTime>,
    /// The read before the latest one, for rates (empty after a reconnect).
    pub previous_counters: Arc<Vec<VipCounters>>,
    pub previous_counters_at: Option<SystemTime>,
}

/// One completed sync run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRecord {
    pub at: SystemTime,
    /// A full sync (`true`) or one of some frontends.
    pub full: bool,
    /// The frontends it covered (empty for a full sync).
    pub frontends: Vec<String>,
    pub summary: SyncSummary,
    pub duration: Duration,
}

impl VppStatus {
    /// Whether maglevd can keep the dataplane right: the warmup is over and
    /// VPP is connected with the weight API. What `grpc.health` reports.
    pub fn ready(&self) -> bool {
        self.warmup_done && self.connected && self.writable
    }
}

/// Requests queued for the VPP thread before callers are told it is busy.
pub const REQUEST_QUEUE: usize = 64;

/// Where the answer to a request goes. `expired` is asked when the VPP
/// thread takes the request: one whose caller has stopped waiting is
/// dropped, not run.
pub struct Reply<T> {
    expired: Box<dyn Fn() -> bool + Send>,
    done: Box<dyn FnOnce(Result<T, VppError>) + Send>,
}

impl<T> Reply<T> {
    pub fn new(
        expired: impl Fn() -> bool + Send + 'static,
        done: impl FnOnce(Result<T, VppError>) + Send + 'static,
    ) -> Reply<T> {
        Reply { expired: Box::new(expired), done: Box::new(done) }
    }

    /// A reply that blocks nobody and is never late: for callers that
    /// wait on a channel of their own.
    pub fn channel(tx: Sender<Result<T, VppError>>) -> Reply<T>
    where
        T: Send + 'static,
    {
        Reply::new(|| false, move |r| drop(tx.send(r)))
    }

    pub fn is_expired(&self) -> bool {
        (self.expired)()
    }

    pub fn send(self, result: Result<T, VppError>) {
        (self.done)(result)
    }
}

enum Request {
    LbState(Reply<LbState>),
    Sync(Option<String>, Reply<SyncSummary>),
    RefreshCounters(Reply<Arc<Vec<VipCounters>>>),
    /// A reload happened: push lb_conf if changed, then a full sync.
    Reloaded,
    Stop,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct VppHandle {
    tx: Sender<Request>,
    status: Arc<RwLock<VppStatus>>,
    timeout: Duration,
}

impl VppHandle {
    pub fn status(&self) -> VppStatus {
        self.status.read().clone()
    }

    /// `GetVPPInfo`.
    pub fn info(&self) -> Result<VppInfo, VppError> {
        let s = self.status.read();
        match (&s.info, s.connected) {
            (Some(i), true) => Ok(i.clone()),
            _ => Err(VppError::Disconnected(s.reason.clone())),
        }
    }

    /// `GetVPPLBState`: read from VPP now; the answer goes to `reply`.
    pub fn lb_state_then(&self, reply: Reply<LbState>) {
        self.submit(Request::LbState, reply)
    }

    /// `SyncVPPLBState`: a full sync, or one frontend's; the answer goes
    /// to `reply`.
    pub fn sync_then(&self, frontend: Option<String>, reply: Reply<SyncSummary>) {
        self.submit(|r| Request::Sync(frontend, r), reply)
    }

    /// `GetVPPLBState`, waiting for the answer (not for gRPC handlers).
    pub fn lb_state(&self) -> Result<LbState, VppError> {
        self.wait(|r| self.lb_state_then(r))
    }

    /// `SyncVPPLBState`, waiting for the answer (not for gRPC handlers).
    pub fn sync(&self, frontend: Option<String>) -> Result<SyncSummary, VppError> {
        self.wait(|r| self.sync_then(frontend, r))
    }

    /// `GetVPPLBCounters`: the latest counters (refreshed every few seconds).
    pub fn counters(&self) -> Result<Arc<Vec<VipCounters>>, VppError> {
        let s = self.status.read();
        if !s.connected {
            return Err(VppError::Disconnected(s.reason.clone()));
        }
        if !s.stats_connected {
            return Err(VppError::Disconnected(
                "VPP's stats segment is not mapped, so there are no counters (programming VPP goes on; \
                 maglevd reconnects to the stats socket on its own)"
                    .into(),
            ));
        }
        Ok(s.counters.clone())
    }

    /// Reads the counters now (on demand), waiting for the answer.
    pub fn refresh_counters(&self) -> Result<Arc<Vec<VipCounters>>, VppError> {
        self.wait(|r| self.submit(Request::RefreshCounters, r))
    }

    /// Tells the VPP thread a reload was applied. Waits for room in the
    /// queue (called from the signal and config threads, never from a
    /// completion-queue thread): a reload must not be lost.
    pub fn reloaded(&self) {
        let _ = self.tx.send(Request::Reloaded);
    }

    /// Queues a request without waiting; a full queue or a stopped thread
    /// answers at once.
    fn submit<T>(&self, make: impl FnOnce(Reply<T>) -> Request, reply: Reply<T>) {
        use crossbeam_channel::TrySendError;
        match self.tx.try_send(make(reply)) {
            Ok(()) => {}
            Err(TrySendError::Full(req)) => req.refuse(VppError::Busy(format!(
                "the VPP thread is busy: {REQUEST_QUEUE} requests are already queued; retry later"
            ))),
            Err(TrySendError::Disconnected(req)) => {
                req.refuse(VppError::Disconnected("maglevd is shutting down".into()))
            }
        }
    }

    fn wait<T: Send + 'static>(&self, submit: impl FnOnce(Reply<T>)) -> Result<T, VppError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        submit(Reply::channel(tx));
        rx.recv_timeout(self.timeout)
            .map_err(|_| VppError::Api("the VPP thread did not answer in time".into()))?
    }
}

impl Request {
    /// Answers a request that will not run.
    fn refuse(self, e: VppError) {
        match self {
            Request::LbState(r) => r.send(Err(e)),
            Request::Sync(_, r) => r.send(Err(e)),
            Request::RefreshCounters(r) => r.send(Err(e)),
            Request::Reloaded | Request::Stop => {}
        }
    }

    /// Whether the caller has stopped waiting for it.
    fn is_expired(&self) -> bool {
        match self {
            Request::LbState(r) => r.is_expired(),
            Request::Sync(_, r) => r.is_expired(),
            Request::RefreshCounters(r) => r.is_expired(),
            Request::Reloaded | Request::Stop => false,
        }
    }
}

/// The running VPP thread.
pub struct Vpp {
    handle: VppHandle,
    thread: Option<JoinHandle<()>>,
}

impl Vpp {
    /// Starts the VPP thread. `on_ready` is called on the VPP thread with
    /// [`VppStatus::ready`] whenever it changes (the gRPC health service
    /// follows it), starting with `false`.
    pub fn start(
        opts: VppOptions,
        checker: CheckerHandle,
        observer: Arc<dyn VppObserver>,
        on_ready: Box<dyn Fn(bool) + Send>,
    ) -> std::io::Result<Vpp> {
        let (tx, rx) = crossbeam_channel::bounded(REQUEST_QUEUE);
        let status =
            Arc::new(RwLock::new(VppStatus { reason: "not connected yet".into(), ..VppStatus::default() }));
        // Long enough for a full sync of a large config on a slow VPP.
        let timeout = opts.request_timeout * 6;
        let handle = VppHandle { tx, status: status.clone(), timeout };
        let worker = worker::Worker::new(opts, checker, observer, status, on_ready);
        let thread = std::thread::Builder::new().name("vpp".into()).spawn(move || worker.run(rx))?;
        Ok(Vpp { handle, thread: Some(thread) })
    }

    pub fn handle(&self) -> VppHandle {
        self.handle.clone()
    }

    /// Stops the thread. The VPP state is left as it is: the dataplane keeps forwarding.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        let _ = self.handle.tx.send(Request::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Vpp {
    fn drop(&mut self) {
        self.stop_inner();
    }
}
