//! The seam between the gRPC API and VPP integration. The VPP thread's
//! handle implements [`VppService`]; the server holds it as
//! `Option<Arc<dyn VppService>>` and answers UNAVAILABLE when it is `None`
//! (VPP integration disabled). The types here are plain domain types so that
//! the VPP side never sees protobuf.

use std::fmt;
use std::net::IpAddr;
use std::time::SystemTime;

use crate::config::Protocol;

/// Where an answer goes: called once, on whichever thread produced it
/// (it completes the gRPC call without waiting).
pub type Done<T> = Box<dyn FnOnce(Result<T, VppError>) + Send>;

/// Whether the caller has stopped waiting (its deadline passed): a request
/// still queued then is dropped, not run.
pub type Expired = Box<dyn Fn() -> bool + Send>;

/// What the gRPC API asks of the VPP integration. Every method returns at
/// once, because they run on gRPC completion-queue threads: the quick ones
/// read a published status; the ones that need VPP queue a request and hand
/// `done` to the VPP thread, which calls it with the answer.
pub trait VppService: Send + Sync {
    /// The connected VPP (GetVPPInfo).
    fn info(&self) -> Result<VppInfo, VppError>;
    /// The lb plugin's state as read from VPP now (GetVPPLBState).
    fn lb_state(&self, expired: Expired, done: Done<VppLbState>);
    /// Reconciles VPP with the desired state: one frontend's VIP, or
    /// everything when `frontend` is `None` (SyncVPPLBState).
    fn sync(&self, frontend: Option<&str>, expired: Expired, done: Done<SyncCounts>);
    /// The latest per-VIP counters (GetVPPLBCounters).
    fn counters(&self) -> Result<VppCounters, VppError>;
}

/// Why a VPP request failed; each maps to one gRPC status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VppError {
    /// UNAVAILABLE: VPP is disconnected (the message says why).
    Unavailable(String),
    /// NOT_FOUND: e.g. `frontend "web9"`.
    NotFound(String),
    /// FAILED_PRECONDITION: connected, but VPP cannot do it now (no weight
    /// API, warmup still holds writes).
    FailedPrecondition(String),
    /// INTERNAL: VPP refused a request or answered something unexpected.
    Failed(String),
    /// RESOURCE_EXHAUSTED: too many requests are queued for the VPP thread.
    Exhausted(String),
    /// DEADLINE_EXCEEDED: the request expired in the queue and was not run.
    DeadlineExceeded(String),
}

impl fmt::Display for VppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VppError::Unavailable(m)
            | VppError::FailedPrecondition(m)
            | VppError::Failed(m)
            | VppError::Exhausted(m)
            | VppError::DeadlineExceeded(m) => f.write_str(m),
            VppError::NotFound(what) => write!(f, "{what} not found"),
        }
    }
}

impl std::error::Error for VppError {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VppInfo {
    pub version: String,
    pub build_date: String,
    pub build_directory: String,
    pub pid: u32,
    pub boot_time: Option<SystemTime>,
    pub connect_time: Option<SystemTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VppLbState {
    pub conf: VppLbConf,
    pub vips: Vec<VppVip>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VppLbConf {
    pub ipv4_src_address: Option<IpAddr>,
    pub ipv6_src_address: Option<IpAddr>,
    pub sticky_buckets_per_core: u32,
    pub flow_timeout_s: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VppVip {
    pub address: IpAddr,
    pub prefix_len: u8,
    pub protocol: Protocol,
    pub port: u16,
    /// "gre4", "gre6", ...
    pub encap: String,
    pub src_ip_sticky: bool,
    pub flow_table_length: u32,
    /// VPP's VIP index.
    pub index: u32,
    /// The frontend that wants this VIP, if any.
    pub frontend: Option<String>,
    pub ases: Vec<VppAs>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VppAs {
    pub address: IpAddr,
    pub weight: u8,
    pub num_buckets: u32,
    pub flags: u32,
    pub in_use: bool,
}

/// What a sync changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    pub vips_added: u32,
    pub vips_removed: u32,
    pub ases_added: u32,
    pub ases_removed: u32,
    pub ases_weight_updated: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VppCounters {
    /// When the stats segment was read (the answer's time when the source
    /// does not record it; counters are refreshed every few seconds).
    pub read_at: SystemTime,
    pub vips: Vec<VipCounters>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipCounters {
    pub frontend: String,
    pub address: IpAddr,
    pub prefix_len: u8,
    pub protocol: Protocol,
    pub port: u16,
    pub first: u64,
    pub next: u64,
    pub untracked: u64,
    pub no_server: u64,
    pub fib_packets: u64,
    pub fib_bytes: u64,
}
