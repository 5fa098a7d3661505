//! What the status page shows, built from the checker's snapshot, the VPP
//! thread's published status and the recent events. The HTML page, the
//! Server-Sent Events and `/status.json` all serialise this one view, so
//! they cannot disagree. Field names and values follow `ListBackends` and
//! `ListFrontends` (state names, `address/len`, weights 0..100).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::checker::{BackendSnapshot, Event, FrontendSnapshot, Snapshot};
use crate::health::BackendState;
use crate::version::{COMMIT, VERSION};
use crate::vpp::{VipCounters, VppStatus};

#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub maglevd: DaemonView,
    pub frontends: Vec<FrontendView>,
    pub backends: Vec<BackendView>,
    /// `None`: VPP integration is off.
    pub vpp: Option<VppView>,
    /// Newest first.
    pub events: Vec<EventView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DaemonView {
    pub version: String,
    pub commit: String,
    /// Unix milliseconds (all times in this view are).
    pub started_ms: u64,
    pub now_ms: u64,
    /// The snapshot's sequence number.
    pub seq: u64,
    /// Changes when a frontend, pool or backend is added, removed or
    /// renamed: the page reloads itself then.
    pub layout: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FrontendView {
    pub name: String,
    pub description: String,
    /// `address/len`.
    pub address: String,
    pub protocol: String,
    pub port: u16,
    pub state: String,
    pub active_pool: String,
    pub pools: Vec<PoolView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PoolView {
    pub name: String,
    pub active: bool,
    pub backends: Vec<MemberView>,
}

/// A backend as a member of one pool.
#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    pub name: String,
    pub state: String,
    /// Configured (or operator-set) weight.
    pub weight: u8,
    pub effective_weight: u8,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackendView {
    pub name: String,
    pub address: String,
    pub state: String,
    pub enabled: bool,
    /// `None` for a static backend.
    pub healthcheck: Option<String>,
    pub health: Option<HealthView>,
    pub last_result: Option<ResultView>,
    /// When the last transition happened (`None`: none yet).
    pub last_transition_ms: Option<u64>,
    pub frontends: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthView {
    pub value: u32,
    pub rise: u32,
    pub fall: u32,
    /// HAProxy's `N/M`, as maglevc shows it: while up, the failures it
    /// still takes to go down, of `fall`; otherwise the passes so far, of `rise`.
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResultView {
    pub code: String,
    pub detail: String,
    pub duration_ms: f64,
    pub http_status: Option<u16>,
    pub at_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VppView {
    /// The API socket.
    pub connected: bool,
    /// The stats segment (counters); independent of `connected`.
    pub stats_connected: bool,
    /// Why not connected, or why maglevd may not write.
    pub reason: String,
    pub writable: bool,
    pub version: String,
    pub build_date: String,
    pub pid: u32,
    pub boot_ms: Option<u64>,
    pub connected_ms: Option<u64>,
    /// `holding`, `releasing` or `done`.
    pub warmup: String,
    pub last_sync: Option<SyncView>,
    pub counters_ms: Option<u64>,
    pub vips: Vec<VipView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncView {
    pub at_ms: u64,
    /// `all` or `vip` (some frontends).
    pub scope: String,
    pub frontends: Vec<String>,
    pub vips_added: u64,
    pub vips_removed: u64,
    pub ases_added: u64,
    pub ases_removed: u64,
    pub weights_updated: u64,
    pub duration_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VipView {
    pub frontend: String,
    pub vip: String,
    pub first: u64,
    pub next: u64,
    pub untracked: u64,
    pub no_server: u64,
    pub route_packets: u64,
    pub route_bytes: u64,
    /// Per second over the last two counter reads (`None` until there are two).
    pub packets_rate: Option<f64>,
    pub bytes_rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub at_ms: u64,
    /// `backend` or `frontend`.
    pub kind: String,
    pub name: String,
    pub from: String,
    pub to: String,
    pub code: String,
    pub detail: String,
}

pub fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The whole view.
pub fn build(
    snap: &Snapshot,
    vpp: Option<&VppStatus>,
    events: &[Event],
    started: SystemTime,
    now: SystemTime,
) -> StatusView {
    StatusView {
        maglevd: DaemonView {
            version: VERSION.to_string(),
            commit: COMMIT.to_string(),
            started_ms: unix_ms(started),
            now_ms: unix_ms(now),
            seq: snap.seq,
            layout: layout(snap),
        },
        frontends: snap.frontends.values().map(|f| frontend(snap, f)).collect(),
        backends: {
            let users = users(snap);
            snap.backends
                .values()
                .map(|b| backend(b, users.get(b.name.as_str()).cloned().unwrap_or_default()))
                .collect()
        },
        vpp: vpp.map(vpp_view),
        events: events.iter().filter_map(event).collect(),
    }
}

/// A hash of the names and order of frontends, pools and backends.
fn layout(snap: &Snapshot) -> String {
    // FNV-1a: stable across processes (the page compares it after a restart).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |s: &str| {
        for b in s.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for f in snap.frontends.values() {
        feed("f");
        feed(&f.config.name);
        for p in &f.config.pools {
            feed(&p.name);
            for b in &p.backends {
                feed(&b.backend);
            }
        }
    }
    for b in snap.backends.keys() {
        feed("b");
        feed(b);
    }
    format!("{h:016x}")
}

pub fn frontend(snap: &Snapshot, f: &FrontendSnapshot) -> FrontendView {
    let cfg = &f.config;
    let pools = cfg
        .pools
        .iter()
        .enumerate()
        .map(|(i, pool)| {
            let evals = f.eval.pools.get(i);
            PoolView {
                name: pool.name.clone(),
                active: i == f.eval.active_pool,
                backends: pool
                    .backends
                    .iter()
                    .enumerate()
                    .map(|(j, m)| {
                        let eval = evals.and_then(|e| e.get(j));
                        let state = eval
                            .map(|e| e.state)
                            .or(snap.backends.get(&m.backend).map(|b| b.state))
                            .unwrap_or(BackendState::Unknown);
                        MemberView {
                            name: m.backend.clone(),
                            state: state.as_str().to_string(),
                            weight: eval.map(|e| e.configured_weight).unwrap_or(m.weight),
                            effective_weight: eval.map(|e| e.effective_weight).unwrap_or(0),
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    FrontendView {
        name: cfg.name.clone(),
        description: cfg.description.clone(),
        address: cfg.prefix(),
        protocol: cfg.protocol.as_str().to_string(),
        port: cfg.port,
        state: f.state.as_str().to_string(),
        active_pool: cfg.pools.get(f.eval.active_pool).map(|p| p.name.clone()).unwrap_or_default(),
        pools,
    }
}

/// The frontends that use each backend, in frontend order.
fn users(snap: &Snapshot) -> HashMap<&str, Vec<String>> {
    let mut out: HashMap<&str, Vec<String>> = HashMap::new();
    for f in snap.frontends.values() {
        let mut seen = HashSet::new();
        for name in f.config.backend_names() {
            if seen.insert(name) {
                out.entry(name).or_default().push(f.config.name.clone());
            }
        }
    }
    out
}

/// `frontends`: the names of the frontends that use it.
pub fn backend(b: &BackendSnapshot, frontends: Vec<String>) -> BackendView {
    BackendView {
        name: b.name.clone(),
        address: b.address.to_string(),
        state: b.state.as_str().to_string(),
        enabled: b.enabled,
        healthcheck: b.healthcheck.clone(),
        health: b.counter.map(|c| HealthView {
            value: c.value(),
            rise: c.rise(),
            fall: c.fall(),
            text: c.to_string(),
        }),
        last_result: b.last_result.as_ref().map(|r| ResultView {
            code: r.code.as_str().to_string(),
            detail: r.detail.clone(),
            duration_ms: ms(r.duration),
            http_status: r.http_status,
            at_ms: b.last_result_at.map(unix_ms),
        }),
        last_transition_ms: b.history.first().map(|t| unix_ms(t.at)),
        frontends,
    }
}

fn vpp_view(s: &VppStatus) -> VppView {
    let info = s.info.as_ref().filter(|_| s.connected);
    let elapsed = match (s.counters_at, s.previous_counters_at) {
        (Some(now), Some(before)) => now.duration_since(before).ok().filter(|d| !d.is_zero()),
        _ => None,
    };
    VppView {
        connected: s.connected,
        stats_connected: s.stats_connected,
        reason: s.reason.clone(),
        writable: s.writable,
        version: info.map(|i| i.version.clone()).unwrap_or_default(),
        build_date: info.map(|i| i.build_date.clone()).unwrap_or_default(),
        pid: info.map(|i| i.pid).unwrap_or_default(),
        boot_ms: info.and_then(|i| i.boot_time).map(unix_ms),
        connected_ms: info.map(|i| unix_ms(i.connect_time)),
        warmup: s.warmup.as_str().to_string(),
        last_sync: s.last_sync.as_ref().map(|r| SyncView {
            at_ms: unix_ms(r.at),
            scope: if r.full { "all" } else { "vip" }.to_string(),
            frontends: r.frontends.clone(),
            vips_added: r.summary.vips_added,
            vips_removed: r.summary.vips_removed,
            ases_added: r.summary.ases_added,
            ases_removed: r.summary.ases_removed,
            weights_updated: r.summary.weights_updated,
            duration_ms: ms(r.duration),
        }),
        counters_ms: s.counters_at.map(unix_ms),
        vips: s.counters.iter().map(|c| vip(c, &s.previous_counters, elapsed)).collect(),
    }
}

fn vip(c: &VipCounters, previous: &[VipCounters], elapsed: Option<Duration>) -> VipView {
    let packets = |c: &VipCounters| c.first + c.next + c.untracked + c.no_server;
    let before = previous.iter().find(|p| p.key == c.key);
    let rate = |now: u64, then: u64| elapsed.map(|d| now.saturating_sub(then) as f64 / d.as_secs_f64());
    VipView {
        frontend: c.frontend.clone(),
        vip: c.key.to_string(),
        first: c.first,
        next: c.next,
        untracked: c.untracked,
        no_server: c.no_server,
        route_packets: c.fib_packets,
        route_bytes: c.fib_bytes,
        packets_rate: before.and_then(|b| rate(packets(c), packets(b))),
        bytes_rate: before.and_then(|b| rate(c.fib_bytes, b.fib_bytes)),
    }
}

/// A transition as the page lists it; `None` for the events that are not
/// transitions (weights and reloads), which WatchEvents does not stream either.
pub fn event(ev: &Event) -> Option<EventView> {
    Some(match ev {
        Event::Backend(b) => EventView {
            at_ms: unix_ms(b.at),
            kind: "backend".into(),
            name: b.backend.clone(),
            from: b.from.as_str().into(),
            to: b.to.as_str().into(),
            code: b.code.clone(),
            detail: b.detail.clone(),
        },
        Event::Frontend(f) => EventView {
            at_ms: unix_ms(f.at),
            kind: "frontend".into(),
            name: f.frontend.clone(),
            from: f.from.as_str().into(),
            to: f.to.as_str().into(),
            code: String::new(),
            detail: String::new(),
        },
        Event::Weight(_) | Event::Reload(_) => return None,
    })
}
