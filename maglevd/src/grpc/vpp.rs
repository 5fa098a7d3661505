//! The seam between the gRPC API and VPP integration. The VPP thread's
//! handle implements [`VppService`]; the server holds it as
//! `Option<Arc<dyn VppService>>` and answers UNAVAILABLE when it is `None`
//! (VPP integration disabled). It speaks the VPP module's own types;
//! `convert.rs` turns them into protobuf, so the VPP side never sees it.

use std::sync::Arc;

use crate::vpp::{LbState, Reply, SyncSummary, VipCounters, VppError, VppHandle, VppInfo};

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
    fn lb_state(&self, expired: Expired, done: Done<LbState>);
    /// Reconciles VPP with the desired state: one frontend's VIP, or
    /// everything when `frontend` is `None` (SyncVPPLBState).
    fn sync(&self, frontend: Option<&str>, expired: Expired, done: Done<SyncSummary>);
    /// The latest per-VIP counters (GetVPPLBCounters).
    fn counters(&self) -> Result<Arc<Vec<VipCounters>>, VppError>;
}

impl VppService for VppHandle {
    fn info(&self) -> Result<VppInfo, VppError> {
        VppHandle::info(self)
    }

    fn lb_state(&self, expired: Expired, done: Done<LbState>) {
        self.lb_state_then(Reply::new(expired, done));
    }

    fn sync(&self, frontend: Option<&str>, expired: Expired, done: Done<SyncSummary>) {
        self.sync_then(frontend.map(str::to_string), Reply::new(expired, done));
    }

    fn counters(&self) -> Result<Arc<Vec<VipCounters>>, VppError> {
        VppHandle::counters(self)
    }
}
