//! Connects the VPP thread to the metrics seam: its observer pushes API
//! and sync counts, and its published status is what a scrape reads.

use vppapi::client::Direction;

use super::{Metrics, VipSample, VppSample, VppStatusSource};
use crate::vpp::{VppHandle, VppObserver};

impl VppObserver for Metrics {
    fn on_api(&self, msg: &str, direction: Direction, result: &str) {
        self.vpp_api_message(msg, direction.as_str(), result);
    }

    fn on_lbsync(&self, scope: &str, kind: &str, n: u64) {
        self.vpp_lbsync(scope, kind, n);
    }
}

impl VppStatusSource for VppHandle {
    /// Reads the status the VPP thread published (a lock and a clone of
    /// a few strings and an `Arc`); never waits for the VPP thread.
    fn vpp_status(&self) -> Option<VppSample> {
        let s = self.status();
        let info = s.info.as_ref();
        Some(VppSample {
            connected: s.connected,
            stats_connected: s.stats_connected,
            version: info.map(|i| i.version.clone()).unwrap_or_default(),
            build_date: info.map(|i| i.build_date.clone()).unwrap_or_default(),
            pid: info.map(|i| i.pid).unwrap_or_default(),
            boot_time: info.and_then(|i| i.boot_time),
            connect_time: info.map(|i| i.connect_time),
            vips: s
                .counters
                .iter()
                .map(|c| VipSample {
                    frontend: c.frontend.clone(),
                    next: c.next,
                    first: c.first,
                    untracked: c.untracked,
                    no_server: c.no_server,
                    route_packets: c.fib_packets,
                    route_bytes: c.fib_bytes,
                })
                .collect(),
        })
    }
}
