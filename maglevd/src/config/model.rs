//! The validated, typed configuration model.
//!
//! Everything past the config edge works with these types: names are
//! resolved, defaults are applied, durations are `Duration`, addresses are
//! `IpAddr`. They are produced only by `config::load`/`config::parse` after
//! both validation stages passed, so holders may rely on every invariant of
//! PRODUCT.md §3 (references exist, families agree, ranges hold).
//!
//! `PartialEq` on these types is what a reload uses to decide whether a
//! backend's probing must restart, so every field that changes how a probe
//! is sent must live in `HealthCheck` or `Backend`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The whole configuration (`maglev:` in the YAML file).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub healthchecker: HealthCheckerConfig,
    pub vpp: VppConfig,
    /// Keyed by healthcheck name.
    pub healthchecks: BTreeMap<String, Arc<HealthCheck>>,
    /// Keyed by backend name.
    pub backends: BTreeMap<String, Backend>,
    /// Keyed by frontend name.
    pub frontends: BTreeMap<String, Frontend>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckerConfig {
    /// Transitions kept per backend (>= 1). Default 5.
    pub transition_history: usize,
    /// Namespace probes run in when a healthcheck sets none. `None` = maglevd's own.
    pub netns: Option<String>,
    /// Probe thread pool size (1..=1024). Default 16.
    pub workers: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VppConfig {
    pub lb: LbConfig,
}

/// `maglev.vpp.lb`: the lb plugin's global configuration and sync timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbConfig {
    /// GRE4 outer source; required (when VPP is enabled) if any IPv4 VIP exists.
    pub ipv4_src_address: Option<Ipv4Addr>,
    /// GRE6 outer source; required (when VPP is enabled) if any IPv6 VIP exists.
    pub ipv6_src_address: Option<Ipv6Addr>,
    /// Power of two. Default 65536.
    pub sticky_buckets_per_core: u32,
    /// Whole seconds, 1s..=120s. Default 40s.
    pub flow_timeout: Duration,
    /// > 0. Default 30s.
    pub sync_interval: Duration,
    /// Default 5s; 0 (with max 0) disables the warmup.
    pub startup_min_delay: Duration,
    /// >= startup_min_delay. Default 30s.
    pub startup_max_delay: Duration,
}

/// One named healthcheck. Shared (`Arc`) by every backend that uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub name: String,
    /// What to send; carries the type-specific parameters.
    pub probe: ProbeSpec,
    /// Used while up with the health counter at its maximum.
    pub interval: Duration,
    /// Used while the counter is between the extremes and while unknown.
    pub fast_interval: Duration,
    /// Used while down with the counter at 0.
    pub down_interval: Duration,
    /// Whole probe: connect to last byte.
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    /// 0..=50: each interval is scaled by a random factor in [1-j%, 1+j%].
    pub jitter_percent: u8,
    /// Effective namespace (the healthcheck's own, else healthchecker.netns).
    pub netns: Option<String>,
    pub source_ipv4: Option<Ipv4Addr>,
    pub source_ipv6: Option<Ipv6Addr>,
}

/// The probe type with its type-specific parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeSpec {
    Icmp,
    Tcp { port: u16 },
    Http { port: u16, http: HttpCheck },
    Https { port: u16, http: HttpCheck, tls: TlsCheck },
}

/// The bare probe type, for labels and display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProbeType {
    Icmp,
    Tcp,
    Http,
    Https,
}

impl ProbeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeType::Icmp => "icmp",
            ProbeType::Tcp => "tcp",
            ProbeType::Http => "http",
            ProbeType::Https => "https",
        }
    }
}

impl ProbeSpec {
    pub fn probe_type(&self) -> ProbeType {
        match self {
            ProbeSpec::Icmp => ProbeType::Icmp,
            ProbeSpec::Tcp { .. } => ProbeType::Tcp,
            ProbeSpec::Http { .. } => ProbeType::Http,
            ProbeSpec::Https { .. } => ProbeType::Https,
        }
    }

    pub fn port(&self) -> Option<u16> {
        match self {
            ProbeSpec::Icmp => None,
            ProbeSpec::Tcp { port } | ProbeSpec::Http { port, .. } | ProbeSpec::Https { port, .. } => {
                Some(*port)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Head,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Head => "HEAD",
        }
    }
}

/// HTTP parameters (http and https probes). Defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    pub method: HttpMethod,
    /// Default "/".
    pub path: String,
    /// Host header; `None` = the backend address.
    pub host: Option<String>,
    /// Extra request headers, in file order.
    pub headers: Vec<(String, String)>,
    /// Default 200-399.
    pub expect_status: StatusMatcher,
    /// Optional substring that must appear in the first 64 KiB of the body.
    pub expect_body: Option<String>,
}

/// A set of accepted HTTP status codes ("200,204,300-302").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusMatcher {
    /// Inclusive ranges; a single code is a range of one.
    pub ranges: Vec<(u16, u16)>,
}

impl StatusMatcher {
    pub fn matches(&self, status: u16) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= status && status <= hi)
    }
}

/// TLS parameters (https probes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsCheck {
    /// SNI; `None` = http.host when it is a DNS name, else no SNI.
    pub server_name: Option<String>,
    /// Default false.
    pub verify: bool,
    /// CA bundle for verification; `None` = system roots.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub name: String,
    pub address: IpAddr,
    /// `None`: a static backend (always up, no traffic).
    pub healthcheck: Option<Arc<HealthCheck>>,
    /// Default true.
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
    /// All ports; the frontend's port is 0.
    Any,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Any => "any",
        }
    }

    /// The IP protocol number VPP uses (255 for all-port VIPs).
    pub fn ip_proto(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Any => 255,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frontend {
    pub name: String,
    pub description: String,
    /// The VIP address (host bits as written).
    pub address: IpAddr,
    /// Prefix length: 32/128 for a host address unless `/len` was given.
    pub prefix_len: u8,
    pub protocol: Protocol,
    /// 0 for `Protocol::Any`.
    pub port: u16,
    pub src_ip_sticky: bool,
    pub flush_on_down: bool,
    /// Ordered priority tiers; at least one.
    pub pools: Vec<Pool>,
}

impl Frontend {
    /// Every backend name this frontend references, in pool order.
    pub fn backend_names(&self) -> impl Iterator<Item = &str> {
        self.pools.iter().flat_map(|p| p.backends.iter().map(|b| b.backend.as_str()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub name: String,
    /// In file order.
    pub backends: Vec<PoolBackend>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolBackend {
    /// Name of a backend in `Config::backends`.
    pub backend: String,
    /// 0..=100, default 100.
    pub weight: u8,
}
