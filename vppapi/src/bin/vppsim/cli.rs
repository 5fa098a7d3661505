//! The few VPP CLI commands `cli_inband` answers, printed the way VPP
//! prints them (`format_lb_vip_detailed` in lb.c, `show version` in vpe).
//! Words may be abbreviated as in VPP's CLI (`sh lb vip verb`).

use std::fmt::Write as _;

use crate::ip46::format_prefix;
use crate::lb::{LbState, Vip, VipType, VIP_COUNTER_NAMES};
use crate::wire_forms::Mode;

/// What `show version` and `show_version_reply` report.
#[derive(Debug, Clone)]
pub struct VersionInfo {
    pub program: String,
    pub version: String,
    pub build_date: String,
    pub build_directory: String,
    pub built_by: String,
    pub built_on: String,
}

impl VersionInfo {
    pub fn new(version: &str) -> Self {
        VersionInfo {
            program: "vpe".to_string(),
            version: version.to_string(),
            build_date: "2026-08-20T10:00:00".to_string(),
            build_directory: "/w/workspace/vpp".to_string(),
            built_by: "root".to_string(),
            built_on: "vppsim".to_string(),
        }
    }
}

/// The version this stand-in reports unless told otherwise (the VPP the
/// protocol reference was checked against).
pub const DEFAULT_VERSION: &str = "26.10-rc0~374-gb575ec2c56d";

/// Runs one CLI command line. `Err` carries the error text, which VPP
/// prints as the command's output while `vlib_cli_input` fails with -1.
pub fn run(state: &LbState, mode: Mode, version: &VersionInfo, line: &str) -> Result<String, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let is = |i: usize, keyword: &str| words.get(i).is_some_and(|w| !w.is_empty() && keyword.starts_with(w));
    match words.len() {
        0 => Ok(String::new()),
        _ if !is(0, "show") => Err(format!("unknown input `{}'\n", words.join(" "))),
        1 => Err("show: no sub-commands\n".to_string()),
        _ if is(1, "version") && words.len() == 2 => Ok(show_version(version)),
        // Any argument but a literal `verbose` means "not verbose". Without
        // an argument, master prints the short list; the released versions
        // return before printing anything (`unformat_line_input` fails).
        _ if is(1, "lb") && words.len() >= 3 && is(2, "vips") => match words.get(3) {
            None if mode == Mode::Legacy => Ok(String::new()),
            Some(&"verbose") => Ok(show_vips(state, mode, true)),
            _ => Ok(show_vips(state, mode, false)),
        },
        _ if is(1, "lb") && words.len() == 2 => Ok(show_lb(state)),
        _ => Err(format!("show: unknown input `{}'\n", words[1..].join(" "))),
    }
}

fn show_version(v: &VersionInfo) -> String {
    format!("vpp v{} built by {} on {} at {}\n", v.version, v.built_by, v.built_on, v.build_date)
}

/// A fault for tests: the VIP header lines (` <type> [<index>] <prefix>…`)
/// of the `prefixes` get a word no VPP prints, so no parser understands them.
pub fn garble(text: &str, prefixes: &[String]) -> String {
    if prefixes.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        let words: Vec<&str> = line.split_whitespace().collect();
        let header = words.get(1).is_some_and(|w| w.starts_with('['));
        match line.strip_suffix('\n') {
            Some(l) if header && words.get(2).is_some_and(|p| prefixes.iter().any(|x| x == p)) => {
                out.push_str(l);
                out.push_str(" ~garbled~\n");
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// `show lb` (`format_lb_main`, without the per-core sticky tables, which
/// only exist once packets flowed).
fn show_lb(state: &LbState) -> String {
    let c = &state.conf;
    // Pool elements: the placeholder VIP counts, the default AS does not.
    let vips = state.vip_slots().count() + 1;
    let ases: usize = state.vip_slots().map(|(_, v)| v.ases().len()).sum();
    format!(
        "lb_main ip4-src-address: {} \n ip6-src-address: {} \n #vips: {}\n #ass: {}\n",
        std::net::Ipv4Addr::from(c.ip4_src_address),
        std::net::Ipv6Addr::from(c.ip6_src_address),
        vips,
        ases
    )
}

/// `show lb vips [verbose]`: every VIP slot but the placeholder, each
/// printed with `vlib_cli_output("%U\n")`: a verbose block (whose lines
/// end in newlines) is followed by an empty line, a short line is not.
fn show_vips(state: &LbState, mode: Mode, verbose: bool) -> String {
    let mut out = String::new();
    for (index, vip) in state.vip_slots() {
        if verbose {
            format_vip_detailed(&mut out, state, mode, index, vip);
            out.push('\n');
        } else {
            format_vip(&mut out, vip);
        }
    }
    out
}

/// `format_lb_vip`: one line, no index and no stickiness, then
/// `vlib_cli_output`'s newline.
fn format_vip(out: &mut String, vip: &Vip) {
    let _ = write!(
        out,
        "{} {} new_size:{} #as:{}{}",
        vip.vtype.name(),
        format_prefix(&vip.key.prefix, vip.key.plen),
        vip.new_flows_table_length,
        vip.ases().len(),
        if vip.used { "" } else { " removed" }
    );
    if vip.key.port != 0 {
        let _ = write!(out, "  protocol:{} port:{} ", vip.key.protocol, vip.key.port);
    }
    if vip.vtype == VipType::Ip4L3dsr {
        let _ = write!(out, "  dscp:{}", vip.dscp);
    } else if vip.vtype.is_nat() {
        let _ = write!(
            out,
            " type:{} port:{} target_port:{}",
            if vip.srv_type == 0 { "clusterip" } else { "nodeport" },
            vip.key.port.swap_bytes(),
            vip.target_port.swap_bytes()
        );
    }
    out.push('\n');
}

/// The first line of `format_lb_vip_detailed`.
fn format_vip_line(out: &mut String, index: usize, vip: &Vip) {
    let _ = writeln!(
        out,
        " {} [{}] {}{}{}",
        vip.vtype.name(),
        index,
        format_prefix(&vip.key.prefix, vip.key.plen),
        if vip.src_ip_sticky { " src_ip_sticky" } else { "" },
        if vip.used { "" } else { " removed" }
    );
}

fn format_vip_detailed(out: &mut String, state: &LbState, mode: Mode, index: usize, vip: &Vip) {
    format_vip_line(out, index, vip);
    let _ = writeln!(out, "  new_size:{}", vip.new_flows_table_length);
    if vip.key.port != 0 {
        let _ = writeln!(out, "  protocol:{} port:{}", vip.key.protocol, vip.key.port);
    }
    if vip.vtype == VipType::Ip4L3dsr {
        let _ = writeln!(out, "  dscp:{}", vip.dscp);
    } else if vip.vtype.is_nat() {
        // VPP prints both ports through ntohs and without a newline.
        let _ = write!(
            out,
            "  type:{} port:{} target_port:{}",
            if vip.srv_type == 0 { "clusterip" } else { "nodeport" },
            vip.key.port.swap_bytes(),
            vip.target_port.swap_bytes()
        );
    }
    let _ = writeln!(out, "  counters:");
    for (name, value) in VIP_COUNTER_NAMES.iter().zip(state.vip_counter_totals(index)) {
        let _ = writeln!(out, "    {name}: {value}");
    }
    let _ = writeln!(out, "  #as:{}", vip.ases().len());
    for (a, buckets) in vip.ases_for_display() {
        match mode {
            // " removed" keeps its leading space after the one of the
            // format, in master as in the released versions.
            Mode::Master => writeln!(
                out,
                "    {} weight:{} buckets:{} flows:{} dpo:{} {}",
                a.address,
                a.weight,
                buckets,
                a.flows,
                a.dpo,
                if a.used { "used" } else { " removed" }
            ),
            // The released versions' format (no weights; " removed" keeps
            // its leading space after the one of the format).
            Mode::Legacy => writeln!(
                out,
                "    {} {} buckets   {} flows  dpo:{} {}",
                a.address,
                buckets,
                a.flows,
                a.dpo,
                if a.used { "used" } else { " removed" }
            ),
        }
        .ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip46::Ip46;
    use crate::lb::{encap, VipAddArgs, VipKey, COUNTER_FIRST_PACKET};

    fn ip(s: &str) -> Ip46 {
        Ip46::from_ip(s.parse().unwrap())
    }

    fn state_with_vip() -> LbState {
        let mut s = LbState::default();
        let key = VipKey::new(ip("192.0.2.1"), 128, 6, 80);
        s.add_vip(VipAddArgs {
            key,
            encap: encap::GRE4,
            dscp: 0,
            srv_type: 0,
            target_port: 0,
            new_flows_table_length: 1024,
            src_ip_sticky: true,
        })
        .unwrap();
        for last in 2..=4 {
            s.add_as(&key, ip(&format!("10.0.0.{last}")), 100, false).unwrap();
        }
        s.set_as_weight(&key, ip("10.0.0.3"), 0, false).unwrap();
        s.count_vip(1, 0, COUNTER_FIRST_PACKET, 3);
        s.count_vip(1, 1, COUNTER_FIRST_PACKET, 4);
        s
    }

    #[test]
    fn show_lb_vips_verbose_matches_vpp_format() {
        let s = state_with_vip();
        let out = run(&s, Mode::Master, &VersionInfo::new(DEFAULT_VERSION), "show lb vips verbose").unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], " ip4-gre4 [1] 192.0.2.1/32 src_ip_sticky");
        assert_eq!(lines[1], "  new_size:1024");
        assert_eq!(lines[2], "  protocol:6 port:80");
        assert_eq!(lines[3], "  counters:");
        assert_eq!(lines[4], "    packet from existing sessions: 0");
        assert_eq!(lines[5], "    first session packet: 7");
        assert_eq!(lines[6], "    untracked packet: 0");
        assert_eq!(lines[7], "    no server configured: 0");
        assert_eq!(lines[8], "  #as:3");
        // In the order added; the DPOs follow the VIP route's index (8).
        assert!(lines[9].starts_with("    10.0.0.2 weight:100 buckets:"), "{}", lines[9]);
        assert!(lines[9].ends_with(" dpo:9 used"), "{}", lines[9]);
        assert_eq!(lines[10], "    10.0.0.3 weight:0 buckets:0 flows:0 dpo:10 used");
        assert!(lines[11].starts_with("    10.0.0.4 weight:100 buckets:"));
        assert_eq!(lines[12], "");
        // The regex clients use for the first line.
        let b9: u32 = lines[9].split("buckets:").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        let b11: u32 =
            lines[11].split("buckets:").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        assert_eq!(b9 + b11, 1024);
    }

    #[test]
    fn garble_touches_only_the_named_vip_header() {
        let text = " ip4-gre4 [1] 192.0.2.1/32\n  new_size:1024\n ip4-gre4 [2] 192.0.2.2/32\n";
        let out = garble(text, &["192.0.2.2/32".to_string()]);
        assert_eq!(
            out,
            " ip4-gre4 [1] 192.0.2.1/32\n  new_size:1024\n ip4-gre4 [2] 192.0.2.2/32 ~garbled~\n"
        );
        assert_eq!(garble(text, &[]), text);
    }

    #[test]
    fn removed_vip_and_as_are_marked() {
        let mut s = state_with_vip();
        s.del_vip(&VipKey::new(ip("192.0.2.1"), 128, 6, 80)).unwrap();
        let out = run(&s, Mode::Master, &VersionInfo::new(DEFAULT_VERSION), "sh lb vip verbose").unwrap();
        assert!(out.starts_with(" ip4-gre4 [1] 192.0.2.1/32 src_ip_sticky removed\n"), "{out}");
        assert!(out.contains("dpo:9  removed\n"), "{out}");
        let v = VersionInfo::new(DEFAULT_VERSION);
        assert_eq!(
            run(&s, Mode::Legacy, &v, "show lb vips"),
            Ok(String::new()),
            "no argument prints nothing on the released versions"
        );
        let short = "ip4-gre4 192.0.2.1/32 new_size:1024 #as:3 removed  protocol:6 port:80 \n";
        assert_eq!(run(&s, Mode::Master, &v, "show lb vips").unwrap(), short);
        assert_eq!(run(&s, Mode::Master, &v, "show lb vips x").unwrap(), short);
        let lb = run(&s, Mode::Master, &v, "show lb").unwrap();
        assert_eq!(lb, "lb_main ip4-src-address: 255.255.255.255 \n ip6-src-address: ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff \n #vips: 2\n #ass: 3\n");
    }

    #[test]
    fn legacy_as_lines_have_no_weight() {
        let mut s = state_with_vip();
        s.del_as(&VipKey::new(ip("192.0.2.1"), 128, 6, 80), ip("10.0.0.2"), false).unwrap();
        let out = run(&s, Mode::Legacy, &VersionInfo::new(DEFAULT_VERSION), "show lb vips verbose").unwrap();
        assert!(out.contains("\n    10.0.0.3 0 buckets   0 flows  dpo:10 used\n"), "{out}");
        assert!(out.contains("\n    10.0.0.2 0 buckets   0 flows  dpo:9  removed\n"), "{out}");
    }

    #[test]
    fn show_version_and_unknown_input() {
        let v = VersionInfo::new("1.2.3");
        let s = LbState::default();
        let run = |line: &str| run(&s, Mode::Master, &v, line);
        assert_eq!(
            run("show version"),
            Ok("vpp v1.2.3 built by root on vppsim at 2026-08-20T10:00:00\n".into())
        );
        assert_eq!(run("frobnicate now"), Err("unknown input `frobnicate now'\n".into()));
        assert_eq!(run("show frob"), Err("show: unknown input `frob'\n".into()));
        assert_eq!(run("show lb vips verbose"), Ok(String::new()));
        assert_eq!(run(""), Ok(String::new()));
        assert_eq!(run("show lb vips verbose"), Ok(String::new()));
    }
}
