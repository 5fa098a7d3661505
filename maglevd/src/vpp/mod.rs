//! VPP integration (PRODUCT.md §7): one dedicated thread owns the API
//! socket and the stats segment as one unit, keeps VPP's lb plugin equal
//! to the checker's decision, and reads the per-VIP counters.
//!
//! Other threads talk to it through [`VppHandle`]: cheap reads come from a
//! published [`VppStatus`]; anything that needs the socket is a request
//! answered by the thread.

mod connection;
mod counters;
pub mod desired;
pub mod plan;
mod state;
mod sync;
pub mod warmup;
mod worker;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crossbeam_channel::Sender;
use parking_lot::RwLock;
use vppapi::client::Direction;
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
    /// From `/sys/boottime` (whole seconds).
    pub boot_time: SystemTime,
    pub connect_time: SystemTime,
}

/// The lb plugin's global configuration as VPP holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbConf {
    pub ip4_src_address: Ipv4Addr,
    pub ip6_src_address: Ipv6Addr,
    pub sticky_buckets_per_core: u32,
    pub flow_timeout: u32,
}

/// `GetVPPLBState`: what VPP holds, annotated with the frontend that wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbState {
    pub conf: Option<LbConf>,
    pub vips: Vec<VipState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipState {
    pub key: VipKey,
    /// The frontend whose VIP this is (`None`: not maglevd's).
    pub frontend: Option<String>,
    pub encap: Option<LbEncapType>,
    pub src_ip_sticky: bool,
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
}

impl fmt::Display for VppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VppError::Disconnected(r) => write!(f, "VPP is not connected: {r}"),
            VppError::NotFound(what) => write!(f, "{what} not found"),
            VppError::FailedPrecondition(m) | VppError::Api(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for VppError {}

/// What other threads may read without asking the VPP thread.
#[derive(Debug, Clone, Default)]
pub struct VppStatus {
    pub connected: bool,
    /// Why not connected (or what is missing when not writable).
    pub reason: String,
    pub info: Option<VppInfo>,
    /// False when VPP lacks the weight API: maglevd then never writes.
    pub writable: bool,
    pub warmup_done: bool,
    /// Latest counters (empty while disconnected).
    pub counters: Arc<Vec<VipCounters>>,
}

enum Request {
    LbState(Sender<Result<LbState, VppError>>),
    Sync(Option<String>, Sender<Result<SyncSummary, VppError>>),
    RefreshCounters(Sender<Result<Arc<Vec<VipCounters>>, VppError>>),
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

    /// `GetVPPLBState`: read from VPP now.
    pub fn lb_state(&self) -> Result<LbState, VppError> {
        self.ask(Request::LbState)
    }

    /// `SyncVPPLBState`: a full sync, or one frontend's.
    pub fn sync(&self, frontend: Option<String>) -> Result<SyncSummary, VppError> {
        self.ask(|tx| Request::Sync(frontend, tx))
    }

    /// `GetVPPLBCounters`: the latest counters (refreshed every few seconds).
    pub fn counters(&self) -> Result<Arc<Vec<VipCounters>>, VppError> {
        let s = self.status.read();
        if !s.connected {
            return Err(VppError::Disconnected(s.reason.clone()));
        }
        Ok(s.counters.clone())
    }

    /// Reads the counters now (on demand).
    pub fn refresh_counters(&self) -> Result<Arc<Vec<VipCounters>>, VppError> {
        self.ask(Request::RefreshCounters)
    }

    /// Tells the VPP thread a reload was applied.
    pub fn reloaded(&self) {
        let _ = self.tx.send(Request::Reloaded);
    }

    fn ask<T>(&self, make: impl FnOnce(Sender<Result<T, VppError>>) -> Request) -> Result<T, VppError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.tx.send(make(tx)).map_err(|_| VppError::Disconnected("maglevd is shutting down".into()))?;
        rx.recv_timeout(self.timeout)
            .map_err(|_| VppError::Api("the VPP thread did not answer in time".into()))?
    }
}

/// The running VPP thread.
pub struct Vpp {
    handle: VppHandle,
    thread: Option<JoinHandle<()>>,
}

impl Vpp {
    /// Starts the VPP thread. `on_warmup_done` runs once, when the warmup
    /// ends (the gRPC health service turns SERVING).
    pub fn start(
        opts: VppOptions,
        checker: CheckerHandle,
        observer: Arc<dyn VppObserver>,
        on_warmup_done: Box<dyn FnOnce() + Send>,
    ) -> std::io::Result<Vpp> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let status =
            Arc::new(RwLock::new(VppStatus { reason: "not connected yet".into(), ..VppStatus::default() }));
        // Long enough for a full sync of a large config on a slow VPP.
        let timeout = opts.request_timeout * 6;
        let handle = VppHandle { tx, status: status.clone(), timeout };
        let worker = worker::Worker::new(opts, checker, observer, status, on_warmup_done);
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
