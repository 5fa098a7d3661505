//! VPP metrics (PRODUCT.md §9): the seam between the VPP thread and the
//! exposition. The VPP thread pushes API and sync counts through
//! [`Metrics::vpp_api_message`] and [`Metrics::vpp_lbsync`]; connection
//! state and per-VIP counters are pulled at scrape time from a
//! [`VppStatusSource`]: the status the VPP thread published, read as it is.

use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::RwLock;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntCounterVec, Opts, Registry};

use super::family::{desc, Family};
use super::Metrics;
use crate::vpp::VppStatus;

/// `scope` label values of `maglev_vpp_lbsync_total`.
pub const LBSYNC_SCOPES: [&str; 2] = ["all", "vip"];
/// `kind` label values of `maglev_vpp_lbsync_total`.
pub const LBSYNC_KINDS: [&str; 5] =
    ["vip_added", "vip_removed", "as_added", "as_removed", "as_weight_updated"];

/// Read at every scrape; must be quick (read a published status, never ask
/// the VPP thread). `None` means VPP integration is off.
pub trait VppStatusSource: Send + Sync {
    fn vpp_status(&self) -> Option<VppStatus>;
}

pub(super) type VppSourceSlot = Arc<RwLock<Option<Arc<dyn VppStatusSource>>>>;

/// The pushed VPP counters.
pub(super) struct VppCounters {
    api: IntCounterVec,
    lbsync: IntCounterVec,
}

impl VppCounters {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let api = IntCounterVec::new(
            Opts::new(
                "maglev_vpp_api_total",
                "VPP binary API messages, by message name, direction and result.",
            ),
            &["msg", "direction", "result"],
        )?;
        let lbsync = IntCounterVec::new(
            Opts::new(
                "maglev_vpp_lbsync_total",
                "Changes written to VPP's lb plugin by sync runs, by scope (all|vip) and kind.",
            ),
            &["scope", "kind"],
        )?;
        // Every scope and kind from the first scrape, so rate() works at once.
        for scope in LBSYNC_SCOPES {
            for kind in LBSYNC_KINDS {
                lbsync.with_label_values(&[scope, kind]);
            }
        }
        registry.register(Box::new(api.clone()))?;
        registry.register(Box::new(lbsync.clone()))?;
        Ok(VppCounters { api, lbsync })
    }
}

impl Metrics {
    /// Counts one VPP API message. `direction` is `send` or `recv`;
    /// `result` is e.g. `ok`, or the error name (`retval`, `timeout`, ...).
    /// Called on the VPP thread; a few atomic operations.
    pub fn vpp_api_message(&self, msg: &str, direction: &str, result: &str) {
        self.vpp.api.with_label_values(&[msg, direction, result]).inc();
    }

    /// Counts `n` lb writes of `kind` (one of [`LBSYNC_KINDS`]) made by a
    /// sync run of `scope` (`all` for a full sync, `vip` for one frontend).
    pub fn vpp_lbsync(&self, scope: &str, kind: &str, n: u64) {
        if n > 0 {
            self.vpp.lbsync.with_label_values(&[scope, kind]).inc_by(n);
        }
    }

    /// Registers where scrapes read VPP's connection state and counters.
    /// Without a source, `maglev_vpp_connected 0` is exported.
    pub fn set_vpp_source(&self, source: Arc<dyn VppStatusSource>) {
        *self.vpp_source.write() = Some(source);
    }
}

const CONNECTED: (&str, &str) = ("maglev_vpp_connected", "1 while maglevd is connected to VPP's API socket.");
const STATS_CONNECTED: (&str, &str) = (
    "maglev_vpp_stats_connected",
    "1 while maglevd has VPP's stats segment mapped (counters only; programming does not need it).",
);
const UPTIME: (&str, &str) = ("maglev_vpp_uptime_seconds", "Seconds since VPP booted (its /sys/boottime).");
const CONNECTED_SECONDS: (&str, &str) =
    ("maglev_vpp_connected_seconds", "Seconds since maglevd connected to VPP.");
const INFO: (&str, &str) =
    ("maglev_vpp_info", "The connected VPP: always 1, with its version, build date and pid.");
const VIP_PACKETS: (&str, &str) = (
    "maglev_vip_packets_total",
    "Packets of a frontend's VIP seen by VPP's lb plugin, by kind (next, first, untracked, no_server).",
);
const ROUTE_PACKETS: (&str, &str) =
    ("maglev_vip_route_packets_total", "Packets forwarded through the route of a frontend's VIP prefix.");
const ROUTE_BYTES: (&str, &str) =
    ("maglev_vip_route_bytes_total", "Bytes forwarded through the route of a frontend's VIP prefix.");

const L_INFO: &[&str] = &["version", "build_date", "pid"];
const L_FRONTEND: &[&str] = &["frontend"];
const L_FRONTEND_KIND: &[&str] = &["frontend", "kind"];

pub(super) struct VppCollector {
    source: VppSourceSlot,
    descs: Vec<Desc>,
}

impl VppCollector {
    pub fn new(source: VppSourceSlot) -> Self {
        let descs = vec![
            desc(CONNECTED.0, CONNECTED.1, &[]),
            desc(STATS_CONNECTED.0, STATS_CONNECTED.1, &[]),
            desc(UPTIME.0, UPTIME.1, &[]),
            desc(CONNECTED_SECONDS.0, CONNECTED_SECONDS.1, &[]),
            desc(INFO.0, INFO.1, L_INFO),
            desc(VIP_PACKETS.0, VIP_PACKETS.1, L_FRONTEND_KIND),
            desc(ROUTE_PACKETS.0, ROUTE_PACKETS.1, L_FRONTEND),
            desc(ROUTE_BYTES.0, ROUTE_BYTES.1, L_FRONTEND),
        ];
        VppCollector { source, descs }
    }
}

impl Collector for VppCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let source = self.source.read().clone();
        let sample = source.and_then(|s| s.vpp_status());
        families(sample.as_ref(), SystemTime::now())
    }
}

/// The VPP families for `sample` (`None`: VPP integration off) at `now`.
pub(super) fn families(sample: Option<&VppStatus>, now: SystemTime) -> Vec<MetricFamily> {
    let mut connected = Family::gauge(CONNECTED.0, CONNECTED.1, &[]);
    let mut stats_connected = Family::gauge(STATS_CONNECTED.0, STATS_CONNECTED.1, &[]);
    stats_connected.add(&[], f64::from(u8::from(sample.is_some_and(|s| s.connected && s.stats_connected))));
    let sample = sample.filter(|s| s.connected);
    connected.add(&[], f64::from(u8::from(sample.is_some())));
    let Some(s) = sample else { return vec![connected.finish(), stats_connected.finish()] };

    let since = |t: Option<SystemTime>| t.map(|t| now.duration_since(t).unwrap_or_default().as_secs_f64());
    let mut out = vec![connected.finish(), stats_connected.finish()];
    let info = s.info.as_ref();
    if let Some(v) = since(info.and_then(|i| i.boot_time)) {
        let mut f = Family::gauge(UPTIME.0, UPTIME.1, &[]);
        f.add(&[], v);
        out.push(f.finish());
    }
    if let Some(v) = since(info.map(|i| i.connect_time)) {
        let mut f = Family::gauge(CONNECTED_SECONDS.0, CONNECTED_SECONDS.1, &[]);
        f.add(&[], v);
        out.push(f.finish());
    }
    if let Some(i) = info {
        let mut f = Family::gauge(INFO.0, INFO.1, L_INFO);
        f.add(&[&i.version, &i.build_date, &i.pid.to_string()], 1.0);
        out.push(f.finish());
    }

    let mut packets = Family::counter(VIP_PACKETS.0, VIP_PACKETS.1, L_FRONTEND_KIND);
    let mut route_packets = Family::counter(ROUTE_PACKETS.0, ROUTE_PACKETS.1, L_FRONTEND);
    let mut route_bytes = Family::counter(ROUTE_BYTES.0, ROUTE_BYTES.1, L_FRONTEND);
    let mut seen = std::collections::HashSet::new();
    for v in s.counters.iter() {
        // A duplicate series would make the whole exposition invalid.
        if !seen.insert(v.frontend.as_str()) {
            continue;
        }
        let f = v.frontend.as_str();
        for (kind, n) in
            [("next", v.next), ("first", v.first), ("untracked", v.untracked), ("no_server", v.no_server)]
        {
            packets.add(&[f, kind], n as f64);
        }
        route_packets.add(&[f], v.fib_packets as f64);
        route_bytes.add(&[f], v.fib_bytes as f64);
    }
    out.extend([packets.finish(), route_packets.finish(), route_bytes.finish()]);
    out
}
