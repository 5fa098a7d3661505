//! What VPP should hold, computed from the checker's snapshot: one VIP per
//! frontend, one AS per backend with its effective weight (PRODUCT.md §6, §7.4).

use std::collections::BTreeMap;
use std::net::IpAddr;

use vppapi::lb::{VipKey, VipSettings};
use vppapi::types::LbEncapType;

use crate::checker::Snapshot;
use crate::config::Frontend;
use crate::health::BackendState;

/// maglevd always creates VIPs with this new-flow table size (never 0: VPP
/// would try to allocate 2^32 buckets).
pub const NEW_FLOWS_TABLE_LENGTH: u32 = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredVip {
    pub frontend: String,
    pub key: VipKey,
    pub settings: VipSettings,
    /// In numeric address order (IPv4 before IPv6), the order every add and
    /// set-weight is issued in.
    pub ases: BTreeMap<IpAddr, DesiredAs>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredAs {
    pub backend: String,
    pub weight: u8,
    /// Whether lowering the weight must also flush the AS's flows.
    pub flush: bool,
    /// The operator asked to flush this AS (a pool weight with flush): its
    /// next write carries is_flush, and it is written even when its weight
    /// is unchanged. Set by the VPP thread, never by `desired_vips`.
    pub flush_now: bool,
}

/// The VIP key of a frontend.
pub fn vip_key(fe: &Frontend) -> VipKey {
    VipKey::new(fe.address, fe.prefix_len, fe.protocol.ip_proto(), fe.port)
}

/// The desired VIPs of every frontend (or of the one named).
pub fn desired_vips(snap: &Snapshot, only: Option<&str>) -> BTreeMap<VipKey, DesiredVip> {
    let mut out = BTreeMap::new();
    for (name, fe) in snap.frontends.iter() {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let mut ases: BTreeMap<IpAddr, DesiredAs> = BTreeMap::new();
        for eval in fe.eval.pools.iter().flatten() {
            if eval.state == BackendState::Removed {
                continue;
            }
            let Some(b) = snap.backends.get(&eval.backend) else { continue };
            let candidate = DesiredAs {
                backend: eval.backend.clone(),
                weight: eval.effective_weight,
                flush: eval.flush,
                flush_now: false,
            };
            // Two backends with one address in a frontend share one AS: the
            // higher weight wins, so a healthy twin keeps traffic flowing.
            match ases.get(&b.address) {
                Some(existing) if existing.weight >= candidate.weight => {}
                _ => {
                    ases.insert(b.address, candidate);
                }
            }
        }
        // All backends of a frontend share one family (validated); it
        // decides the encap. Without backends, follow the VIP's family.
        let v6 = ases.keys().next().map(IpAddr::is_ipv6).unwrap_or(fe.config.address.is_ipv6());
        let encap = if v6 { LbEncapType::Gre6 } else { LbEncapType::Gre4 };
        let mut settings = VipSettings::new(encap, fe.config.src_ip_sticky);
        settings.new_flows_table_length = NEW_FLOWS_TABLE_LENGTH;
        let key = vip_key(&fe.config);
        out.insert(key, DesiredVip { frontend: name.clone(), key, settings, ases });
    }
    out
}

/// Whether every backend the frontend references has a real state (not
/// unknown): the warmup releases such a frontend early.
pub fn frontend_ready(snap: &Snapshot, frontend: &str) -> bool {
    snap.frontends
        .get(frontend)
        .map(|fe| fe.eval.pools.iter().flatten().all(|b| b.state != BackendState::Unknown))
        .unwrap_or(false)
}
