//! Reading what VPP holds: VIPs from `lb_vip_dump`, ASes from
//! `lb_as_v2_dump` (all, filtered here: VPP's filter never matches an IPv4
//! VIP written normally), and `src_ip_sticky` plus the VIP index from
//! `show lb vips verbose`. A VIP that text does not describe keeps both
//! unknown (`None`): a parse miss must never look like a difference.

use std::collections::BTreeMap;

use vppapi::client::{Connection, LbGlobalConf};
use vppapi::error::ApiError;
use vppapi::lb::VipKey;

use super::plan::{ActualAs, ActualVip};

pub(super) struct Actual {
    pub conf: Option<LbGlobalConf>,
    pub vips: BTreeMap<VipKey, ActualVip>,
    pub flow_table_length: BTreeMap<VipKey, Option<u32>>,
}

pub(super) fn read(api: &mut Connection, with_conf: bool) -> Result<Actual, ApiError> {
    let conf = if with_conf { Some(api.lb_conf_get()?) } else { None };
    let mut vips = BTreeMap::new();
    let mut flow_table_length = BTreeMap::new();
    for v in api.lb_vip_dump()? {
        flow_table_length.insert(v.key, v.flow_table_length);
        vips.insert(
            v.key,
            ActualVip { key: v.key, encap: v.encap, src_ip_sticky: None, index: None, ases: BTreeMap::new() },
        );
    }
    for a in api.lb_as_v2_dump()? {
        let Some(vip) = vips.get_mut(&a.vip) else { continue };
        // The dump also lists the ASes of a deleted VIP that VPP has not
        // collected yet, under the same key as the live VIP re-created
        // since, and never in use: they must not hide the live VIP's.
        if vip.ases.get(&a.address).is_some_and(|seen| seen.in_use && !a.in_use) {
            continue;
        }
        vip.ases
            .insert(a.address, ActualAs { weight: a.weight, in_use: a.in_use, num_buckets: a.num_buckets });
    }
    for cli in api.lb_vips_verbose()? {
        if cli.removed {
            continue;
        }
        if let Some(vip) = vips.get_mut(&cli.key()) {
            vip.src_ip_sticky = Some(cli.src_ip_sticky);
            vip.index = Some(cli.index);
        }
    }
    Ok(Actual { conf, vips, flow_table_length })
}
