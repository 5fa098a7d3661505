//! Executing a plan against VPP, with a debug line per write and the run's
//! counts. The writes are pipelined: up to [`WINDOW`] are in flight at
//! once, sent in the plan's order, which VPP keeps (it runs one client's
//! messages in arrival order), so the numeric write order holds.

use std::collections::VecDeque;

use log::debug;
use vppapi::client::{Connection, Pending};
use vppapi::error::ApiError;

use super::plan::Op;
use super::{SyncSummary, VppObserver};
use crate::logging::Value;

/// Writes in flight at once. VPP queues its answers without limit; this
/// bounds what a failure can leave already sent behind it.
pub(super) const WINDOW: usize = 64;

/// Applies `ops` in order and calls `applied` with each one VPP accepted.
/// At the first failure nothing more is sent (the writes already in flight
/// are still collected); the next sync repairs from what VPP then holds.
pub(super) fn apply(
    api: &mut Connection,
    ops: &[Op],
    scope: &str,
    observer: &dyn VppObserver,
    mut applied: impl FnMut(&Op),
) -> Result<SyncSummary, ApiError> {
    let timeout = api.timeout();
    let mut summary = SyncSummary::default();
    let mut in_flight: VecDeque<(&Op, Pending)> = VecDeque::new();
    let mut failure = None;
    for op in ops {
        if in_flight.len() >= WINDOW {
            if let Some((done, p)) = in_flight.pop_front() {
                match api.wait_ok(p) {
                    Ok(()) => accepted(done, scope, observer, &mut summary, &mut applied),
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
        }
        match send(api, op, timeout) {
            Ok(p) => in_flight.push_back((op, p)),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    for (done, p) in in_flight {
        match api.wait_ok(p) {
            Ok(()) => accepted(done, scope, observer, &mut summary, &mut applied),
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(summary),
    }
}

fn send(api: &mut Connection, op: &Op, timeout: std::time::Duration) -> Result<Pending, ApiError> {
    match op {
        Op::AddVip { key, settings, .. } => {
            api.send_request(api.lb_add_del_vip_v2_msg(key, settings, false), timeout)
        }
        Op::DelVip { key } => {
            let settings = vppapi::lb::VipSettings::new(vppapi::types::LbEncapType::Gre4, false);
            api.send_request(api.lb_add_del_vip_v2_msg(key, &settings, true), timeout)
        }
        Op::AddAs { key, address, weight } => {
            api.send_request(api.lb_add_del_as_v2_msg(key, *address, *weight, false, false), timeout)
        }
        Op::DelAs { key, address } => {
            api.send_request(api.lb_add_del_as_v2_msg(key, *address, 0, true, true), timeout)
        }
        Op::SetWeight { key, address, weight, flush } => {
            api.send_request(api.lb_as_set_weight_msg(key, *address, *weight, *flush), timeout)
        }
    }
}

fn accepted(
    op: &Op,
    scope: &str,
    observer: &dyn VppObserver,
    s: &mut SyncSummary,
    applied: &mut impl FnMut(&Op),
) {
    match op {
        Op::AddVip { frontend, key, settings } => {
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
            debug!("vpp-lbsync-vip-del vip={}", Value(&key.to_string()));
            s.vips_removed += 1;
        }
        Op::AddAs { key, address, weight } => {
            debug!("vpp-lbsync-as-add vip={} as={address} weight={weight}", Value(&key.to_string()));
            s.ases_added += 1;
        }
        Op::DelAs { key, address } => {
            debug!("vpp-lbsync-as-del vip={} as={address} flush=true", Value(&key.to_string()));
            s.ases_removed += 1;
        }
        Op::SetWeight { key, address, weight, flush } => {
            debug!(
                "vpp-lbsync-as-weight vip={} as={address} weight={weight} flush={flush}",
                Value(&key.to_string())
            );
            s.weights_updated += 1;
        }
    }
    observer.on_lbsync(scope, op.kind(), 1);
    applied(op);
}
