//! Parsing VPP's `show lb vips verbose` output: the only source of a VIP's
//! pool index (needed for its stats counters) and of its `src_ip_sticky`
//! flag. The format is CLI text, not an API, so the parser takes what it
//! recognises and skips every other line.

use std::net::IpAddr;

use crate::lb::VipKey;
use crate::types::{ip_proto, LbVipType};

/// The CLI command whose output [`parse_lb_vips_verbose`] reads.
pub const SHOW_LB_VIPS_VERBOSE: &str = "show lb vips verbose";

/// One VIP block of `show lb vips verbose`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipCliInfo {
    /// VPP's pool index of the VIP (the stats counters' second index).
    pub index: u32,
    pub vip_type: LbVipType,
    pub addr: IpAddr,
    pub len: u8,
    pub src_ip_sticky: bool,
    /// Deleted but not yet garbage-collected.
    pub removed: bool,
    /// New-flow-table size (`new_size:`).
    pub new_size: Option<u32>,
    /// Protocol and port; both None for an all-port VIP.
    pub protocol: Option<u8>,
    pub port: Option<u16>,
    /// `counters:` lines as printed (name, value).
    pub counters: Vec<(String, u64)>,
    pub ases: Vec<AsCliInfo>,
}

impl VipCliInfo {
    /// The VIP's key as the API reports it.
    pub fn key(&self) -> VipKey {
        match (self.protocol, self.port) {
            (Some(p), Some(port)) if port != 0 => VipKey::new(self.addr, self.len, p, port),
            _ => VipKey::new(self.addr, self.len, ip_proto::RESERVED, 0),
        }
    }
}

/// One AS line of a VIP block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsCliInfo {
    pub address: IpAddr,
    pub weight: Option<u8>,
    pub buckets: Option<u32>,
    pub flows: Option<u64>,
    pub dpo: Option<u32>,
    /// `used` (true) or `removed` (false).
    pub used: bool,
}

/// Parses the whole output; blocks whose first line is not recognised are
/// skipped along with their lines.
pub fn parse_lb_vips_verbose(text: &str) -> Vec<VipCliInfo> {
    let mut vips: Vec<VipCliInfo> = Vec::new();
    let mut in_counters = false;
    // False while inside a block whose first line was not understood: its
    // lines must not be attached to the VIP before it.
    let mut attach = false;
    for line in text.lines() {
        if let Some(vip) = parse_vip_line(line) {
            vips.push(vip);
            in_counters = false;
            attach = true;
            continue;
        }
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        if is_block_start(line) {
            attach = false;
            continue;
        }
        let Some(cur) = vips.last_mut().filter(|_| attach) else { continue };
        if let Some(as_info) = parse_as_line(t) {
            in_counters = false;
            cur.ases.push(as_info);
        } else if t == "counters:" || t.ends_with(" counters:") {
            in_counters = true;
        } else if let Some(n) = t.strip_prefix("new_size:") {
            cur.new_size = n.trim().parse().ok();
        } else if t.starts_with("protocol:") {
            for (k, v) in key_values(t) {
                match k {
                    "protocol" => cur.protocol = v.parse().ok(),
                    "port" => cur.port = v.parse().ok(),
                    _ => {}
                }
            }
        } else if t.starts_with("#as:") {
            in_counters = false;
        } else if in_counters {
            if let Some((name, value)) = t.rsplit_once(':') {
                if let Ok(v) = value.trim().parse() {
                    cur.counters.push((name.trim().to_string(), v));
                }
            }
        }
    }
    vips
}

/// ` <type> [<index>] <prefix>[ src_ip_sticky][ removed]`
fn parse_vip_line(line: &str) -> Option<VipCliInfo> {
    let mut words = line.split_whitespace();
    let vip_type = LbVipType::from_name(words.next()?)?;
    let index = words.next()?.strip_prefix('[')?.strip_suffix(']')?.parse().ok()?;
    let (addr, len) = words.next()?.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let mut info = VipCliInfo {
        index,
        vip_type,
        addr,
        len,
        src_ip_sticky: false,
        removed: false,
        new_size: None,
        protocol: None,
        port: None,
        counters: Vec::new(),
        ases: Vec::new(),
    };
    for w in words {
        match w {
            "src_ip_sticky" => info.src_ip_sticky = true,
            "removed" => info.removed = true,
            _ => return None,
        }
    }
    Some(info)
}

/// A line at VIP-header depth (at most one leading space) or starting with
/// a VIP type name.
fn is_block_start(line: &str) -> bool {
    let indent = line.len() - line.trim_start().len();
    indent <= 1 || line.split_whitespace().next().is_some_and(|w| LbVipType::from_name(w).is_some())
}

/// `<addr> weight:<w> buckets:<b> flows:<f> dpo:<d> used|removed`
fn parse_as_line(t: &str) -> Option<AsCliInfo> {
    let (first, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    let address: IpAddr = first.parse().ok()?;
    let mut info = AsCliInfo { address, weight: None, buckets: None, flows: None, dpo: None, used: true };
    for w in rest.split_whitespace() {
        match w.split_once(':') {
            Some(("weight", v)) => info.weight = v.parse().ok(),
            Some(("buckets", v)) => info.buckets = v.parse().ok(),
            Some(("flows", v)) => info.flows = v.parse().ok(),
            Some(("dpo", v)) => info.dpo = v.parse().ok(),
            Some(_) => {}
            None if w == "removed" => info.used = false,
            None => {}
        }
    }
    Some(info)
}

fn key_values(t: &str) -> impl Iterator<Item = (&str, &str)> {
    t.split_whitespace().filter_map(|w| w.split_once(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = " ip4-gre4 [1] 192.0.2.1/32 src_ip_sticky
  new_size:1024
  protocol:6 port:80
  counters:
    packet from existing sessions: 0
    first session packet: 7
    untracked packet: 0
    no server configured: 0
  #as:3
    10.0.0.4 weight:100 buckets:512 flows:0 dpo:11 used
    10.0.0.3 weight:0 buckets:0 flows:0 dpo:10 used
    10.0.0.2 weight:100 buckets:512 flows:2 dpo:9 removed

 ip6-gre6 [3] 2001:db8::10/128 removed
  new_size:1024
  some future line: 5
  counters:
    packet from existing sessions: 1
  #as:0

 ip4-gre6 [4] 198.51.100.0/24
  new_size:65536
  #as:1
    2001:db8::5 weight:50 buckets:65536 flows:0 dpo:12 used

";

    #[test]
    fn parses_every_block() {
        let vips = parse_lb_vips_verbose(SAMPLE);
        assert_eq!(vips.len(), 3);
        let v = &vips[0];
        assert_eq!((v.index, v.vip_type, v.len), (1, LbVipType::Ip4Gre4, 32));
        assert_eq!(v.addr.to_string(), "192.0.2.1");
        assert!(v.src_ip_sticky && !v.removed);
        assert_eq!((v.new_size, v.protocol, v.port), (Some(1024), Some(6), Some(80)));
        assert_eq!(v.counters.len(), 4);
        assert_eq!(v.counters[1], ("first session packet".to_string(), 7));
        assert_eq!(v.ases.len(), 3);
        assert_eq!(v.ases[1].weight, Some(0));
        assert!(!v.ases[2].used);
        assert_eq!(v.ases[2].flows, Some(2));
        assert_eq!(v.key(), VipKey::host("192.0.2.1".parse().unwrap(), 6, 80));

        let v = &vips[1];
        assert_eq!((v.index, v.removed, v.src_ip_sticky), (3, true, false));
        assert_eq!(v.counters, vec![("packet from existing sessions".to_string(), 1)]);
        assert!(v.ases.is_empty());

        let v = &vips[2];
        assert_eq!(v.key().protocol, 255);
        assert_eq!(v.key().port, 0);
        assert_eq!(v.ases[0].address.to_string(), "2001:db8::5");
        assert_eq!(v.ases[0].buckets, Some(65536));
    }

    /// Real VPP's output (v26.10-rc0, master with weights) for the VIPs
    /// that the workspace's `tests/vpp_lb_api.rs` programs: sticky and not,
    /// IPv4 and IPv6 VIPs, gre4 and gre6, weights 0 to 100, one AS and
    /// many, an all-port VIP and a removed AS. That test checks that real
    /// VPP still prints exactly this, and vppsim too.
    const REAL: &str = include_str!("../tests/data/lb_cli/show_lb_vips_verbose.txt");

    #[test]
    fn parses_real_vpp_output() {
        let vips = parse_lb_vips_verbose(REAL);
        let heads: Vec<String> = vips
            .iter()
            .map(|v| {
                let (sticky, removed) = (v.src_ip_sticky, v.removed);
                format!(
                    "{} {} {}/{} {sticky} {removed} {:?} {:?}",
                    v.index, v.vip_type, v.addr, v.len, v.protocol, v.port
                )
            })
            .collect();
        assert_eq!(
            heads,
            [
                "1 ip4-gre4 192.0.2.1/32 false false Some(6) Some(80)",
                "2 ip4-gre4 192.0.2.2/32 true false Some(17) Some(53)",
                "3 ip4-gre6 192.0.2.3/32 false false Some(6) Some(443)",
                "4 ip6-gre6 2001:db8:1::1/128 true false Some(6) Some(80)",
                "5 ip6-gre4 2001:db8:1::2/128 false false Some(17) Some(53)",
                "6 ip4-gre4 192.0.2.4/32 true false None None",
            ]
        );
        assert_eq!(vips[5].key(), VipKey::host("192.0.2.4".parse().unwrap(), 255, 0), "all-port VIP");
        for v in &vips {
            assert_eq!(v.new_size, Some(1024));
            let names: Vec<&str> = v.counters.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(
                names,
                [
                    "packet from existing sessions",
                    "first session packet",
                    "untracked packet",
                    "no server configured"
                ]
            );
            let buckets: u32 = v.ases.iter().filter_map(|a| a.buckets).sum();
            assert_eq!(buckets, 1024, "{v:?}");
        }
        let ases: Vec<String> = vips[0]
            .ases
            .iter()
            .map(|a| format!("{} {:?} {:?} {:?} {}", a.address, a.weight, a.buckets, a.dpo, a.used))
            .collect();
        assert_eq!(
            ases,
            [
                "10.0.0.1 Some(100) Some(1013) Some(9) true",
                // Real VPP prints two spaces before `removed`.
                "10.0.0.2 Some(50) Some(0) Some(10) false",
                "10.0.0.3 Some(1) Some(11) Some(11) true",
                "10.0.0.4 Some(0) Some(0) Some(12) true",
            ]
        );
        let v6: Vec<(String, Option<u8>, Option<u32>)> =
            vips[3].ases.iter().map(|a| (a.address.to_string(), a.weight, a.buckets)).collect();
        assert_eq!(
            v6,
            [
                ("2001:db8::3".into(), Some(100), Some(575)),
                ("2001:db8::4".into(), Some(75), Some(449)),
                ("2001:db8::5".into(), Some(0), Some(0)),
            ]
        );
        assert_eq!(vips[1].ases.len(), 1);
        assert_eq!(vips[4].ases[0].address.to_string(), "10.0.0.6");
    }

    #[test]
    fn garbage_is_ignored() {
        assert!(parse_lb_vips_verbose("").is_empty());
        assert!(
            parse_lb_vips_verbose("unknown input\n ip4-gre4 [x] 1.2.3.4/32\n ip9-foo [1] a/b\n").is_empty()
        );
        // Lines before any VIP are dropped; a block with a first line that is
        // not understood does not lend its lines to the VIP before it.
        let text = "    10.0.0.1 weight:1\n ip4-gre4 [2] 1.2.3.4/32\n ip4-gre4 [3] 1.2.3.5/32 bogusflag\n    10.0.0.9 weight:1 used\n";
        let vips = parse_lb_vips_verbose(text);
        assert_eq!(vips.len(), 1);
        assert!(vips[0].ases.is_empty(), "{vips:?}");
        let vips = parse_lb_vips_verbose(" ip4-gre4 [2] 1.2.3.4/32\n  protocol:x port:99999\n");
        assert_eq!(vips.len(), 1);
        assert_eq!((vips[0].protocol, vips[0].port), (None, None));
    }

    #[test]
    fn nat_line_without_newline_is_tolerated() {
        let text = " ip4-nat4 [5] 192.0.2.9/32\n  new_size:1024\n  protocol:6 port:80\n  type:clusterip port:80 target_port:8080  counters:\n    first session packet: 3\n  #as:0\n";
        let vips = parse_lb_vips_verbose(text);
        assert_eq!(vips.len(), 1);
        assert_eq!(vips[0].counters, vec![("first session packet".to_string(), 3)]);
    }
}
