//! Text output: tables for lists, indented blocks for one object, optional
//! ANSI colour. Cells are padded before they are coloured so that colour
//! never breaks alignment.

use maglev_proto::maglev as pb;

/// Colour on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const CYAN: &str = "\x1b[36m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const GREY: &str = "\x1b[90m";

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    /// A label or header (already padded).
    pub fn label(&self, text: &str) -> String {
        self.paint(&format!("{BOLD}{CYAN}"), text)
    }

    /// A state word (already padded): green when up, red when down...
    pub fn state(&self, padded: &str) -> String {
        let code = match padded.trim() {
            "up" => GREEN,
            "down" | "removed" => RED,
            "paused" | "disabled" | "unknown" => YELLOW,
            _ => return padded.to_string(),
        };
        self.paint(code, padded)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint(GREY, text)
    }
}

/// How a table column's cells are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Plain,
    State,
    /// Right-aligned (numbers).
    Num,
}

/// A table with a header row; the last column is not padded.
pub fn table(style: Style, headers: &[(&str, Col)], rows: &[Vec<String>]) -> String {
    let n = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|(h, _)| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<String>| -> String { cells.join("  ").trim_end().to_string() + "\n" };
    out.push_str(&line(
        headers
            .iter()
            .enumerate()
            .map(|(i, (h, col))| style.label(&pad(h, widths[i], *col, i + 1 == n)))
            .collect(),
    ));
    for row in rows {
        out.push_str(&line(
            headers
                .iter()
                .enumerate()
                .map(|(i, (_, col))| {
                    let cell = row.get(i).map(String::as_str).unwrap_or("");
                    let padded = pad(cell, widths[i], *col, i + 1 == n);
                    match col {
                        Col::State => style.state(&padded),
                        Col::Plain | Col::Num => padded,
                    }
                })
                .collect(),
        ));
    }
    out
}

fn pad(text: &str, width: usize, col: Col, last: bool) -> String {
    match col {
        Col::Num => format!("{text:>width$}"),
        _ if last => text.to_string(),
        _ => format!("{text:<width$}"),
    }
}

/// Key/value lines under an indent, keys padded to one width.
fn fields(style: Style, indent: &str, pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs
        .iter()
        .map(|(k, v)| {
            let value = if *k == "state" { style.state(v) } else { v.clone() };
            format!("{indent}{}  {value}\n", style.label(&format!("{k:<width$}")))
        })
        .collect()
}

/// "192.0.2.1/32" -> "192.0.2.1"; other prefixes are kept.
pub fn vip(prefix: &str) -> String {
    match prefix.rsplit_once('/') {
        Some((addr, "32")) if !addr.contains(':') => addr.to_string(),
        Some((addr, "128")) if addr.contains(':') => addr.to_string(),
        _ => prefix.to_string(),
    }
}

/// Go-style durations: "2s", "200ms", "1m30s", "0s".
pub fn duration(ns: i64) -> String {
    if ns <= 0 {
        return "0s".to_string();
    }
    let ns = ns as u128;
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return trim_unit(ns as f64 / 1e3, "µs");
    }
    if ns < 1_000_000_000 {
        return trim_unit(ns as f64 / 1e6, "ms");
    }
    let total_ms = ns / 1_000_000;
    let (h, rem) = (total_ms / 3_600_000, total_ms % 3_600_000);
    let (m, rem) = (rem / 60_000, rem % 60_000);
    let secs = rem as f64 / 1000.0;
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&trim_unit(secs, "s"));
    out
}

fn trim_unit(v: f64, unit: &str) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{unit}")
}

/// RFC 3339 UTC with milliseconds; "-" for 0 (never).
pub fn time(ns: i64) -> String {
    if ns <= 0 {
        return "-".to_string();
    }
    let secs = ns.div_euclid(1_000_000_000);
    let millis = ns.rem_euclid(1_000_000_000) / 1_000_000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 -> (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn last_result(r: &pb::ProbeResult) -> String {
    if r.code.is_empty() {
        return "-".to_string();
    }
    let mut s = format!("{} {}", r.code, duration(r.duration_ns));
    if !r.detail.is_empty() {
        s.push_str(&format!(" ({})", r.detail));
    }
    s
}

pub fn frontends(style: Style, list: &[pb::FrontendInfo]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|f| {
            let backends: usize = f.pools.iter().map(|p| p.backends.len()).sum();
            let up: usize =
                f.pools.iter().flat_map(|p| &p.backends).filter(|b| b.effective_weight > 0).count();
            vec![
                f.name.clone(),
                vip(&f.address),
                f.protocol.clone(),
                f.port.to_string(),
                f.state.clone(),
                f.active_pool.clone(),
                format!("{up}/{backends}"),
                f.description.clone(),
            ]
        })
        .collect();
    table(
        style,
        &[
            ("NAME", Col::Plain),
            ("ADDRESS", Col::Plain),
            ("PROTO", Col::Plain),
            ("PORT", Col::Num),
            ("STATE", Col::State),
            ("ACTIVE-POOL", Col::Plain),
            ("SERVING", Col::Num),
            ("DESCRIPTION", Col::Plain),
        ],
        &rows,
    )
}

/// One frontend: its settings, then pools, then each pool's backends.
pub fn frontend(style: Style, f: &pb::FrontendInfo) -> String {
    let mut out = format!("{} {}\n", style.label("frontend"), f.name);
    out.push_str(&fields(
        style,
        "  ",
        &[
            ("description", f.description.clone()),
            ("address", vip(&f.address)),
            ("protocol", f.protocol.clone()),
            ("port", f.port.to_string()),
            ("state", f.state.clone()),
            ("src-ip-sticky", f.src_ip_sticky.to_string()),
            ("flush-on-down", f.flush_on_down.to_string()),
        ],
    ));
    out.push_str(&format!("  {}\n", style.label("pools")));
    let name_w = f.pools.iter().flat_map(|p| &p.backends).map(|b| b.name.len()).max().unwrap_or(0);
    for p in &f.pools {
        let active = if p.active { " (active)" } else { "" };
        out.push_str(&format!("    {}{active}\n", style.label(&p.name)));
        for b in &p.backends {
            let disabled = if b.enabled { String::new() } else { format!(" {}", style.dim("[disabled]")) };
            out.push_str(&format!(
                "      {:<name_w$}  {}  weight {:>3}  effective {:>3}{disabled}\n",
                b.name,
                style.state(&format!("{:<8}", b.state)),
                b.weight,
                b.effective_weight,
            ));
        }
    }
    out
}

/// HAProxy's `N/M`: while up (value >= rise), value-rise+1 of fall (the
/// failures it still takes to go down); otherwise value of rise (the passes
/// so far toward up).
fn health(h: &pb::HealthCounter) -> String {
    if h.value >= h.rise {
        format!("{}/{}", h.value - h.rise + 1, h.fall)
    } else {
        format!("{}/{}", h.value, h.rise)
    }
}

pub fn backends(style: Style, list: &[pb::BackendInfo]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|b| {
            let health = b.health.as_ref().map(health);
            vec![
                b.name.clone(),
                b.address.clone(),
                b.state.clone(),
                if b.enabled { "yes".to_string() } else { "no".to_string() },
                if b.healthcheck.is_empty() { "-".to_string() } else { b.healthcheck.clone() },
                health.unwrap_or_else(|| "-".to_string()),
                b.last_result.as_ref().map(last_result).unwrap_or_else(|| "-".to_string()),
            ]
        })
        .collect();
    table(
        style,
        &[
            ("NAME", Col::Plain),
            ("ADDRESS", Col::Plain),
            ("STATE", Col::State),
            ("ENABLED", Col::Plain),
            ("HEALTHCHECK", Col::Plain),
            ("HEALTH", Col::Num),
            ("LAST-RESULT", Col::Plain),
        ],
        &rows,
    )
}

pub fn backend(style: Style, b: &pb::BackendInfo) -> String {
    let mut out = format!("{} {}\n", style.label("backend"), b.name);
    let mut pairs = vec![
        ("address", b.address.clone()),
        ("state", b.state.clone()),
        ("enabled", b.enabled.to_string()),
        (
            "healthcheck",
            if b.healthcheck.is_empty() { "- (static)".to_string() } else { b.healthcheck.clone() },
        ),
    ];
    if let Some(h) = b.health.as_ref() {
        pairs.push((
            "health",
            format!("{} (rise {}, fall {}, counter {})", health(h), h.rise, h.fall, h.value),
        ));
    }
    if let Some(r) = b.last_result.as_ref() {
        pairs.push(("last-result", last_result(r)));
        if r.http_status != 0 {
            pairs.push(("http-status", r.http_status.to_string()));
        }
        pairs.push(("last-probe", time(r.time_ns)));
    }
    pairs.push(("frontends", if b.frontends.is_empty() { "-".to_string() } else { b.frontends.join(", ") }));
    out.push_str(&fields(style, "  ", &pairs));
    out.push_str(&format!("  {}\n", style.label("transitions")));
    if b.transitions.is_empty() {
        out.push_str("    -\n");
    }
    for t in &b.transitions {
        let detail = if t.detail.is_empty() { String::new() } else { format!(" ({})", t.detail) };
        out.push_str(&format!("    {}  {} -> {}  {}{detail}\n", time(t.time_ns), t.from, t.to, t.code));
    }
    out
}

pub fn healthchecks(style: Style, list: &[pb::HealthCheckInfo]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|h| {
            vec![
                h.name.clone(),
                h.type_.clone(),
                if h.port == 0 { "-".to_string() } else { h.port.to_string() },
                duration(h.interval_ns),
                duration(h.timeout_ns),
                h.rise.to_string(),
                h.fall.to_string(),
                h.backends.len().to_string(),
            ]
        })
        .collect();
    table(
        style,
        &[
            ("NAME", Col::Plain),
            ("TYPE", Col::Plain),
            ("PORT", Col::Num),
            ("INTERVAL", Col::Num),
            ("TIMEOUT", Col::Num),
            ("RISE", Col::Num),
            ("FALL", Col::Num),
            ("BACKENDS", Col::Num),
        ],
        &rows,
    )
}

pub fn healthcheck(style: Style, h: &pb::HealthCheckInfo) -> String {
    let or_dash = |s: &str| if s.is_empty() { "-".to_string() } else { s.to_string() };
    let mut pairs = vec![
        ("type", h.type_.clone()),
        ("port", if h.port == 0 { "-".to_string() } else { h.port.to_string() }),
        ("interval", duration(h.interval_ns)),
        ("fast-interval", duration(h.fast_interval_ns)),
        ("down-interval", duration(h.down_interval_ns)),
        ("timeout", duration(h.timeout_ns)),
        ("rise", h.rise.to_string()),
        ("fall", h.fall.to_string()),
        ("jitter-percent", h.jitter_percent.to_string()),
        ("netns", or_dash(&h.netns)),
        ("source-ipv4", or_dash(&h.source_ipv4)),
        ("source-ipv6", or_dash(&h.source_ipv6)),
    ];
    if let Some(http) = h.http.as_ref() {
        pairs.push(("http-method", http.method.clone()));
        pairs.push(("http-path", http.path.clone()));
        pairs.push(("http-host", or_dash(&http.host)));
        for hd in &http.headers {
            pairs.push(("http-header", format!("{}: {}", hd.name, hd.value)));
        }
        pairs.push(("expect-status", http.expect_status.clone()));
        pairs.push(("expect-body", or_dash(&http.expect_body)));
    }
    if let Some(tls) = h.tls.as_ref() {
        pairs.push(("tls-server-name", or_dash(&tls.server_name)));
        pairs.push(("tls-verify", tls.verify.to_string()));
        pairs.push(("tls-ca-file", or_dash(&tls.ca_file)));
    }
    pairs.push(("backends", if h.backends.is_empty() { "-".to_string() } else { h.backends.join(", ") }));
    format!("{} {}\n{}", style.label("healthcheck"), h.name, fields(style, "  ", &pairs))
}

pub fn version(style: Style, client: &str, v: &pb::VersionInfo) -> String {
    fields(
        style,
        "",
        &[
            ("maglevc", client.to_string()),
            ("maglevd", v.version.clone()),
            ("commit", v.commit.clone()),
            ("build-date", v.build_date.clone()),
        ],
    )
}

pub fn vpp_info(style: Style, i: &pb::VPPInfo) -> String {
    fields(
        style,
        "",
        &[
            ("version", i.version.clone()),
            ("build-date", i.build_date.clone()),
            ("build-directory", i.build_directory.clone()),
            ("pid", i.pid.to_string()),
            ("boot-time", time(i.boottime_ns)),
            ("connect-time", time(i.connecttime_ns)),
        ],
    )
}

pub fn vpp_lb_state(style: Style, s: &pb::VPPLBState) -> String {
    let or_dash = |s: &str| if s.is_empty() { "-".to_string() } else { s.to_string() };
    let mut out = format!("{}\n", style.label("lb conf"));
    if let Some(c) = s.conf.as_ref() {
        out.push_str(&fields(
            style,
            "  ",
            &[
                ("ipv4-src-address", or_dash(&c.ipv4_src_address)),
                ("ipv6-src-address", or_dash(&c.ipv6_src_address)),
                ("sticky-buckets-per-core", c.sticky_buckets_per_core.to_string()),
                ("flow-timeout", format!("{}s", c.flow_timeout_s)),
            ],
        ));
    }
    for v in &s.vips {
        out.push_str(&format!(
            "{} {} {} port {}  {}\n",
            style.label("vip"),
            vip(&v.prefix),
            v.protocol,
            v.port,
            if v.frontend.is_empty() {
                "(no frontend)".to_string()
            } else {
                format!("frontend {}", v.frontend)
            },
        ));
        out.push_str(&format!(
            "  index {}  encap {}  src-ip-sticky {}  flow-table-length {}\n",
            v.index, v.encap, v.src_ip_sticky, v.flow_table_length
        ));
        let rows: Vec<Vec<String>> = v
            .ases
            .iter()
            .map(|a| {
                vec![
                    a.address.clone(),
                    a.weight.to_string(),
                    a.num_buckets.to_string(),
                    if a.in_use { "yes".to_string() } else { "no".to_string() },
                    format!("{:#x}", a.flags),
                ]
            })
            .collect();
        let t = table(
            style,
            &[
                ("AS", Col::Plain),
                ("WEIGHT", Col::Num),
                ("BUCKETS", Col::Num),
                ("IN-USE", Col::Plain),
                ("FLAGS", Col::Plain),
            ],
            &rows,
        );
        for line in t.lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

pub fn vpp_counters(style: Style, c: &pb::VPPLBCounters) -> String {
    let rows: Vec<Vec<String>> = c
        .vips
        .iter()
        .map(|v| {
            vec![
                v.frontend.clone(),
                vip(&v.prefix),
                v.protocol.clone(),
                v.port.to_string(),
                v.first.to_string(),
                v.next.to_string(),
                v.untracked.to_string(),
                v.no_server.to_string(),
                v.fib_packets.to_string(),
                v.fib_bytes.to_string(),
            ]
        })
        .collect();
    table(
        style,
        &[
            ("FRONTEND", Col::Plain),
            ("VIP", Col::Plain),
            ("PROTO", Col::Plain),
            ("PORT", Col::Num),
            ("FIRST", Col::Num),
            ("NEXT", Col::Num),
            ("UNTRACKED", Col::Num),
            ("NO-SERVER", Col::Num),
            ("FIB-PACKETS", Col::Num),
            ("FIB-BYTES", Col::Num),
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: Style = Style { color: false };
    const COLOR: Style = Style { color: true };

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn vips_drop_host_prefix_lengths() {
        assert_eq!(vip("192.0.2.1/32"), "192.0.2.1");
        assert_eq!(vip("2001:db8::1/128"), "2001:db8::1");
        assert_eq!(vip("192.0.2.0/24"), "192.0.2.0/24");
        assert_eq!(vip("2001:db8::/64"), "2001:db8::/64");
    }

    #[test]
    fn durations_read_like_the_config() {
        assert_eq!(duration(2_000_000_000), "2s");
        assert_eq!(duration(200_000_000), "200ms");
        assert_eq!(duration(90_000_000_000), "1m30s");
        assert_eq!(duration(1_500_000), "1.5ms");
        assert_eq!(duration(0), "0s");
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(time(0), "-");
        assert_eq!(time(1_700_000_000_123_000_000), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn colour_does_not_break_alignment() {
        let rows = vec![
            vec!["a".to_string(), "up".to_string(), "1".to_string()],
            vec!["bbbb".to_string(), "down".to_string(), "22".to_string()],
        ];
        let headers = [("NAME", Col::Plain), ("STATE", Col::State), ("N", Col::Num)];
        let plain = table(PLAIN, &headers, &rows);
        assert_eq!(plain, "NAME  STATE   N\na     up      1\nbbbb  down   22\n");
        let colored = table(COLOR, &headers, &rows);
        assert!(colored.contains("\x1b[32mup   \x1b[0m"), "{colored:?}");
        assert_eq!(strip_ansi(&colored), plain);
    }

    #[test]
    fn counters_show_first_before_next_and_fib_columns() {
        let c = pb::VPPLBCounters {
            vips: vec![pb::VIPCounters {
                frontend: "web4".into(),
                prefix: "192.0.2.1/32".into(),
                protocol: "tcp".into(),
                port: 80,
                first: 1,
                next: 2,
                fib_packets: 3,
                fib_bytes: 4,
                ..Default::default()
            }],
            ..Default::default()
        };
        let out = vpp_counters(PLAIN, &c);
        let header = out.lines().next().unwrap();
        assert!(header.find("FIRST").unwrap() < header.find("NEXT").unwrap());
        assert!(header.contains("FIB-PACKETS") && header.contains("FIB-BYTES"));
        assert!(out.lines().nth(1).unwrap().starts_with("web4      192.0.2.1"), "{out}");
    }

    #[test]
    fn frontend_detail_is_hierarchical() {
        let f = pb::FrontendInfo {
            name: "web4".into(),
            address: "192.0.2.1/32".into(),
            protocol: "tcp".into(),
            port: 80,
            state: "up".into(),
            active_pool: "primary".into(),
            pools: vec![
                pb::PoolInfo {
                    name: "primary".into(),
                    active: true,
                    backends: vec![
                        pb::PoolBackendInfo {
                            name: "a".into(),
                            state: "up".into(),
                            enabled: true,
                            weight: 100,
                            effective_weight: 100,
                            ..Default::default()
                        },
                        pb::PoolBackendInfo {
                            name: "bb".into(),
                            state: "disabled".into(),
                            enabled: false,
                            weight: 50,
                            effective_weight: 0,
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                },
                pb::PoolInfo { name: "fallback".into(), ..Default::default() },
            ],
            ..Default::default()
        };
        let out = frontend(PLAIN, &f);
        assert!(out.starts_with("frontend web4\n"), "{out}");
        assert!(out.contains("  address        192.0.2.1\n"), "{out}");
        assert!(
            out.contains("    primary (active)\n      a   up        weight 100  effective 100\n"),
            "{out}"
        );
        assert!(out.contains("      bb  disabled  weight  50  effective   0 [disabled]\n"), "{out}");
        assert!(out.contains("    fallback\n"), "{out}");
    }
}
