//! Executing a plan against VPP, with a debug line per write and the run's
//! counts.

use log::debug;
use vppapi::client::Connection;
use vppapi::error::ApiError;

use super::plan::Op;
use super::{SyncSummary, VppObserver};
use crate::logging::Value;

/// Applies `ops` in order; stops at the first failure (the next sync
/// retries from what VPP then holds).
pub(super) fn apply(
    api: &mut Connection,
    ops: &[Op],
    scope: &str,
    observer: &dyn VppObserver,
) -> Result<SyncSummary, ApiError> {
    let mut s = SyncSummary::default();
    for op in ops {
        match op {
            Op::AddVip { frontend, key, settings } => {
                api.lb_add_del_vip_v2(key, settings, false)?;
                debug!(
                    "vpp-lbsync-vip-add frontend={} vip={} encap={:?} src-ip-sticky={}",
                    Value(frontend),
                    Value(&key.to_string()),
                    settings.encap,
                    settings.src_ip_sticky
                );
                s.vips_added += 1;
            }
            Op::DelVip { key } => {
                let settings = vppapi::lb::VipSettings::new(vppapi::types::LbEncapType::Gre4, false);
                api.lb_add_del_vip_v2(key, &settings, true)?;
                debug!("vpp-lbsync-vip-del vip={}", Value(&key.to_string()));
                s.vips_removed += 1;
            }
            Op::AddAs { key, address, weight } => {
                api.lb_add_del_as_v2(key, *address, *weight, false, false)?;
                debug!("vpp-lbsync-as-add vip={} as={address} weight={weight}", Value(&key.to_string()));
                s.ases_added += 1;
            }
            Op::DelAs { key, address } => {
                api.lb_add_del_as_v2(key, *address, 0, true, true)?;
                debug!("vpp-lbsync-as-del vip={} as={address} flush=true", Value(&key.to_string()));
                s.ases_removed += 1;
            }
            Op::SetWeight { key, address, weight, flush } => {
                api.lb_as_set_weight(key, *address, *weight, *flush)?;
                debug!(
                    "vpp-lbsync-as-weight vip={} as={address} weight={weight} flush={flush}",
                    Value(&key.to_string())
                );
                s.weights_updated += 1;
            }
        }
        observer.on_lbsync(scope, op.kind(), 1);
    }
    Ok(s)
}
