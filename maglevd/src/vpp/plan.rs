//! The reconcile plan: the ordered list of writes that turns what VPP holds
//! into what maglevd wants (PRODUCT.md §7.4). Pure, so every rule is unit
//! tested; an empty plan means a sync sends no write message.

use std::collections::BTreeMap;
use std::net::IpAddr;

use vppapi::lb::{VipKey, VipSettings};
use vppapi::types::LbEncapType;

use super::desired::DesiredVip;

/// A VIP as read from VPP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualVip {
    pub key: VipKey,
    /// `None` when VPP reported an encap this version does not know.
    pub encap: Option<LbEncapType>,
    /// From `show lb vips verbose` (not in the dump); `None` when that text
    /// did not give it (never a reason to recreate the VIP).
    pub src_ip_sticky: Option<bool>,
    /// VPP's pool index (for counters), from the CLI.
    pub index: Option<u32>,
    pub ases: BTreeMap<IpAddr, ActualAs>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActualAs {
    pub weight: u8,
    /// False for an AS deleted but not yet garbage-collected by VPP.
    pub in_use: bool,
    pub num_buckets: u32,
}

/// One write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    AddVip {
        frontend: String,
        key: VipKey,
        settings: VipSettings,
    },
    DelVip {
        key: VipKey,
    },
    AddAs {
        key: VipKey,
        address: IpAddr,
        weight: u8,
    },
    /// Always with flush: a deleted AS must not keep sticky flows.
    DelAs {
        key: VipKey,
        address: IpAddr,
    },
    SetWeight {
        key: VipKey,
        address: IpAddr,
        weight: u8,
        flush: bool,
    },
}

impl Op {
    /// The `maglev_vpp_lbsync_total` kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::AddVip { .. } => "vip_added",
            Op::DelVip { .. } => "vip_removed",
            Op::AddAs { .. } => "as_added",
            Op::DelAs { .. } => "as_removed",
            Op::SetWeight { .. } => "as_weight_updated",
        }
    }
}

/// Why a VIP must be recreated, if it must.
pub fn recreate_reason(want: &DesiredVip, have: &ActualVip) -> Option<String> {
    if have.encap.is_some_and(|e| e != want.settings.encap) {
        return Some(format!(
            "encap {:?} -> {:?}",
            have.encap.unwrap_or(want.settings.encap),
            want.settings.encap
        ));
    }
    match have.src_ip_sticky {
        Some(sticky) if sticky != want.settings.src_ip_sticky => {
            return Some(format!("src-ip-sticky {sticky} -> {}", want.settings.src_ip_sticky));
        }
        _ => {}
    }
    None
}

/// The writes that reconcile `have` with `want`. With `delete_unwanted`
/// (a full sync), VIPs that no frontend wants are deleted; a per-frontend
/// sync passes only that frontend's VIP in `want` and never deletes others.
pub fn plan(
    want: &BTreeMap<VipKey, DesiredVip>,
    have: &BTreeMap<VipKey, ActualVip>,
    delete_unwanted: bool,
) -> Vec<Op> {
    let mut ops = Vec::new();
    if delete_unwanted {
        for (key, vip) in have {
            if !want.contains_key(key) {
                delete_vip(&mut ops, vip);
            }
        }
    }
    for (key, w) in want {
        match have.get(key) {
            None => create_vip(&mut ops, w),
            Some(h) if recreate_reason(w, h).is_some() => {
                delete_vip(&mut ops, h);
                create_vip(&mut ops, w);
            }
            Some(h) => reconcile_ases(&mut ops, w, h),
        }
    }
    ops
}

fn delete_vip(ops: &mut Vec<Op>, vip: &ActualVip) {
    for (address, a) in &vip.ases {
        if a.in_use {
            ops.push(Op::DelAs { key: vip.key, address: *address });
        }
    }
    ops.push(Op::DelVip { key: vip.key });
}

fn create_vip(ops: &mut Vec<Op>, vip: &DesiredVip) {
    ops.push(Op::AddVip { frontend: vip.frontend.clone(), key: vip.key, settings: vip.settings });
    for (address, a) in &vip.ases {
        ops.push(Op::AddAs { key: vip.key, address: *address, weight: a.weight });
    }
}

/// Adds and weight changes first, in address order (no moment with fewer
/// ASes than needed), then deletions.
fn reconcile_ases(ops: &mut Vec<Op>, want: &DesiredVip, have: &ActualVip) {
    for (address, w) in &want.ases {
        match have.ases.get(address) {
            Some(h) if h.in_use => {
                if h.weight != w.weight || w.flush_now {
                    ops.push(Op::SetWeight {
                        key: want.key,
                        address: *address,
                        weight: w.weight,
                        flush: w.flush_now || (w.flush && w.weight < h.weight),
                    });
                }
            }
            _ => ops.push(Op::AddAs { key: want.key, address: *address, weight: w.weight }),
        }
    }
    for (address, h) in &have.ases {
        if h.in_use && !want.ases.contains_key(address) {
            ops.push(Op::DelAs { key: want.key, address: *address });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vpp::desired::DesiredAs;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn key(s: &str, port: u16) -> VipKey {
        VipKey::host(ip(s), 6, port)
    }

    fn want(k: VipKey, sticky: bool, ases: &[(&str, u8, bool)]) -> DesiredVip {
        let encap = if k.addr.is_ipv4() && ases.iter().all(|a| ip(a.0).is_ipv4()) {
            LbEncapType::Gre4
        } else {
            LbEncapType::Gre6
        };
        DesiredVip {
            frontend: format!("fe-{}", k.port),
            key: k,
            settings: VipSettings::new(encap, sticky),
            ases: ases
                .iter()
                .map(|(a, w, f)| {
                    (ip(a), DesiredAs { backend: a.to_string(), weight: *w, flush: *f, flush_now: false })
                })
                .collect(),
        }
    }

    fn have(k: VipKey, sticky: bool, ases: &[(&str, u8, bool)]) -> ActualVip {
        ActualVip {
            key: k,
            encap: Some(if k.addr.is_ipv4() { LbEncapType::Gre4 } else { LbEncapType::Gre6 }),
            src_ip_sticky: Some(sticky),
            index: Some(1),
            ases: ases
                .iter()
                .map(|(a, w, used)| (ip(a), ActualAs { weight: *w, in_use: *used, num_buckets: 0 }))
                .collect(),
        }
    }

    fn map<T>(items: Vec<(VipKey, T)>) -> BTreeMap<VipKey, T> {
        items.into_iter().collect()
    }

    #[test]
    fn empty_vpp_gets_vip_then_ases_in_numeric_order() {
        let k = key("192.0.2.1", 80);
        let w = map(vec![(
            k,
            want(k, false, &[("10.0.0.10", 100, false), ("10.0.0.9", 50, false), ("10.0.0.100", 0, false)]),
        )]);
        let ops = plan(&w, &BTreeMap::new(), true);
        let order: Vec<String> = ops
            .iter()
            .map(|o| match o {
                Op::AddVip { .. } => "vip".to_string(),
                Op::AddAs { address, weight, .. } => format!("{address}={weight}"),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(order, ["vip", "10.0.0.9=50", "10.0.0.10=100", "10.0.0.100=0"]);
    }

    #[test]
    fn nothing_to_change_means_no_write() {
        let k = key("192.0.2.1", 80);
        let w = map(vec![(k, want(k, true, &[("10.0.0.1", 100, false), ("10.0.0.2", 0, true)]))]);
        let h = map(vec![(k, have(k, true, &[("10.0.0.1", 100, true), ("10.0.0.2", 0, true)]))]);
        assert_eq!(plan(&w, &h, true), vec![]);
    }

    #[test]
    fn weight_changes_carry_flush_only_when_lowering_with_flush() {
        let k = key("192.0.2.1", 80);
        let w = map(vec![(
            k,
            want(k, false, &[("10.0.0.1", 0, true), ("10.0.0.2", 100, false), ("10.0.0.3", 0, false)]),
        )]);
        let h = map(vec![(
            k,
            have(k, false, &[("10.0.0.1", 100, true), ("10.0.0.2", 0, true), ("10.0.0.3", 100, true)]),
        )]);
        assert_eq!(
            plan(&w, &h, false),
            vec![
                Op::SetWeight { key: k, address: ip("10.0.0.1"), weight: 0, flush: true },
                Op::SetWeight { key: k, address: ip("10.0.0.2"), weight: 100, flush: false },
                Op::SetWeight { key: k, address: ip("10.0.0.3"), weight: 0, flush: false },
            ]
        );
    }

    /// An operator's flush: written with is_flush whichever way the weight
    /// moves, and even when it does not move at all.
    #[test]
    fn operator_flush_is_written_with_flush() {
        let k = key("192.0.2.1", 80);
        let mut w =
            want(k, false, &[("10.0.0.1", 10, false), ("10.0.0.2", 50, false), ("10.0.0.3", 50, false)]);
        for a in w.ases.values_mut() {
            a.flush_now = a.backend != "10.0.0.3";
        }
        let h = map(vec![(
            k,
            have(k, false, &[("10.0.0.1", 100, true), ("10.0.0.2", 50, true), ("10.0.0.3", 50, true)]),
        )]);
        assert_eq!(
            plan(&map(vec![(k, w)]), &h, false),
            vec![
                Op::SetWeight { key: k, address: ip("10.0.0.1"), weight: 10, flush: true },
                Op::SetWeight { key: k, address: ip("10.0.0.2"), weight: 50, flush: true },
            ]
        );
    }

    #[test]
    fn unwanted_and_removed_ases() {
        let k = key("192.0.2.1", 80);
        let w = map(vec![(k, want(k, false, &[("10.0.0.1", 100, false), ("10.0.0.2", 100, false)]))]);
        // .2 was deleted but not yet collected: re-adding revives it.
        let h = map(vec![(
            k,
            have(k, false, &[("10.0.0.1", 100, true), ("10.0.0.2", 100, false), ("10.0.0.3", 100, true)]),
        )]);
        assert_eq!(
            plan(&w, &h, false),
            vec![
                Op::AddAs { key: k, address: ip("10.0.0.2"), weight: 100 },
                Op::DelAs { key: k, address: ip("10.0.0.3") },
            ]
        );
    }

    #[test]
    fn sticky_flip_recreates_the_vip() {
        let k = key("192.0.2.1", 80);
        let w = map(vec![(k, want(k, true, &[("10.0.0.1", 100, false)]))]);
        let h = map(vec![(k, have(k, false, &[("10.0.0.1", 100, true), ("10.0.0.7", 0, false)]))]);
        assert!(recreate_reason(&w[&k], &h[&k]).is_some_and(|r| r.contains("src-ip-sticky")));
        let ops = plan(&w, &h, false);
        assert_eq!(
            ops,
            vec![
                Op::DelAs { key: k, address: ip("10.0.0.1") },
                Op::DelVip { key: k },
                Op::AddVip { frontend: "fe-80".into(), key: k, settings: w[&k].settings },
                Op::AddAs { key: k, address: ip("10.0.0.1"), weight: 100 },
            ]
        );
    }

    #[test]
    fn encap_change_recreates_and_unknown_encap_does_not() {
        let k = key("192.0.2.1", 80);
        let w = map(vec![(k, want(k, false, &[("2001:db8::1", 100, false)]))]);
        let mut h = have(k, false, &[("2001:db8::1", 100, true)]);
        assert!(recreate_reason(&w[&k], &h).is_some_and(|r| r.contains("encap")));
        h.encap = None;
        assert_eq!(recreate_reason(&w[&k], &h), None);
    }

    #[test]
    fn unknown_sticky_does_not_recreate() {
        let k = key("192.0.2.1", 80);
        let w = map(vec![(k, want(k, true, &[("10.0.0.1", 100, false)]))]);
        let mut h = have(k, false, &[("10.0.0.1", 100, true)]);
        h.src_ip_sticky = None;
        assert_eq!(recreate_reason(&w[&k], &h), None);
        assert_eq!(plan(&w, &map(vec![(k, h)]), true), vec![]);
    }

    #[test]
    fn full_sync_deletes_unwanted_vips_and_per_frontend_sync_does_not() {
        let k1 = key("192.0.2.1", 80);
        let k2 = key("192.0.2.2", 443);
        let w = map(vec![(k1, want(k1, false, &[("10.0.0.1", 100, false)]))]);
        let h = map(vec![
            (k1, have(k1, false, &[("10.0.0.1", 100, true)])),
            (k2, have(k2, false, &[("10.0.0.5", 100, true), ("10.0.0.6", 0, false)])),
        ]);
        assert_eq!(
            plan(&w, &h, true),
            vec![Op::DelAs { key: k2, address: ip("10.0.0.5") }, Op::DelVip { key: k2 }]
        );
        assert_eq!(plan(&w, &h, false), vec![]);
    }

    #[test]
    fn ipv4_ases_come_before_ipv6() {
        let k = VipKey::host(ip("2001:db8::80"), 6, 80);
        let mut v = want(k, false, &[("2001:db8::2", 100, false), ("2001:db8::1", 100, false)]);
        v.settings.encap = LbEncapType::Gre6;
        let ops = plan(&map(vec![(k, v)]), &BTreeMap::new(), true);
        let addrs: Vec<IpAddr> = ops
            .iter()
            .filter_map(|o| if let Op::AddAs { address, .. } = o { Some(*address) } else { None })
            .collect();
        assert_eq!(addrs, vec![ip("2001:db8::1"), ip("2001:db8::2")]);
        let mut mixed: Vec<IpAddr> = vec![ip("2001:db8::1"), ip("10.0.0.2"), ip("10.0.0.1")];
        mixed.sort();
        assert_eq!(mixed, vec![ip("10.0.0.1"), ip("10.0.0.2"), ip("2001:db8::1")]);
    }
}
