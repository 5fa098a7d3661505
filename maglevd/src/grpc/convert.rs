//! Domain types -> protobuf messages. Protobuf types stay at this edge: the
//! rest of the daemon never sees them.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use maglev_proto::maglev as pb;
use protobuf::MessageField;

use crate::checker::{
    BackendEvent, BackendSnapshot, Event, FrontendEvent, FrontendSnapshot, ReloadSummary, Snapshot,
};
use crate::config::{HealthCheck, ProbeSpec, Protocol, StatusMatcher};
use crate::vpp::{LbState, SyncSummary, VipCounters, VppInfo};

/// Unix nanoseconds; 0 for times before the epoch (never happens in
/// practice) and saturated far in the future.
pub fn unix_ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)).unwrap_or(0)
}

pub fn duration_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

pub fn backend(snap: &Snapshot, b: &BackendSnapshot) -> pb::BackendInfo {
    let mut out = pb::BackendInfo {
        name: b.name.clone(),
        address: b.address.to_string(),
        state: b.state.as_str().to_string(),
        enabled: b.enabled,
        healthcheck: b.healthcheck.clone().unwrap_or_default(),
        ..Default::default()
    };
    if let Some(c) = &b.counter {
        out.health = MessageField::some(pb::HealthCounter {
            value: c.value(),
            rise: c.rise(),
            fall: c.fall(),
            ..Default::default()
        });
    }
    if let Some(r) = &b.last_result {
        out.last_result = MessageField::some(pb::ProbeResult {
            code: r.code.as_str().to_string(),
            detail: r.detail.clone(),
            duration_ns: duration_ns(r.duration),
            http_status: r.http_status.map(u32::from).unwrap_or(0),
            time_ns: b.last_result_at.map(unix_ns).unwrap_or(0),
            ..Default::default()
        });
    }
    out.transitions = b
        .history
        .iter()
        .map(|t| pb::Transition {
            time_ns: unix_ns(t.at),
            from: t.from.as_str().to_string(),
            to: t.to.as_str().to_string(),
            code: t.code.clone(),
            detail: t.detail.clone(),
            ..Default::default()
        })
        .collect();
    out.frontends = snap
        .frontends
        .values()
        .filter(|f| f.config.backend_names().any(|n| n == b.name))
        .map(|f| f.config.name.clone())
        .collect();
    out
}

pub fn frontend(snap: &Snapshot, f: &FrontendSnapshot) -> pb::FrontendInfo {
    let cfg = &f.config;
    let pools = cfg
        .pools
        .iter()
        .enumerate()
        .map(|(i, pool)| {
            let evals = f.eval.pools.get(i);
            let backends = pool
                .backends
                .iter()
                .enumerate()
                .map(|(j, pb_cfg)| {
                    let eval = evals.and_then(|e| e.get(j));
                    let backend = snap.backends.get(&pb_cfg.backend);
                    pb::PoolBackendInfo {
                        name: pb_cfg.backend.clone(),
                        address: backend.map(|b| b.address.to_string()).unwrap_or_default(),
                        state: eval
                            .map(|e| e.state)
                            .or(backend.map(|b| b.state))
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        enabled: backend.map(|b| b.enabled).unwrap_or(true),
                        weight: u32::from(eval.map(|e| e.configured_weight).unwrap_or(pb_cfg.weight)),
                        effective_weight: u32::from(eval.map(|e| e.effective_weight).unwrap_or(0)),
                        flush: eval.map(|e| e.flush).unwrap_or(false),
                        ..Default::default()
                    }
                })
                .collect();
            pb::PoolInfo {
                name: pool.name.clone(),
                active: i == f.eval.active_pool,
                backends,
                ..Default::default()
            }
        })
        .collect();
    pb::FrontendInfo {
        name: cfg.name.clone(),
        description: cfg.description.clone(),
        address: format!("{}/{}", cfg.address, cfg.prefix_len),
        protocol: cfg.protocol.as_str().to_string(),
        port: u32::from(cfg.port),
        src_ip_sticky: cfg.src_ip_sticky,
        flush_on_down: cfg.flush_on_down,
        state: f.state.as_str().to_string(),
        active_pool: cfg.pools.get(f.eval.active_pool).map(|p| p.name.clone()).unwrap_or_default(),
        pools,
        ..Default::default()
    }
}

pub fn healthcheck(snap: &Snapshot, hc: &HealthCheck) -> pb::HealthCheckInfo {
    let mut out = pb::HealthCheckInfo {
        name: hc.name.clone(),
        type_: hc.probe.probe_type().as_str().to_string(),
        port: u32::from(hc.probe.port().unwrap_or(0)),
        interval_ns: duration_ns(hc.interval),
        fast_interval_ns: duration_ns(hc.fast_interval),
        down_interval_ns: duration_ns(hc.down_interval),
        timeout_ns: duration_ns(hc.timeout),
        rise: hc.rise,
        fall: hc.fall,
        jitter_percent: u32::from(hc.jitter_percent),
        netns: hc.netns.clone().unwrap_or_default(),
        source_ipv4: hc.source_ipv4.map(|a| a.to_string()).unwrap_or_default(),
        source_ipv6: hc.source_ipv6.map(|a| a.to_string()).unwrap_or_default(),
        ..Default::default()
    };
    let (http, tls) = match &hc.probe {
        ProbeSpec::Icmp | ProbeSpec::Tcp { .. } => (None, None),
        ProbeSpec::Http { http, .. } => (Some(http), None),
        ProbeSpec::Https { http, tls, .. } => (Some(http), Some(tls)),
    };
    if let Some(h) = http {
        out.http = MessageField::some(pb::HttpCheckInfo {
            method: h.method.as_str().to_string(),
            path: h.path.clone(),
            host: h.host.clone().unwrap_or_default(),
            headers: h
                .headers
                .iter()
                .map(|(name, value)| pb::Header {
                    name: name.clone(),
                    value: shown_header_value(name, value),
                    ..Default::default()
                })
                .collect(),
            expect_status: status_matcher(&h.expect_status),
            expect_body: h.expect_body.clone().unwrap_or_default(),
            ..Default::default()
        });
    }
    if let Some(t) = tls {
        out.tls = MessageField::some(pb::TlsCheckInfo {
            server_name: t.server_name.clone().unwrap_or_default(),
            verify: t.verify,
            ca_file: t.ca_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            ..Default::default()
        });
    }
    out.backends = snap
        .config
        .backends
        .values()
        .filter(|b| b.healthcheck.as_ref().is_some_and(|h| h.name == hc.name))
        .map(|b| b.name.clone())
        .collect();
    out
}

/// Headers whose values never carry a credential: the API shows them as
/// configured. Any other value (Authorization, Cookie, X-Api-Key, a custom
/// header) may hold a secret, and a client of the API is not necessarily
/// allowed to read the config file, so it is replaced by [`REDACTED`].
const SHOWN_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "connection",
    "content-type",
    "host",
    "pragma",
    "user-agent",
];

/// What the API shows instead of a header value that is not on the list.
pub const REDACTED: &str = "<redacted>";

fn shown_header_value(name: &str, value: &str) -> String {
    if SHOWN_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) {
        value.to_string()
    } else {
        REDACTED.to_string()
    }
}

/// "200-399", "200,204,300-302": the config's own notation.
pub fn status_matcher(m: &StatusMatcher) -> String {
    m.ranges
        .iter()
        .map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
        .collect::<Vec<_>>()
        .join(",")
}

/// `None` for events WatchEvents does not stream (operator weights, reloads).
pub fn event(ev: &Event) -> Option<pb::Event> {
    let inner = match ev {
        Event::Backend(b) => pb::event::Event::Backend(backend_event(b)),
        Event::Frontend(f) => pb::event::Event::Frontend(frontend_event(f)),
        Event::Weight(_) | Event::Reload(_) => return None,
    };
    Some(pb::Event { event: Some(inner), ..Default::default() })
}

fn backend_event(b: &BackendEvent) -> pb::BackendEvent {
    pb::BackendEvent {
        backend: b.backend.clone(),
        address: b.address.to_string(),
        from: b.from.as_str().to_string(),
        to: b.to.as_str().to_string(),
        code: b.code.clone(),
        detail: b.detail.clone(),
        time_ns: unix_ns(b.at),
        ..Default::default()
    }
}

fn frontend_event(f: &FrontendEvent) -> pb::FrontendEvent {
    pb::FrontendEvent {
        frontend: f.frontend.clone(),
        from: f.from.as_str().to_string(),
        to: f.to.as_str().to_string(),
        time_ns: unix_ns(f.at),
        ..Default::default()
    }
}

pub fn log_event(r: &crate::logging::LogRecord) -> pb::Event {
    let ev = pb::LogEvent {
        time_ns: unix_ns(r.time),
        level: r.level.as_str().to_ascii_lowercase(),
        event: r.event.clone(),
        message: r.message.clone(),
        fields: r
            .fields
            .iter()
            .map(|(k, v)| pb::LogField { key: k.clone(), value: v.clone(), ..Default::default() })
            .collect(),
        ..Default::default()
    };
    pb::Event { event: Some(pb::event::Event::Log(ev)), ..Default::default() }
}

pub fn reload_summary(s: &ReloadSummary) -> pb::ReloadConfigResponse {
    pb::ReloadConfigResponse {
        added: s.added.clone(),
        removed: s.removed.clone(),
        restarted: s.restarted.clone(),
        unchanged: s.unchanged.clone(),
        reconfigured: s.reconfigured.clone(),
        ..Default::default()
    }
}

pub fn vpp_info(i: &VppInfo) -> pb::VPPInfo {
    pb::VPPInfo {
        version: i.version.clone(),
        build_date: i.build_date.clone(),
        build_directory: i.build_directory.clone(),
        pid: i.pid,
        boottime_ns: i.boot_time.map(unix_ns).unwrap_or(0),
        connecttime_ns: unix_ns(i.connect_time),
        ..Default::default()
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

/// The unspecified address (VPP's "not set") shows as empty.
fn src_address(a: IpAddr) -> String {
    if a.is_unspecified() {
        String::new()
    } else {
        a.to_string()
    }
}

pub fn vpp_lb_state(s: &LbState) -> pb::VPPLBState {
    // Zeroes when the global conf was not read.
    let conf = s
        .conf
        .map(|c| pb::VPPLBConf {
            ipv4_src_address: src_address(IpAddr::V4(c.ip4_src_address)),
            ipv6_src_address: src_address(IpAddr::V6(c.ip6_src_address)),
            sticky_buckets_per_core: c.sticky_buckets_per_core,
            flow_timeout_s: c.flow_timeout,
            ..Default::default()
        })
        .unwrap_or_default();
    let vips = s
        .vips
        .iter()
        .map(|v| pb::VPPLBVIP {
            prefix: format!("{}/{}", v.key.addr, v.key.len),
            protocol: protocol(v.key.protocol).as_str().to_string(),
            port: u32::from(v.key.port),
            encap: v.encap.map(|e| e.name().to_string()).unwrap_or_default(),
            src_ip_sticky: v.src_ip_sticky.unwrap_or(false),
            flow_table_length: v.flow_table_length.unwrap_or(0),
            index: v.index.unwrap_or(0),
            frontend: v.frontend.clone().unwrap_or_default(),
            ases: v
                .ases
                .iter()
                .map(|a| pb::VPPLBAS {
                    address: a.address.to_string(),
                    weight: u32::from(a.weight),
                    num_buckets: a.num_buckets,
                    flags: u32::from(a.in_use),
                    in_use: a.in_use,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    pb::VPPLBState { conf: MessageField::some(conf), vips, ..Default::default() }
}

/// Saturates: a single sync never comes near `u32::MAX` writes.
fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub fn sync_summary(s: &SyncSummary) -> pb::SyncVPPLBStateResponse {
    pb::SyncVPPLBStateResponse {
        vips_added: count(s.vips_added),
        vips_removed: count(s.vips_removed),
        ases_added: count(s.ases_added),
        ases_removed: count(s.ases_removed),
        ases_weight_updated: count(s.weights_updated),
        ..Default::default()
    }
}

/// `read_at`: when the counters were read (the answer's time: they are
/// refreshed every few seconds).
pub fn vpp_counters(vips: &[VipCounters], read_at: SystemTime) -> pb::VPPLBCounters {
    pb::VPPLBCounters {
        time_ns: unix_ns(read_at),
        vips: vips
            .iter()
            .map(|v| pb::VIPCounters {
                frontend: v.frontend.clone(),
                prefix: format!("{}/{}", v.key.addr, v.key.len),
                protocol: protocol(v.key.protocol).as_str().to_string(),
                port: u32::from(v.key.port),
                first: v.first,
                next: v.next,
                untracked: v.untracked,
                no_server: v.no_server,
                fib_packets: v.fib_packets,
                fib_bytes: v.fib_bytes,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_redacted_unless_known_harmless() {
        assert_eq!(shown_header_value("Authorization", "Bearer x"), REDACTED);
        assert_eq!(shown_header_value("X-Api-Key", "k"), REDACTED);
        assert_eq!(shown_header_value("Cookie", "session=1"), REDACTED);
        assert_eq!(shown_header_value("accept", "*/*"), "*/*");
        assert_eq!(shown_header_value("User-Agent", "probe/1"), "probe/1");
    }

    #[test]
    fn status_matcher_uses_config_notation() {
        let m = StatusMatcher { ranges: vec![(200, 200), (204, 204), (300, 302)] };
        assert_eq!(status_matcher(&m), "200,204,300-302");
    }

    #[test]
    fn times_are_unix_nanoseconds() {
        assert_eq!(unix_ns(UNIX_EPOCH + Duration::from_millis(1500)), 1_500_000_000);
        assert_eq!(unix_ns(UNIX_EPOCH - Duration::from_secs(1)), 0);
        assert_eq!(duration_ns(Duration::from_micros(3)), 3000);
    }
}
