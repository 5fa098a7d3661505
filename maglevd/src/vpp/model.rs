//! What the VPP thread believes VPP holds: the last full read, plus every
//! write VPP accepted since. Event-driven syncs plan against it, so a
//! transition costs only its own writes, however many VIPs VPP holds; the
//! periodic full sync re-reads VPP and so repairs drift made by hand.

use std::collections::BTreeMap;

use vppapi::lb::VipKey;

use super::plan::{ActualAs, ActualVip, Op};

/// VPP's lb state as this thread knows it.
pub(super) type Model = BTreeMap<VipKey, ActualVip>;

/// Updates `model` for one write VPP accepted.
pub(super) fn applied(model: &mut Model, op: &Op) {
    match op {
        Op::AddVip { key, settings, .. } => {
            model.insert(
                *key,
                ActualVip {
                    key: *key,
                    encap: Some(settings.encap),
                    src_ip_sticky: Some(settings.src_ip_sticky),
                    // Only a read tells the pool index (for counters).
                    index: None,
                    ases: BTreeMap::new(),
                },
            );
        }
        Op::DelVip { key } => {
            model.remove(key);
        }
        Op::AddAs { key, address, weight } => {
            if let Some(vip) = model.get_mut(key) {
                vip.ases.insert(*address, ActualAs { weight: *weight, in_use: true, num_buckets: 0 });
            }
        }
        // VPP keeps a deleted AS, unused, until it collects it.
        Op::DelAs { key, address } => {
            if let Some(a) = model.get_mut(key).and_then(|v| v.ases.get_mut(address)) {
                a.in_use = false;
                a.weight = 0;
            }
        }
        Op::SetWeight { key, address, weight, .. } => {
            if let Some(a) = model.get_mut(key).and_then(|v| v.ases.get_mut(address)) {
                a.weight = *weight;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use vppapi::lb::VipSettings;
    use vppapi::types::LbEncapType;

    use super::*;
    use crate::vpp::desired::{DesiredAs, DesiredVip};
    use crate::vpp::plan::plan;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn want(k: VipKey, ases: &[(&str, u8)]) -> DesiredVip {
        DesiredVip {
            frontend: "web".into(),
            key: k,
            settings: VipSettings::new(LbEncapType::Gre4, true),
            ases: ases
                .iter()
                .map(|(a, w)| {
                    (ip(a), DesiredAs { backend: a.to_string(), weight: *w, flush: false, flush_now: false })
                })
                .collect(),
        }
    }

    /// After applying a plan, the model plans nothing more: it holds what
    /// was written.
    #[test]
    fn a_plan_applied_to_the_model_leaves_nothing_to_do() {
        let k = VipKey::host(ip("192.0.2.1"), 6, 80);
        let gone = VipKey::host(ip("192.0.2.9"), 6, 80);
        let mut model = Model::new();
        let first = BTreeMap::from([(k, want(k, &[("10.0.0.1", 100), ("10.0.0.2", 50)]))]);
        for op in plan(&first, &model, true) {
            applied(&mut model, &op);
        }
        assert_eq!(plan(&first, &model, true), vec![]);
        assert_eq!(model[&k].src_ip_sticky, Some(true));

        // A weight change, an AS removed, an AS added, a VIP nobody wants.
        applied(&mut model, &Op::AddVip { frontend: "old".into(), key: gone, settings: first[&k].settings });
        let second = BTreeMap::from([(k, want(k, &[("10.0.0.1", 0), ("10.0.0.3", 100)]))]);
        let ops = plan(&second, &model, true);
        assert_eq!(ops.len(), 4, "{ops:?}");
        for op in &ops {
            applied(&mut model, op);
        }
        assert_eq!(plan(&second, &model, true), vec![]);
        assert!(!model.contains_key(&gone));
        let a2 = model[&k].ases[&ip("10.0.0.2")];
        assert!(!a2.in_use, "a deleted AS stays, unused, until VPP collects it");
        // Wanted again: re-added.
        let third = BTreeMap::from([(k, want(k, &[("10.0.0.1", 0), ("10.0.0.2", 10), ("10.0.0.3", 100)]))]);
        assert_eq!(
            plan(&third, &model, true),
            vec![Op::AddAs { key: k, address: ip("10.0.0.2"), weight: 10 }]
        );
    }
}
