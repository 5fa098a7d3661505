//! Connects the VPP thread to the metrics seam: its observer pushes API
//! and sync counts, and its published status is what a scrape reads.

use vppapi::client::Direction;

use super::{Metrics, VppStatusSource};
use crate::vpp::{VppHandle, VppObserver, VppStatus};

impl VppObserver for Metrics {
    fn on_api(&self, msg: &str, direction: Direction, result: &str) {
        self.vpp_api_message(msg, direction.as_str(), result);
    }

    fn on_lbsync(&self, scope: &str, kind: &str, n: u64) {
        self.vpp_lbsync(scope, kind, n);
    }
}

impl VppStatusSource for VppHandle {
    /// Reads the status the VPP thread published (a lock and a clone of a
    /// few strings and `Arc`s); never waits for the VPP thread.
    fn vpp_status(&self) -> Option<VppStatus> {
        Some(self.status())
    }
}
