//! The VPP thread's handle as the gRPC API's [`VppService`]: a mapping
//! from the VPP module's types to the API's domain types.

use std::net::IpAddr;

use crate::config::Protocol;
use crate::vpp::{self, VppHandle};

use super::vpp::{
    Done, Expired, SyncCounts, VipCounters, VppAs, VppCounters, VppError, VppInfo, VppLbConf, VppLbState,
    VppService, VppVip,
};

fn error(e: vpp::VppError) -> VppError {
    match e {
        vpp::VppError::Disconnected(_) => VppError::Unavailable(e.to_string()),
        vpp::VppError::NotFound(what) => VppError::NotFound(what),
        vpp::VppError::FailedPrecondition(m) => VppError::FailedPrecondition(m),
        vpp::VppError::Api(m) => VppError::Failed(m),
        vpp::VppError::Busy(m) => VppError::Exhausted(m),
        vpp::VppError::Expired => VppError::DeadlineExceeded(e.to_string()),
    }
}

/// VPP's protocol numbers; 255 (and anything unexpected) is all ports.
fn protocol(ip_proto: u8) -> Protocol {
    match ip_proto {
        6 => Protocol::Tcp,
        17 => Protocol::Udp,
        _ => Protocol::Any,
    }
}

fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn lb_state(s: vpp::LbState) -> VppLbState {
    let conf = s
        .conf
        .map(|c| VppLbConf {
            ipv4_src_address: Some(IpAddr::V4(c.ip4_src_address)).filter(|a| !a.is_unspecified()),
            ipv6_src_address: Some(IpAddr::V6(c.ip6_src_address)).filter(|a| !a.is_unspecified()),
            sticky_buckets_per_core: c.sticky_buckets_per_core,
            flow_timeout_s: c.flow_timeout,
        })
        .unwrap_or(VppLbConf {
            ipv4_src_address: None,
            ipv6_src_address: None,
            sticky_buckets_per_core: 0,
            flow_timeout_s: 0,
        });
    let vips = s
        .vips
        .into_iter()
        .map(|v| VppVip {
            address: v.key.addr,
            prefix_len: v.key.len,
            protocol: protocol(v.key.protocol),
            port: v.key.port,
            encap: v.encap.map(|e| e.name().to_string()).unwrap_or_default(),
            src_ip_sticky: v.src_ip_sticky.unwrap_or(false),
            flow_table_length: v.flow_table_length.unwrap_or(0),
            index: v.index.unwrap_or(0),
            frontend: v.frontend,
            ases: v
                .ases
                .into_iter()
                .map(|a| VppAs {
                    address: a.address,
                    weight: a.weight,
                    num_buckets: a.num_buckets,
                    flags: u32::from(a.in_use),
                    in_use: a.in_use,
                })
                .collect(),
        })
        .collect();
    VppLbState { conf, vips }
}

impl VppService for VppHandle {
    fn info(&self) -> Result<VppInfo, VppError> {
        let i = VppHandle::info(self).map_err(error)?;
        Ok(VppInfo {
            version: i.version,
            build_date: i.build_date,
            build_directory: i.build_directory,
            pid: i.pid,
            boot_time: i.boot_time,
            connect_time: Some(i.connect_time),
        })
    }

    fn lb_state(&self, expired: Expired, done: Done<VppLbState>) {
        self.lb_state_then(vpp::Reply::new(expired, move |r| done(r.map(lb_state).map_err(error))));
    }

    fn sync(&self, frontend: Option<&str>, expired: Expired, done: Done<SyncCounts>) {
        let reply = vpp::Reply::new(expired, move |r: Result<vpp::SyncSummary, vpp::VppError>| {
            done(
                r.map(|s| SyncCounts {
                    vips_added: count(s.vips_added),
                    vips_removed: count(s.vips_removed),
                    ases_added: count(s.ases_added),
                    ases_removed: count(s.ases_removed),
                    ases_weight_updated: count(s.weights_updated),
                })
                .map_err(error),
            )
        });
        self.sync_then(frontend.map(str::to_string), reply);
    }

    fn counters(&self) -> Result<VppCounters, VppError> {
        let list = VppHandle::counters(self).map_err(error)?;
        Ok(VppCounters {
            read_at: std::time::SystemTime::now(),
            vips: list
                .iter()
                .map(|c| VipCounters {
                    frontend: c.frontend.clone(),
                    address: c.key.addr,
                    prefix_len: c.key.len,
                    protocol: protocol(c.key.protocol),
                    port: c.key.port,
                    first: c.first,
                    next: c.next,
                    untracked: c.untracked,
                    no_server: c.no_server,
                    fib_packets: c.fib_packets,
                    fib_bytes: c.fib_bytes,
                })
                .collect(),
        })
    }
}
