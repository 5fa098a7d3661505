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

impl Config {
    /// The configuration of an empty `maglev:` section: all defaults, no
    /// healthchecks, backends or frontends.
    pub fn empty() -> Self {
        Config {
            healthchecker: HealthCheckerConfig::default(),
            vpp: VppConfig::default(),
            healthchecks: BTreeMap::new(),
            backends: BTreeMap::new(),
            frontends: BTreeMap::new(),
        }
    }

    /// Names of the frontends that reference backend `name`, in name order.
    pub fn frontends_using<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.frontends.values().filter(move |f| f.backend_names().any(|b| b == name)).map(|f| f.name.as_str())
    }
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

impl HealthCheckerConfig {
    pub const DEFAULT_TRANSITION_HISTORY: usize = 5;
    pub const DEFAULT_WORKERS: usize = 16;
}

impl Default for HealthCheckerConfig {
    /// The values an empty `healthchecker:` section gives.
    fn default() -> Self {
        HealthCheckerConfig {
            transition_history: Self::DEFAULT_TRANSITION_HISTORY,
            netns: None,
            workers: Self::DEFAULT_WORKERS,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

impl LbConfig {
    pub const DEFAULT_STICKY_BUCKETS_PER_CORE: u32 = 65536;
    pub const DEFAULT_FLOW_TIMEOUT: Duration = Duration::from_secs(40);
    pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(30);
    pub const DEFAULT_STARTUP_MIN_DELAY: Duration = Duration::from_secs(5);
    pub const DEFAULT_STARTUP_MAX_DELAY: Duration = Duration::from_secs(30);

    /// Whether the startup warmup (PRODUCT.md §7.6) is disabled.
    pub fn warmup_disabled(&self) -> bool {
        self.startup_min_delay.is_zero() && self.startup_max_delay.is_zero()
    }
}

impl Default for LbConfig {
    /// The values an empty `vpp.lb:` section gives.
    fn default() -> Self {
        LbConfig {
            ipv4_src_address: None,
            ipv6_src_address: None,
            sticky_buckets_per_core: Self::DEFAULT_STICKY_BUCKETS_PER_CORE,
            flow_timeout: Self::DEFAULT_FLOW_TIMEOUT,
            sync_interval: Self::DEFAULT_SYNC_INTERVAL,
            startup_min_delay: Self::DEFAULT_STARTUP_MIN_DELAY,
            startup_max_delay: Self::DEFAULT_STARTUP_MAX_DELAY,
        }
    }
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

impl HealthCheck {
    /// `interval` when not configured.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
    /// `timeout` when not configured.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
    pub const DEFAULT_RISE: u32 = 2;
    pub const DEFAULT_FALL: u32 = 3;
    pub const DEFAULT_JITTER_PERCENT: u8 = 10;
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
    /// Parses the `expect-status` syntax: comma-separated codes and
    /// inclusive ranges (`"200,204,300-302"`), every code in 100..=599.
    pub fn parse(text: &str) -> Result<StatusMatcher, String> {
        let code = |s: &str| -> Result<u16, String> {
            let s = s.trim();
            let n: u16 = s.parse().map_err(|_| format!("{s:?} is not an HTTP status code"))?;
            if !(100..=599).contains(&n) {
                return Err(format!("status code {n} is outside 100..599"));
            }
            Ok(n)
        };
        let mut ranges = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(
                    "empty entry: write codes and ranges separated by commas, e.g. \"200,204,300-302\""
                        .to_string(),
                );
            }
            let (lo, hi) = match part.split_once('-') {
                Some((lo, hi)) => (code(lo)?, code(hi)?),
                None => {
                    let c = code(part)?;
                    (c, c)
                }
            };
            if lo > hi {
                return Err(format!("range {part:?} is backwards: write {hi}-{lo}"));
            }
            ranges.push((lo, hi));
        }
        Ok(StatusMatcher { ranges })
    }

    pub fn matches(&self, status: u16) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= status && status <= hi)
    }
}

impl Default for StatusMatcher {
    /// Any success or redirect: 200-399.
    fn default() -> Self {
        StatusMatcher { ranges: vec![(200, 399)] }
    }
}

impl std::fmt::Display for StatusMatcher {
    /// The `expect-status` syntax (`200,204,300-302`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, &(lo, hi)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if lo == hi {
                write!(f, "{lo}")?;
            } else {
                write!(f, "{lo}-{hi}")?;
            }
        }
        Ok(())
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
    /// The VIP as `address/len` (`192.0.2.1/32`).
    pub fn prefix(&self) -> String {
        format!("{}/{}", self.address, self.prefix_len)
    }

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

impl PoolBackend {
    pub const DEFAULT_WEIGHT: u8 = 100;
}
