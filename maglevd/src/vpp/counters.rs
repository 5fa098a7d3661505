//! Per-VIP counters from the stats segment (PRODUCT.md §7.7): the lb
//! plugin's four simple counters at the VIP's pool index and the FIB's
//! `/net/route/to` at the VIP route's load-balance index, summed over
//! threads, all read under one epoch.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use vppapi::client::Connection;
use vppapi::lb::VipKey;
use vppapi::stats::{Query, StatsClient};

use super::connection::ConnError;
use super::plan::ActualVip;
use super::VipCounters;

/// The lb plugin registers these under their literal names (no slash).
pub(super) const LB_COUNTERS: [&str; 4] =
    ["first session packet", "packet from existing sessions", "untracked packet", "no server configured"];
const ROUTE_TO: &str = "/net/route/to";

/// Route stats indexes by VIP prefix; cleared whenever VIPs are added or
/// deleted (a re-added route gets a new load-balance index).
#[derive(Default)]
pub(super) struct RouteIndexes {
    by_prefix: HashMap<(IpAddr, u8), Option<u32>>,
}

impl RouteIndexes {
    pub fn clear(&mut self) {
        self.by_prefix.clear();
    }

    fn lookup(&mut self, api: &mut Connection, addr: IpAddr, len: u8) -> Option<u32> {
        *self
            .by_prefix
            .entry((addr, len))
            .or_insert_with(|| api.ip_route_lookup(0, addr, len, true).ok().map(|r| r.stats_index))
    }
}

/// Reads the counters of every VIP that belongs to a frontend.
pub(super) fn read(
    api: &mut Connection,
    stats: &mut StatsClient,
    routes: &mut RouteIndexes,
    vips: &BTreeMap<VipKey, ActualVip>,
    frontend_of: &BTreeMap<VipKey, String>,
) -> Result<Vec<VipCounters>, ConnError> {
    let mut queries = Vec::new();
    let mut rows = Vec::new();
    for (key, frontend) in frontend_of {
        let Some(vip) = vips.get(key) else { continue };
        let Some(index) = vip.index else { continue };
        let base = queries.len();
        for name in LB_COUNTERS {
            queries.push(Query::simple(name, index));
        }
        let route = routes.lookup(api, key.addr, key.len);
        if let Some(r) = route {
            queries.push(Query::combined(ROUTE_TO, r));
        }
        rows.push((frontend.clone(), *key, base, route.is_some()));
    }
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let snap = stats.read(&queries).map_err(|source| ConnError::StatsRead { what: "read", source })?;
    // A missing entry (no VIP created yet registers none) counts as 0.
    let counter = |i: usize| snap.counter(i).unwrap_or(0);
    Ok(rows
        .into_iter()
        .map(|(frontend, key, base, has_route)| {
            let fib = if has_route { snap.combined(base + 4).ok() } else { None };
            VipCounters {
                frontend,
                key,
                first: counter(base),
                next: counter(base + 1),
                untracked: counter(base + 2),
                no_server: counter(base + 3),
                fib_packets: fib.map(|c| c.packets).unwrap_or(0),
                fib_bytes: fib.map(|c| c.bytes).unwrap_or(0),
            }
        })
        .collect())
}
