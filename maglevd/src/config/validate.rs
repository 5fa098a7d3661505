//! Stage 2: semantic checks and conversion to the typed model.
//!
//! Every rule violation is collected (not just the first), each with the
//! YAML path of the offending value, so that an operator fixes a broken
//! file in one pass. Errors come in file order; the VPP source-address
//! requirements come last because they depend on everything else.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::model::*;
use super::raw::{
    OrderedMap, RawBackend, RawConfig, RawDuration, RawFrontend, RawHealthCheck, RawHealthChecker, RawHttp,
    RawIp, RawLb, RawMethod, RawPool, RawProbeType, RawProtocol, RawTls,
};
use super::{ConfigError, LoadOptions, SemanticError};

/// Upper bounds the schema does not state but that keep memory and
/// arithmetic sane (a typo like `rise: 20000000000` must not overflow).
const MAX_TRANSITION_HISTORY: i64 = 1000;
const MAX_WORKERS: i64 = 1024;
const MAX_RISE_FALL: i64 = 1000;
const MAX_JITTER_PERCENT: i64 = 50;
const MAX_WEIGHT: i64 = 100;
const MIN_FLOW_TIMEOUT: Duration = Duration::from_secs(1);
const MAX_FLOW_TIMEOUT: Duration = Duration::from_secs(120);
/// Probes read at most this much of a body (PRODUCT.md §3), so a longer
/// expect-body could never match.
const MAX_EXPECT_BODY: usize = 64 * 1024;

pub(super) fn validate(raw: RawConfig, file: &str, opts: LoadOptions) -> Result<Config, ConfigError> {
    let mut errs = Errors::default();
    let m = raw.maglev.unwrap_or_default();

    let healthchecker = healthchecker(m.healthchecker.unwrap_or_default(), &mut errs);
    let lb = lb(m.vpp.and_then(|v| v.lb).unwrap_or_default(), &mut errs);

    let raw_checks = m.healthchecks.unwrap_or_default();
    let check_names: HashSet<String> = raw_checks.0.iter().map(|(n, _)| n.clone()).collect();
    let mut healthchecks = BTreeMap::new();
    for (name, rc) in raw_checks.0 {
        if let Some(hc) = healthcheck(&name, rc, &healthchecker, &mut errs) {
            healthchecks.insert(name, Arc::new(hc));
        }
    }

    let raw_backends = m.backends.unwrap_or_default();
    // Frontends are checked against every backend that was written, even
    // one with errors of its own, so that those errors do not cascade.
    let backend_addrs: HashMap<String, IpAddr> =
        raw_backends.0.iter().map(|(n, b)| (n.clone(), b.address.0)).collect();
    let mut backends = BTreeMap::new();
    for (name, rb) in raw_backends.0 {
        if let Some(b) = backend(&name, rb, &check_names, &healthchecks, &mut errs) {
            backends.insert(name, b);
        }
    }

    let raw_frontends = m.frontends.unwrap_or_default();
    let mut vips = Vec::new();
    let mut frontends = BTreeMap::new();
    for (name, rf) in raw_frontends.0 {
        let (fe, vip) = frontend(&name, rf, &backend_addrs, &mut errs);
        vips.extend(vip);
        if let Some(fe) = fe {
            frontends.insert(name, fe);
        }
    }
    check_shared_vips(&vips, &mut errs);
    if opts.vpp_enabled {
        check_src_addresses(&lb, &vips, &mut errs);
    }

    if !errs.0.is_empty() {
        return Err(ConfigError::Semantic { file: file.to_string(), errors: errs.0 });
    }
    Ok(Config { healthchecker, vpp: VppConfig { lb }, healthchecks, backends, frontends })
}

#[derive(Default)]
struct Errors(Vec<SemanticError>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(SemanticError { path: path.into(), message: message.into() });
    }

    fn count(&self) -> usize {
        self.0.len()
    }

    /// `value` if it lies in lo..=hi, else an error at `path`.
    fn range(&mut self, path: &str, value: i64, lo: i64, hi: i64) -> Option<i64> {
        if (lo..=hi).contains(&value) {
            Some(value)
        } else {
            self.push(path, format!("must be between {lo} and {hi}, got {value}"));
            None
        }
    }

    /// `d` if it is not zero, else an error at `path`.
    fn positive(&mut self, path: &str, d: Duration, example: &str) -> Duration {
        if d.is_zero() {
            self.push(path, format!("must be greater than 0, e.g. {example}"));
        }
        d
    }

    /// Names are used as words in maglevc commands and as metric labels.
    fn name(&mut self, path: &str, what: &str, name: &str) {
        if name.trim().is_empty() {
            self.push(path, format!("{what} name must not be empty"));
        } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.push(
                path,
                format!("{what} name {name:?} must not contain spaces or control characters (it is a word in maglevc commands)"),
            );
        }
    }

    /// A network namespace name as `ip netns` creates it (/run/netns/NAME).
    fn netns(&mut self, path: &str, name: &str) {
        if name.is_empty() {
            return;
        }
        if name.contains('/')
            || name == "."
            || name == ".."
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            self.push(
                path,
                format!("{name:?} is not a network namespace name; use a name as listed by `ip netns` (no slashes or spaces)"),
            );
        }
    }
}

fn healthchecker(raw: RawHealthChecker, errs: &mut Errors) -> HealthCheckerConfig {
    const P: &str = "maglev.healthchecker";
    let defaults = HealthCheckerConfig::default();
    let transition_history = match raw.transition_history {
        Some(n) => {
            errs.range(&format!("{P}.transition-history"), n, 1, MAX_TRANSITION_HISTORY).unwrap_or(1) as usize
        }
        None => defaults.transition_history,
    };
    let workers = match raw.workers {
        Some(n) => errs.range(&format!("{P}.workers"), n, 1, MAX_WORKERS).unwrap_or(1) as usize,
        None => defaults.workers,
    };
    let netns = raw.netns.filter(|n| !n.is_empty());
    if let Some(n) = &netns {
        errs.netns(&format!("{P}.netns"), n);
    }
    HealthCheckerConfig { transition_history, netns, workers }
}

fn lb(raw: RawLb, errs: &mut Errors) -> LbConfig {
    const P: &str = "maglev.vpp.lb";
    let d = LbConfig::default();
    let ipv4_src_address = match raw.ipv4_src_address {
        None => None,
        Some(RawIp(IpAddr::V4(a))) => Some(a),
        Some(RawIp(IpAddr::V6(a))) => {
            errs.push(format!("{P}.ipv4-src-address"), format!("{a} is IPv6; put it in ipv6-src-address"));
            None
        }
    };
    let ipv6_src_address = match raw.ipv6_src_address {
        None => None,
        Some(RawIp(IpAddr::V6(a))) => Some(a),
        Some(RawIp(IpAddr::V4(a))) => {
            errs.push(format!("{P}.ipv6-src-address"), format!("{a} is IPv4; put it in ipv4-src-address"));
            None
        }
    };
    let sticky_buckets_per_core = match raw.sticky_buckets_per_core {
        None => d.sticky_buckets_per_core,
        Some(n) => match u32::try_from(n) {
            Ok(v) if v.is_power_of_two() => v,
            _ => {
                errs.push(
                    format!("{P}.sticky-buckets-per-core"),
                    format!("must be a power of two, e.g. 65536, got {n}"),
                );
                d.sticky_buckets_per_core
            }
        },
    };
    let flow_timeout = match raw.flow_timeout {
        None => d.flow_timeout,
        Some(RawDuration(t)) => {
            if t.subsec_nanos() != 0 || t < MIN_FLOW_TIMEOUT || t > MAX_FLOW_TIMEOUT {
                errs.push(
                    format!("{P}.flow-timeout"),
                    format!(
                        "must be a whole number of seconds between 1s and 120s, e.g. 40s, got {}",
                        super::duration::format_duration(t)
                    ),
                );
            }
            t
        }
    };
    let sync_interval = match raw.sync_interval {
        None => d.sync_interval,
        Some(RawDuration(t)) => errs.positive(&format!("{P}.sync-interval"), t, "30s"),
    };
    let startup_min_delay = raw.startup_min_delay.map_or(d.startup_min_delay, |r| r.0);
    let startup_max_delay = raw.startup_max_delay.map_or(d.startup_max_delay, |r| r.0);
    if startup_max_delay < startup_min_delay {
        let fmt = super::duration::format_duration;
        let hint = if raw.startup_max_delay.is_none() {
            format!(" (the default); set startup-max-delay to at least {}", fmt(startup_min_delay))
        } else {
            String::new()
        };
        errs.push(
            format!("{P}.startup-max-delay"),
            format!(
                "must be >= startup-min-delay ({}), is {}{hint}",
                fmt(startup_min_delay),
                fmt(startup_max_delay)
            ),
        );
    }
    LbConfig {
        ipv4_src_address,
        ipv6_src_address,
        sticky_buckets_per_core,
        flow_timeout,
        sync_interval,
        startup_min_delay,
        startup_max_delay,
    }
}

fn healthcheck(
    name: &str,
    raw: RawHealthCheck,
    hcc: &HealthCheckerConfig,
    errs: &mut Errors,
) -> Option<HealthCheck> {
    let path = format!("maglev.healthchecks.{name}");
    let before = errs.count();
    errs.name(&path, "healthcheck", name);

    let port = match (raw.kind, raw.port) {
        (RawProbeType::Icmp, None) => 0,
        (RawProbeType::Icmp, Some(_)) => {
            errs.push(format!("{path}.port"), "icmp checks have no port; remove it");
            0
        }
        (_, None) => {
            errs.push(
                format!("{path}.port"),
                "missing: tcp, http and https checks need a port, e.g. port: 80",
            );
            0
        }
        (_, Some(p)) => errs.range(&format!("{path}.port"), p, 1, 65535).unwrap_or(0) as u16,
    };

    let interval = match raw.interval {
        Some(RawDuration(d)) => errs.positive(&format!("{path}.interval"), d, "2s"),
        None => HealthCheck::DEFAULT_INTERVAL,
    };
    let fast_interval = match raw.fast_interval {
        Some(RawDuration(d)) => errs.positive(&format!("{path}.fast-interval"), d, "1s"),
        None => interval,
    };
    let down_interval = match raw.down_interval {
        Some(RawDuration(d)) => errs.positive(&format!("{path}.down-interval"), d, "5s"),
        None => interval,
    };
    let timeout = match raw.timeout {
        Some(RawDuration(d)) => errs.positive(&format!("{path}.timeout"), d, "1s"),
        None => HealthCheck::DEFAULT_TIMEOUT,
    };
    let rise = match raw.rise {
        Some(n) => errs.range(&format!("{path}.rise"), n, 1, MAX_RISE_FALL).unwrap_or(1) as u32,
        None => HealthCheck::DEFAULT_RISE,
    };
    let fall = match raw.fall {
        Some(n) => errs.range(&format!("{path}.fall"), n, 1, MAX_RISE_FALL).unwrap_or(1) as u32,
        None => HealthCheck::DEFAULT_FALL,
    };
    let jitter_percent = match raw.jitter_percent {
        Some(n) => errs.range(&format!("{path}.jitter-percent"), n, 0, MAX_JITTER_PERCENT).unwrap_or(0) as u8,
        None => HealthCheck::DEFAULT_JITTER_PERCENT,
    };
    // An explicit `netns: ""` means maglevd's own namespace, even when
    // healthchecker.netns names another one.
    let netns = match raw.netns {
        Some(n) => {
            errs.netns(&format!("{path}.netns"), &n);
            Some(n).filter(|n| !n.is_empty())
        }
        None => hcc.netns.clone(),
    };
    let source_ipv4 = match raw.source_ipv4 {
        None => None,
        Some(RawIp(IpAddr::V4(a))) => Some(a),
        Some(RawIp(IpAddr::V6(a))) => {
            errs.push(format!("{path}.source-ipv4"), format!("{a} is IPv6; put it in source-ipv6"));
            None
        }
    };
    let source_ipv6 = match raw.source_ipv6 {
        None => None,
        Some(RawIp(IpAddr::V6(a))) => Some(a),
        Some(RawIp(IpAddr::V4(a))) => {
            errs.push(format!("{path}.source-ipv6"), format!("{a} is IPv4; put it in source-ipv4"));
            None
        }
    };

    let is_http = matches!(raw.kind, RawProbeType::Http | RawProbeType::Https);
    if !is_http && raw.http.is_some() {
        errs.push(format!("{path}.http"), "only http and https checks take an http: section; remove it");
    }
    if raw.kind != RawProbeType::Https && raw.tls.is_some() {
        errs.push(
            format!("{path}.tls"),
            "only https checks take a tls: section; remove it or use type: https",
        );
    }
    let probe = match raw.kind {
        RawProbeType::Icmp => ProbeSpec::Icmp,
        RawProbeType::Tcp => ProbeSpec::Tcp { port },
        RawProbeType::Http => {
            ProbeSpec::Http { port, http: http(&format!("{path}.http"), raw.http.unwrap_or_default(), errs) }
        }
        RawProbeType::Https => ProbeSpec::Https {
            port,
            http: http(&format!("{path}.http"), raw.http.unwrap_or_default(), errs),
            tls: tls(&format!("{path}.tls"), raw.tls.unwrap_or_default(), errs),
        },
    };

    (errs.count() == before).then(|| HealthCheck {
        name: name.to_string(),
        probe,
        interval,
        fast_interval,
        down_interval,
        timeout,
        rise,
        fall,
        jitter_percent,
        netns,
        source_ipv4,
        source_ipv6,
    })
}

/// Text that goes into a request line or header: no line breaks (header
/// injection) and no other control characters.
fn bad_header_text(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\t')
}

/// RFC 9110 token characters (header names).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn http(path: &str, raw: RawHttp, errs: &mut Errors) -> HttpCheck {
    let method = match raw.method {
        None | Some(RawMethod::Get) => HttpMethod::Get,
        Some(RawMethod::Head) => HttpMethod::Head,
    };
    let req_path = raw.path.unwrap_or_else(|| "/".to_string());
    if !req_path.starts_with('/') || req_path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errs.push(
            format!("{path}.path"),
            format!("{req_path:?} is not a request path: it must start with / and contain no spaces, e.g. /healthz"),
        );
    }
    if let Some(host) = &raw.host {
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            errs.push(
                format!("{path}.host"),
                format!("{host:?} is not a Host header value; write a name like www.example.com, or omit it"),
            );
        }
    }
    let mut headers = Vec::new();
    for (name, value) in raw.headers.unwrap_or_default().0 {
        let hpath = format!("{path}.headers.{name}");
        if !is_token(&name) {
            errs.push(&hpath, format!("{name:?} is not a valid header name"));
        } else if name.eq_ignore_ascii_case("host") {
            errs.push(&hpath, "set the Host header with http.host, not in headers");
        }
        if bad_header_text(&value) {
            errs.push(&hpath, "header values must not contain line breaks or control characters");
        }
        headers.push((name, value));
    }
    let expect_status = match raw.expect_status {
        None => StatusMatcher::default(),
        Some(text) => StatusMatcher::parse(&text.0).unwrap_or_else(|e| {
            errs.push(format!("{path}.expect-status"), format!("{e}; e.g. \"200-399\" or \"200,204\""));
            StatusMatcher::default()
        }),
    };
    if let Some(body) = &raw.expect_body {
        if body.is_empty() {
            errs.push(format!("{path}.expect-body"), "must not be empty; omit it to accept any body");
        } else if body.len() > MAX_EXPECT_BODY {
            errs.push(
                format!("{path}.expect-body"),
                format!("is {} bytes, but probes read only the first 64 KiB of a body", body.len()),
            );
        }
    }
    HttpCheck { method, path: req_path, host: raw.host, headers, expect_status, expect_body: raw.expect_body }
}

fn tls(path: &str, raw: RawTls, errs: &mut Errors) -> TlsCheck {
    if let Some(sni) = &raw.server_name {
        if rustls::pki_types::ServerName::try_from(sni.as_str()).is_err() {
            errs.push(
                format!("{path}.server-name"),
                format!("{sni:?} is not a valid DNS name or IP address"),
            );
        }
    }
    let ca_file = raw.ca_file.map(PathBuf::from);
    if let Some(ca) = &ca_file {
        // The daemon's working directory is not the config's directory:
        // a relative path would silently mean something else there.
        if !ca.is_absolute() {
            errs.push(format!("{path}.ca-file"), format!("{} must be an absolute path", ca.display()));
        } else if let Err(e) = crate::probe::check_ca_file(ca) {
            // Checked even with `verify: false`: a CA file that is named
            // but missing is a mistake either way.
            errs.push(
                format!("{path}.ca-file"),
                format!("{e} (the file must exist and be readable by maglevd's user)"),
            );
        }
    }
    TlsCheck { server_name: raw.server_name, verify: raw.verify.unwrap_or(false), ca_file }
}

fn backend(
    name: &str,
    raw: RawBackend,
    check_names: &HashSet<String>,
    healthchecks: &BTreeMap<String, Arc<HealthCheck>>,
    errs: &mut Errors,
) -> Option<Backend> {
    let path = format!("maglev.backends.{name}");
    let before = errs.count();
    errs.name(&path, "backend", name);
    let address = raw.address.0;
    let unicast = match address {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_multicast() || a.is_broadcast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    };
    if !unicast {
        errs.push(format!("{path}.address"), format!("{address} is not a unicast address"));
    }
    let healthcheck = match raw.healthcheck {
        None => None,
        Some(hc) if !check_names.contains(&hc) => {
            errs.push(
                format!("{path}.healthcheck"),
                format!(
                    "unknown healthcheck {hc:?}; define it under maglev.healthchecks, or omit the key for a static backend"
                ),
            );
            None
        }
        // Absent from the map when the healthcheck itself is invalid: that
        // error is already reported.
        Some(hc) => healthchecks.get(&hc).cloned(),
    };
    (errs.count() == before).then(|| Backend {
        name: name.to_string(),
        address,
        healthcheck,
        enabled: raw.enabled.unwrap_or(true),
    })
}

/// What the cross-frontend checks need of each frontend.
struct Vip {
    frontend: String,
    address: IpAddr,
    prefix_len: u8,
    protocol: Protocol,
    port: u16,
    /// Address family of the frontend's backends (true = IPv4), if known.
    backends_v4: Option<bool>,
}

impl Vip {
    fn path(&self) -> String {
        format!("maglev.frontends.{}", self.frontend)
    }

    fn same_prefix(&self, other: &Vip) -> bool {
        self.address == other.address && self.prefix_len == other.prefix_len
    }

    fn prefix(&self) -> String {
        format!("{}/{}", self.address, self.prefix_len)
    }
}

fn family(v4: bool) -> &'static str {
    if v4 {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// Validates one frontend; the `Vip` summary is returned whenever address,
/// protocol and port are valid, so that cross-frontend checks also run for
/// frontends with other errors.
fn frontend(
    name: &str,
    raw: RawFrontend,
    backend_addrs: &HashMap<String, IpAddr>,
    errs: &mut Errors,
) -> (Option<Frontend>, Option<Vip>) {
    let path = format!("maglev.frontends.{name}");
    let before = errs.count();
    errs.name(&path, "frontend", name);

    let address = raw.address.address;
    let max_len: u8 = if address.is_ipv4() { 32 } else { 128 };
    let mut vip_ok = true;
    let prefix_len = match raw.address.len {
        None => max_len,
        Some(len) if len > max_len => {
            errs.push(
                format!("{path}.address"),
                format!(
                    "prefix length /{len} is too long for an {} address (at most /{max_len})",
                    family(address.is_ipv4())
                ),
            );
            vip_ok = false;
            max_len
        }
        Some(len) => {
            let network = mask(address, len);
            if network != address {
                errs.push(
                    format!("{path}.address"),
                    format!("{address}/{len} has host bits set; write the network address {network}/{len}"),
                );
            }
            len
        }
    };

    let protocol = match raw.protocol {
        None | Some(RawProtocol::Tcp) => Protocol::Tcp,
        Some(RawProtocol::Udp) => Protocol::Udp,
        Some(RawProtocol::Any) => Protocol::Any,
    };
    let port = match (protocol, raw.port) {
        (Protocol::Any, None | Some(0)) => 0,
        (Protocol::Any, Some(p)) => {
            errs.push(
                format!("{path}.port"),
                format!("must be 0 or absent with protocol any (all ports), got {p}"),
            );
            vip_ok = false;
            0
        }
        (_, None) => {
            errs.push(
                format!("{path}.port"),
                format!(
                    "missing: {} frontends need a port (1..65535); use protocol: any for all ports",
                    protocol.as_str()
                ),
            );
            vip_ok = false;
            0
        }
        (_, Some(p)) => match errs.range(&format!("{path}.port"), p, 1, 65535) {
            Some(p) => p as u16,
            None => {
                vip_ok = false;
                0
            }
        },
    };

    let mut pools = Vec::new();
    // backend name -> (pool index, pool name) where this frontend uses it.
    let mut used: HashMap<String, (usize, String)> = HashMap::new();
    let mut pool_names: HashMap<String, usize> = HashMap::new();
    // The first backend's (name, is IPv4): all others must match it.
    let mut first_family: Option<(String, bool)> = None;
    let raw_pools = raw.pools.unwrap_or_default();
    if raw_pools.is_empty() {
        errs.push(
            format!("{path}.pools"),
            "at least one pool is required, e.g. pools: [{name: primary, backends: {be1: {}}}]",
        );
    }
    for (i, RawPool { name: pool_name, backends: pool_backends }) in raw_pools.into_iter().enumerate() {
        let ppath = format!("{path}.pools[{i}]");
        errs.name(&format!("{ppath}.name"), "pool", &pool_name);
        if let Some(j) = pool_names.get(&pool_name) {
            errs.push(
                format!("{ppath}.name"),
                format!("duplicate pool name {pool_name:?} (also pools[{j}]); pool names must be unique within a frontend"),
            );
        } else {
            pool_names.insert(pool_name.clone(), i);
        }
        let pool_backends = pool_backends.unwrap_or_else(OrderedMap::default);
        if pool_backends.0.is_empty() {
            errs.push(format!("{ppath}.backends"), "a pool needs at least one backend");
        }
        let mut members = Vec::new();
        for (bname, rpb) in pool_backends.0 {
            let bpath = format!("{ppath}.backends.{bname}");
            let weight = match rpb.and_then(|b| b.weight) {
                None => PoolBackend::DEFAULT_WEIGHT,
                Some(w) => errs.range(&format!("{bpath}.weight"), w, 0, MAX_WEIGHT).unwrap_or(0) as u8,
            };
            if let Some((j, other)) = used.get(&bname) {
                errs.push(
                    &bpath,
                    format!("backend already in pools[{j}] ({other}) of this frontend; a backend may appear only once per frontend"),
                );
            } else {
                used.insert(bname.clone(), (i, pool_name.clone()));
            }
            match backend_addrs.get(&bname) {
                None => errs.push(&bpath, "unknown backend (define it under maglev.backends)"),
                Some(address) => {
                    let v4 = address.is_ipv4();
                    match &first_family {
                        None => first_family = Some((bname.clone(), v4)),
                        Some((first, f4)) if *f4 != v4 => errs.push(
                            &bpath,
                            format!(
                                "{} backend, but backend {first} of this frontend is {}: all backends of a frontend \
                                 must share one address family (it decides the encap, gre4 or gre6)",
                                family(v4),
                                family(*f4)
                            ),
                        ),
                        Some(_) => {}
                    }
                }
            }
            members.push(PoolBackend { backend: bname, weight });
        }
        pools.push(Pool { name: pool_name, backends: members });
    }

    let vip = vip_ok.then(|| Vip {
        frontend: name.to_string(),
        address,
        prefix_len,
        protocol,
        port,
        backends_v4: first_family.as_ref().map(|(_, v4)| *v4),
    });
    let fe = (errs.count() == before).then(|| Frontend {
        name: name.to_string(),
        description: raw.description.unwrap_or_default(),
        address,
        prefix_len,
        protocol,
        port,
        src_ip_sticky: raw.src_ip_sticky.unwrap_or(false),
        flush_on_down: raw.flush_on_down.unwrap_or(true),
        pools,
    });
    (fe, vip)
}

/// `address` with the bits after `len` cleared.
fn mask(address: IpAddr, len: u8) -> IpAddr {
    match address {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

/// Rules between frontends: unique (VIP, protocol, port), `any` excludes
/// per-port frontends on its VIP, one backend family per VIP. Each conflict
/// is reported once, on the later frontend in file order.
fn check_shared_vips(vips: &[Vip], errs: &mut Errors) {
    for (i, b) in vips.iter().enumerate() {
        for a in vips[..i].iter().filter(|a| a.same_prefix(b)) {
            if a.protocol == b.protocol && a.port == b.port {
                let what = if b.protocol == Protocol::Any {
                    "protocol any".to_string()
                } else {
                    format!("{} port {}", b.protocol.as_str(), b.port)
                };
                errs.push(
                    b.path(),
                    format!(
                        "frontend {} already uses VIP {} {what}; each (address, protocol, port) may be used by one frontend",
                        a.frontend,
                        b.prefix()
                    ),
                );
            } else if a.protocol == Protocol::Any || b.protocol == Protocol::Any {
                let (any, other) = if a.protocol == Protocol::Any { (a, b) } else { (b, a) };
                errs.push(
                    b.path(),
                    format!(
                        "frontend {} takes all ports of VIP {} (protocol any), so frontend {} cannot use it for {} port {}",
                        any.frontend,
                        b.prefix(),
                        other.frontend,
                        other.protocol.as_str(),
                        other.port
                    ),
                );
            }
            if let (Some(fa), Some(fb)) = (a.backends_v4, b.backends_v4) {
                if fa != fb {
                    errs.push(
                        b.path(),
                        format!(
                            "uses {} backends, but frontend {} on the same VIP {} uses {} backends; frontends sharing \
                             a VIP must use one backend address family (VPP has one encap per VIP address)",
                            family(fb),
                            a.frontend,
                            b.prefix(),
                            family(fa)
                        ),
                    );
                }
            }
        }
    }
}

/// With VPP enabled, GRE needs an outer source address of each family in
/// use. The contract asks for one per VIP family; a VIP whose backends are
/// of the other family is encapsulated in that family, so it needs that
/// source address too.
fn check_src_addresses(lb: &LbConfig, vips: &[Vip], errs: &mut Errors) {
    for v4 in [true, false] {
        let present = if v4 { lb.ipv4_src_address.is_some() } else { lb.ipv6_src_address.is_some() };
        let key = if v4 { "ipv4-src-address" } else { "ipv6-src-address" };
        let path = format!("maglev.vpp.lb.{key}");
        // Present, or written with the wrong family (already reported).
        if present || errs.0.iter().any(|e| e.path == path) {
            continue;
        }
        let reason = vips.iter().find_map(|vip| {
            if vip.address.is_ipv4() == v4 {
                Some(format!("frontend {} has an {} VIP", vip.frontend, family(v4)))
            } else if vip.backends_v4 == Some(v4) {
                Some(format!(
                    "frontend {} sends to {} backends (gre{})",
                    vip.frontend,
                    family(v4),
                    if v4 { 4 } else { 6 }
                ))
            } else {
                None
            }
        });
        if let Some(reason) = reason {
            let example = if v4 { "192.0.2.254" } else { "2001:db8::254" };
            errs.push(
                path,
                format!(
                    "missing: required because {reason}; set it to an {} address of this VPP (the GRE outer source), e.g. {example}",
                    family(v4)
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    const VPP: LoadOptions = LoadOptions { vpp_enabled: true };
    const NO_VPP: LoadOptions = LoadOptions { vpp_enabled: false };

    fn ok(text: &str, opts: LoadOptions) -> Config {
        match parse(text, "test.yaml", opts) {
            Ok(c) => c,
            Err(e) => panic!("expected a valid config, got:\n{e}"),
        }
    }

    /// The semantic errors of `text`, as "path: message" lines.
    fn semantic(text: &str, opts: LoadOptions) -> Vec<String> {
        match parse(text, "test.yaml", opts) {
            Err(ConfigError::Semantic { errors, .. }) => errors.iter().map(|e| e.to_string()).collect(),
            Err(other) => panic!("expected semantic errors, got {other}"),
            Ok(c) => panic!("expected semantic errors, got a valid config {c:?}"),
        }
    }

    fn assert_has(errors: &[String], want: &str) {
        assert!(
            errors.iter().any(|e| e.contains(want)),
            "no error contains {want:?}; errors:\n{}",
            errors.join("\n")
        );
    }

    const FULL: &str = r#"
maglev:
  healthchecker:
    transition-history: 7
    netns: lbns
    workers: 4
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::254
      sticky-buckets-per-core: 1024
      flow-timeout: 1m
      sync-interval: 10s
      startup-min-delay: 0
      startup-max-delay: 0s
  healthchecks:
    web:
      type: https
      port: 443
      interval: 3s
      rise: 1
      fall: 5
      jitter-percent: 0
      netns: ""
      source-ipv4: 198.51.100.9
      http:
        method: HEAD
        path: /healthz
        host: www.example.com
        headers: {X-Probe: maglev, Accept: "*/*"}
        expect-status: "200,204,300-302"
        expect-body: OK
      tls:
        server-name: www.example.com
        verify: true
        ca-file: /etc/ssl/certs/ca-certificates.crt
    ping:
      type: icmp
  backends:
    zeta:
      address: 198.51.100.2
      healthcheck: web
    alpha:
      address: 198.51.100.1
      healthcheck: web
      enabled: false
    static:
      address: 198.51.100.3
  frontends:
    web4:
      description: public web
      address: 192.0.2.0/28
      port: 443
      src-ip-sticky: true
      flush-on-down: false
      pools:
        - name: primary
          backends:
            zeta: {weight: 10}
            alpha: {}
        - name: fallback
          backends:
            static:
"#;

    #[test]
    fn full_config_typed_model() {
        let c = ok(FULL, VPP);
        assert_eq!(
            c.healthchecker,
            HealthCheckerConfig { transition_history: 7, netns: Some("lbns".into()), workers: 4 }
        );
        let lb = &c.vpp.lb;
        assert_eq!(lb.ipv4_src_address, Some(Ipv4Addr::new(192, 0, 2, 254)));
        assert_eq!(lb.ipv6_src_address, Some("2001:db8::254".parse().expect("ip")));
        assert_eq!(lb.sticky_buckets_per_core, 1024);
        assert_eq!(lb.flow_timeout, Duration::from_secs(60));
        assert_eq!(lb.sync_interval, Duration::from_secs(10));
        assert!(lb.warmup_disabled());

        let web = &c.healthchecks["web"];
        assert_eq!(web.probe.probe_type(), ProbeType::Https);
        assert_eq!(web.probe.port(), Some(443));
        assert_eq!(
            (web.interval, web.fast_interval, web.down_interval),
            (Duration::from_secs(3), Duration::from_secs(3), Duration::from_secs(3))
        );
        assert_eq!(web.timeout, Duration::from_secs(1));
        assert_eq!((web.rise, web.fall, web.jitter_percent), (1, 5, 0));
        assert_eq!(web.netns, None, "an explicit empty netns overrides healthchecker.netns");
        assert_eq!(web.source_ipv4, Some(Ipv4Addr::new(198, 51, 100, 9)));
        let ProbeSpec::Https { http, tls, .. } = &web.probe else {
            panic!("https expected, got {:?}", web.probe)
        };
        assert_eq!(http.method, HttpMethod::Head);
        assert_eq!(http.path, "/healthz");
        assert_eq!(http.host.as_deref(), Some("www.example.com"));
        assert_eq!(http.headers, vec![("X-Probe".into(), "maglev".into()), ("Accept".into(), "*/*".into())]);
        assert_eq!(http.expect_status.ranges, vec![(200, 200), (204, 204), (300, 302)]);
        assert_eq!(http.expect_body.as_deref(), Some("OK"));
        assert_eq!(tls.server_name.as_deref(), Some("www.example.com"));
        assert!(tls.verify);
        assert_eq!(tls.ca_file, Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt")));

        let ping = &c.healthchecks["ping"];
        assert_eq!(ping.probe, ProbeSpec::Icmp);
        assert_eq!(ping.netns.as_deref(), Some("lbns"), "inherited from healthchecker.netns");

        // Name order, shared Arc, static backend, enabled default.
        assert_eq!(c.backends.keys().collect::<Vec<_>>(), ["alpha", "static", "zeta"]);
        let zeta = &c.backends["zeta"];
        assert!(zeta.enabled);
        assert!(Arc::ptr_eq(zeta.healthcheck.as_ref().expect("check"), &c.healthchecks["web"]));
        assert!(!c.backends["alpha"].enabled);
        assert_eq!(c.backends["static"].healthcheck, None);

        let fe = &c.frontends["web4"];
        assert_eq!(fe.description, "public web");
        assert_eq!(
            (fe.address, fe.prefix_len, fe.prefix()),
            (IpAddr::from([192, 0, 2, 0]), 28, "192.0.2.0/28".to_string())
        );
        assert_eq!((fe.protocol, fe.port), (Protocol::Tcp, 443), "protocol defaults to tcp");
        assert!(fe.src_ip_sticky);
        assert!(!fe.flush_on_down);
        let pools: Vec<(&str, Vec<(&str, u8)>)> = fe
            .pools
            .iter()
            .map(|p| (p.name.as_str(), p.backends.iter().map(|b| (b.backend.as_str(), b.weight)).collect()))
            .collect();
        assert_eq!(
            pools,
            [("primary", vec![("zeta", 10), ("alpha", 100)]), ("fallback", vec![("static", 100)])]
        );
        assert_eq!(c.frontends_using("static").collect::<Vec<_>>(), ["web4"]);
    }

    #[test]
    fn empty_section_gives_all_defaults() {
        for text in
            ["maglev:\n", "maglev: {}\n", "maglev:\n  healthchecker:\n  vpp:\n    lb:\n  frontends: {}\n"]
        {
            let c = ok(text, VPP);
            assert_eq!(c, Config::empty(), "{text:?}");
        }
        let c = Config::empty();
        assert_eq!(c.healthchecker, HealthCheckerConfig { transition_history: 5, netns: None, workers: 16 });
        assert_eq!(
            c.vpp.lb,
            LbConfig {
                ipv4_src_address: None,
                ipv6_src_address: None,
                sticky_buckets_per_core: 65536,
                flow_timeout: Duration::from_secs(40),
                sync_interval: Duration::from_secs(30),
                startup_min_delay: Duration::from_secs(5),
                startup_max_delay: Duration::from_secs(30),
            }
        );
    }

    #[test]
    fn healthcheck_defaults() {
        let c = ok(
            "maglev:\n  healthchecks:\n    h:\n      type: http\n      port: 80\n      interval: 4s\n",
            NO_VPP,
        );
        let h = &c.healthchecks["h"];
        assert_eq!(h.interval, Duration::from_secs(4));
        assert_eq!(h.fast_interval, Duration::from_secs(4), "fast-interval defaults to interval");
        assert_eq!(h.down_interval, Duration::from_secs(4), "down-interval defaults to interval");
        assert_eq!(h.timeout, Duration::from_secs(1));
        assert_eq!((h.rise, h.fall, h.jitter_percent), (2, 3, 10));
        assert_eq!(h.netns, None);
        let ProbeSpec::Http { port, http } = &h.probe else { panic!("http expected") };
        assert_eq!(*port, 80);
        assert_eq!(
            *http,
            HttpCheck {
                method: HttpMethod::Get,
                path: "/".into(),
                host: None,
                headers: vec![],
                expect_status: StatusMatcher { ranges: vec![(200, 399)] },
                expect_body: None,
            }
        );
        let c = ok("maglev:\n  healthchecks:\n    h:\n      type: https\n      port: 443\n", NO_VPP);
        let ProbeSpec::Https { tls, http, .. } = &c.healthchecks["h"].probe else { panic!("https expected") };
        assert_eq!(*tls, TlsCheck { server_name: None, verify: false, ca_file: None });
        assert_eq!(http.path, "/");
    }

    #[test]
    fn any_frontend_has_port_zero() {
        let text = "maglev:\n  backends:\n    b: {address: 198.51.100.1}\n  frontends:\n    f:\n      address: 192.0.2.1\n      protocol: any\n      pools: [{name: p, backends: {b: {}}}]\n";
        let c = ok(text, NO_VPP);
        let f = &c.frontends["f"];
        assert_eq!((f.protocol, f.port, f.prefix_len), (Protocol::Any, 0, 32));
    }

    #[test]
    fn all_semantic_errors_are_collected() {
        let text = r#"
maglev:
  healthchecker: {workers: 0}
  vpp:
    lb: {sticky-buckets-per-core: 1000, flow-timeout: 1500ms}
  healthchecks:
    h: {type: tcp, rise: 0}
  backends:
    b4: {address: 198.51.100.1, healthcheck: nope}
    b6: {address: "2001:db8::1"}
  frontends:
    web4:
      address: 192.0.2.1
      port: 80
      pools:
        - name: primary
          backends: {b4: {weight: 150}}
        - name: primary
          backends: {nginx9: {}, b6: {}}
"#;
        let errors = semantic(text, NO_VPP);
        for want in [
            "maglev.healthchecker.workers: must be between 1 and 1024, got 0",
            "maglev.vpp.lb.sticky-buckets-per-core: must be a power of two, e.g. 65536",
            "maglev.vpp.lb.flow-timeout: must be a whole number of seconds",
            "maglev.healthchecks.h.port: missing",
            "maglev.healthchecks.h.rise: must be between 1 and 1000, got 0",
            "maglev.backends.b4.healthcheck: unknown healthcheck \"nope\"",
            "maglev.frontends.web4.pools[0].backends.b4.weight: must be between 0 and 100, got 150",
            "maglev.frontends.web4.pools[1].name: duplicate pool name",
            "maglev.frontends.web4.pools[1].backends.nginx9: unknown backend",
            "maglev.frontends.web4.pools[1].backends.b6: IPv6 backend, but backend b4 of this frontend is IPv4",
        ] {
            assert_has(&errors, want);
        }
        assert_eq!(errors.len(), 10, "{}", errors.join("\n"));
    }

    #[test]
    fn source_addresses_required_only_with_vpp() {
        let text = "maglev:\n  backends:\n    b: {address: \"2001:db8::1\"}\n  frontends:\n    f:\n      address: 192.0.2.1\n      port: 80\n      pools: [{name: p, backends: {b: {}}}]\n";
        ok(text, NO_VPP);
        let errors = semantic(text, VPP);
        assert_has(
            &errors,
            "maglev.vpp.lb.ipv4-src-address: missing: required because frontend f has an IPv4 VIP",
        );
        assert_has(
            &errors,
            "maglev.vpp.lb.ipv6-src-address: missing: required because frontend f sends to IPv6 backends",
        );
        assert_eq!(errors.len(), 2);
        // No frontends: nothing is required.
        ok("maglev:\n  backends:\n    b: {address: 198.51.100.1}\n", VPP);
    }

    #[test]
    fn vip_conflicts() {
        let base = "maglev:\n  backends:\n    b4: {address: 198.51.100.1}\n    b6: {address: \"2001:db8::1\"}\n  frontends:\n";
        let fe = |name: &str, addr: &str, proto: &str, port: u16, be: &str| {
            format!("    {name}:\n      address: {addr}\n      protocol: {proto}\n      port: {port}\n      pools: [{{name: p, backends: {{{be}: {{}}}}}}]\n")
        };
        let errors = semantic(
            &format!(
                "{base}{}{}",
                fe("a", "192.0.2.1", "tcp", 80, "b4"),
                fe("b", "192.0.2.1", "tcp", 80, "b4")
            ),
            NO_VPP,
        );
        assert_eq!(errors, ["maglev.frontends.b: frontend a already uses VIP 192.0.2.1/32 tcp port 80; each (address, protocol, port) may be used by one frontend"]);
        let errors = semantic(
            &format!(
                "{base}{}{}",
                fe("a", "192.0.2.1", "tcp", 80, "b4"),
                fe("b", "192.0.2.1", "any", 0, "b4")
            ),
            NO_VPP,
        );
        assert_has(&errors, "maglev.frontends.b: frontend b takes all ports of VIP 192.0.2.1/32 (protocol any), so frontend a cannot use it for tcp port 80");
        let errors = semantic(
            &format!(
                "{base}{}{}",
                fe("a", "192.0.2.1", "tcp", 80, "b4"),
                fe("b", "192.0.2.1", "udp", 53, "b6")
            ),
            NO_VPP,
        );
        assert_has(&errors, "maglev.frontends.b: uses IPv6 backends, but frontend a on the same VIP 192.0.2.1/32 uses IPv4 backends");
        // Same port, different protocol or address: fine.
        ok(
            &format!(
                "{base}{}{}{}",
                fe("a", "192.0.2.1", "tcp", 53, "b4"),
                fe("b", "192.0.2.1", "udp", 53, "b4"),
                fe("c", "192.0.2.2", "tcp", 53, "b6")
            ),
            NO_VPP,
        );
    }

    #[test]
    fn status_matcher_syntax() {
        assert_eq!(StatusMatcher::parse("200").map(|m| m.ranges), Ok(vec![(200, 200)]));
        assert_eq!(
            StatusMatcher::parse(" 200 , 300-302").map(|m| m.ranges),
            Ok(vec![(200, 200), (300, 302)])
        );
        for bad in ["", "200,", "abc", "99", "600", "302-300", "200-", "2xx"] {
            assert!(StatusMatcher::parse(bad).is_err(), "{bad:?} accepted");
        }
        let m = StatusMatcher::parse("200,204,300-302").expect("valid");
        assert_eq!(m.to_string(), "200,204,300-302");
        assert!(m.matches(301) && m.matches(204) && !m.matches(203) && !m.matches(303));
    }

    #[test]
    fn prefix_host_bits_and_length() {
        let text = |addr: &str| {
            format!("maglev:\n  frontends:\n    f:\n      address: {addr}\n      port: 80\n      pools: [{{name: p, backends: {{}}}}]\n")
        };
        assert_has(&semantic(&text("192.0.2.1/24"), NO_VPP), "maglev.frontends.f.address: 192.0.2.1/24 has host bits set; write the network address 192.0.2.0/24");
        assert_has(
            &semantic(&text("192.0.2.0/33"), NO_VPP),
            "prefix length /33 is too long for an IPv4 address",
        );
        assert_has(&semantic(&text("\"2001:db8::/129\""), NO_VPP), "too long for an IPv6 address");
    }

    #[test]
    fn truncated_and_mangled_files_never_panic() {
        // Every prefix of a full config, and the full config with each line
        // dropped in turn: each must give Ok or an error, never a panic.
        for (i, _) in FULL.char_indices() {
            let _ = parse(&FULL[..i], "cut.yaml", VPP);
        }
        let lines: Vec<&str> = FULL.lines().collect();
        for skip in 0..lines.len() {
            let text: Vec<&str> =
                lines.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| *l).collect();
            let _ = parse(&text.join("\n"), "drop.yaml", VPP);
        }
        for odd in [
            "maglev: [",
            "maglev: {a: *x}",
            "maglev:\n  healthchecker:\n    workers: 99999999999999999999\n",
            "\u{feff}maglev:\n",
            "maglev: !!binary aGVsbG8=\n",
        ] {
            let _ = parse(odd, "odd.yaml", VPP);
        }
    }

    #[test]
    fn mask_clears_host_bits() {
        assert_eq!(mask(IpAddr::from([192, 0, 2, 77]), 24), IpAddr::from([192, 0, 2, 0]));
        assert_eq!(mask(IpAddr::from([192, 0, 2, 77]), 0), IpAddr::from([0, 0, 0, 0]));
        assert_eq!(mask(IpAddr::from([192, 0, 2, 77]), 32), IpAddr::from([192, 0, 2, 77]));
        let v6: IpAddr = "2001:db8::1".parse().expect("ip");
        assert_eq!(mask(v6, 64), "2001:db8::".parse::<IpAddr>().expect("ip"));
        assert_eq!(mask(v6, 128), v6);
    }
}
