//! Real traffic through real VPP programmed by maglevd: VPP's packet
//! generator sends TCP SYNs from many clients to a VIP and captures the
//! GRE packets that leave for the ASes. These tests need real VPP
//! (`make test-vpp`); vppsim has no dataplane, so under `make test` they
//! only say that they did not run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use maglev_proto::maglev as pb;
use testsupport::grpc::client;
use testsupport::pg::{syns_from, Delivered, Pg, TcpPacket, ACK};
use testsupport::{loopback_net, Maglevd, MaglevdOpts, Nginx, Vpp};
use vppapi::lb_cli::VipCliInfo;

const WAIT: Duration = Duration::from_secs(20);
const VIP: &str = "192.0.2.1/32";

fn vip_addr() -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 1)
}

/// nginx backends b1..bN on 127.x.y.1..N, port 8080. VPP reaches them
/// through the packet generator's interface on the same /24.
struct Lab {
    net: [u8; 3],
    nginx: Vec<Nginx>,
}

impl Lab {
    fn new(n: u8) -> Lab {
        let net = loopback_net();
        let nginx = (1..=n).map(|h| Nginx::http(&[Lab::addr_in(net, h).to_string()], 8080)).collect();
        Lab { net, nginx }
    }

    fn addr_in(net: [u8; 3], host: u8) -> Ipv4Addr {
        Ipv4Addr::new(net[0], net[1], net[2], host)
    }

    fn addr(&self, host: u8) -> Ipv4Addr {
        Lab::addr_in(self.net, host)
    }

    fn ases(&self) -> Vec<Ipv4Addr> {
        (1..=self.nginx.len() as u8).map(|h| self.addr(h)).collect()
    }

    /// One frontend `web` (tcp/80) with one pool of every backend at
    /// `weights`.
    fn config(&self, weights: &[u8]) -> String {
        let mut s = self.config_head(weights.len() as u8);
        s.push_str(
            "  frontends:
    web:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: main
          backends:
",
        );
        for (i, w) in weights.iter().enumerate() {
            let _ = writeln!(s, "            b{}: {{weight: {w}}}", i + 1);
        }
        s
    }

    /// Everything but the frontends: backends b1..b`n` health-checked
    /// over HTTP.
    fn config_head(&self, n: u8) -> String {
        let mut s = String::from(
            "maglev:
  healthchecker: {workers: 4}
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      startup-min-delay: 0s
      startup-max-delay: 2s
  healthchecks:
    http: {type: http, port: 8080, interval: 200ms, timeout: 300ms, rise: 2, fall: 2, jitter-percent: 0}
  backends:
",
        );
        for h in 1..=n {
            let _ = writeln!(s, "    b{h}: {{address: {}, healthcheck: http}}", self.addr(h));
        }
        s
    }

    fn pg(&self, vpp: &Vpp) -> Pg {
        Pg::new(vpp, self.addr(254), &self.ases())
    }
}

fn start_maglevd(vpp: &Vpp, config: &str) -> Maglevd {
    Maglevd::start(
        config,
        MaglevdOpts {
            vpp_api_addr: vpp.api_socket.display().to_string(),
            vpp_stats_addr: vpp.stats_socket.display().to_string(),
            ..Default::default()
        },
    )
}

/// Waits until the used ASes of the VIP have exactly these weights.
fn wait_weights(vpp: &Vpp, want: &[(Ipv4Addr, u8)]) -> Vec<VipCliInfo> {
    wait_vip_weights(vpp, VIP, want)
}

fn wait_vip_weights(vpp: &Vpp, vip: &str, want: &[(Ipv4Addr, u8)]) -> Vec<VipCliInfo> {
    let want: BTreeMap<IpAddr, u8> = want.iter().map(|(a, w)| (IpAddr::V4(*a), *w)).collect();
    vpp.wait_lb(&format!("{vip} weights {want:?}"), WAIT, |v| {
        let have: BTreeMap<IpAddr, u8> = Vpp::ases(v, vip)
            .into_iter()
            .filter(|a| a.used)
            .map(|a| (a.address, a.weight.unwrap_or(0)))
            .collect();
        have == want
    })
}

/// New flows per AS.
fn per_as(out: &[Delivered]) -> BTreeMap<IpAddr, usize> {
    let mut m = BTreeMap::new();
    for d in out {
        *m.entry(d.as_addr).or_insert(0) += 1;
    }
    m
}

fn set_enabled(m: &Maglevd, backend: &str, enabled: bool) {
    let c = client(&m.grpc_addr);
    let req = pb::BackendActionRequest { name: backend.into(), ..Default::default() };
    let r = if enabled { c.enable_backend(&req) } else { c.disable_backend(&req) };
    r.unwrap_or_else(|e| panic!("enable={enabled} {backend}: {e}"));
}

#[test]
fn new_flows_split_by_weight_and_never_reach_a_down_or_disabled_backend() {
    let Some(vpp) = Vpp::real_only("new_flows_split_by_weight") else { return };
    let mut lab = Lab::new(3);
    let m = start_maglevd(&vpp, &lab.config(&[100, 100, 50]));
    let (b1, b2, b3) = (lab.addr(1), lab.addr(2), lab.addr(3));
    wait_weights(&vpp, &[(b1, 100), (b2, 100), (b3, 50)]);
    let mut pg = lab.pg(&vpp);

    // 3,000 new flows from distinct clients split 100:100:50, within 15%.
    let out = pg.send(&vpp, &syns_from(Ipv4Addr::new(10, 1, 0, 1), 3000, vip_addr(), 80));
    assert_eq!(out.len(), 3000, "every SYN leaves for an AS");
    assert!(out.iter().all(|d| d.sport == 40000), "the client's packet is inside");
    let counts = per_as(&out);
    for (addr, weight) in [(b1, 100), (b2, 100), (b3, 50)] {
        let want = 3000.0 * weight as f64 / 250.0;
        let got = counts.get(&IpAddr::V4(addr)).copied().unwrap_or(0) as f64;
        assert!(
            (got - want).abs() <= 0.15 * want,
            "{addr} got {got} new flows, want {want} +-15%: {counts:?}"
        );
    }
    // VPP's own per-AS flow counts say the same as the capture.
    let vips = vpp.lb_vips();
    for a in Vpp::ases(&vips, VIP) {
        assert_eq!(a.flows, Some(counts[&a.address] as u64), "flows of {}: {vips:?}", a.address);
    }

    // b2 goes down: no new flow reaches it.
    lab.nginx[1].stop();
    wait_weights(&vpp, &[(b1, 100), (b2, 0), (b3, 50)]);
    let out = pg.send(&vpp, &syns_from(Ipv4Addr::new(10, 2, 0, 1), 1000, vip_addr(), 80));
    let counts = per_as(&out);
    assert_eq!(out.len(), 1000, "{counts:?}");
    assert!(!counts.contains_key(&IpAddr::V4(b2)), "new flows reached the down backend: {counts:?}");
    assert!(counts[&IpAddr::V4(b1)] > counts[&IpAddr::V4(b3)], "{counts:?}");

    // The operator disables b1: only b3 gets new flows.
    set_enabled(&m, "b1", false);
    wait_weights(&vpp, &[(b1, 0), (b2, 0), (b3, 50)]);
    let out = pg.send(&vpp, &syns_from(Ipv4Addr::new(10, 3, 0, 1), 1000, vip_addr(), 80));
    let counts = per_as(&out);
    assert_eq!(
        counts,
        BTreeMap::from([(IpAddr::V4(b3), 1000)]),
        "new flows reached a disabled or down backend"
    );
}

#[test]
fn a_down_backend_loses_its_flows_with_flush_on_down_and_keeps_them_without() {
    let Some(vpp) = Vpp::real_only("flush_on_down") else { return };
    let mut lab = Lab::new(2);
    let mut config = lab.config_head(2);
    config.push_str("  frontends:\n");
    for (name, addr, flush) in [("flush", "192.0.2.1", true), ("drain", "192.0.2.2", false)] {
        let _ = write!(
            config,
            "    {name}:
      address: {addr}
      protocol: tcp
      port: 80
      flush-on-down: {flush}
      pools:
        - name: main
          backends: {{b1: {{}}, b2: {{}}}}
",
        );
    }
    let _m = start_maglevd(&vpp, &config);
    let (b1, b2) = (lab.addr(1), lab.addr(2));
    for vip in ["192.0.2.1/32", "192.0.2.2/32"] {
        wait_vip_weights(&vpp, vip, &[(b1, 100), (b2, 100)]);
    }
    let mut pg = lab.pg(&vpp);
    let flush_vip = IpAddr::from([192, 0, 2, 1]);
    let drain_vip = IpAddr::from([192, 0, 2, 2]);
    let mut syns = syns_from(Ipv4Addr::new(10, 5, 0, 1), 400, flush_vip, 80);
    syns.extend(syns_from(Ipv4Addr::new(10, 6, 0, 1), 400, drain_vip, 80));
    let first = pg.send(&vpp, &syns);
    assert_eq!(first.len(), 800);
    // Clients 10.5.x.x use the flushing VIP, 10.6.x.x the other.
    let flushing = |src: IpAddr| matches!(src, IpAddr::V4(v) if v.octets()[1] == 5);
    assert!(first.iter().all(|d| d.dst == if flushing(d.src) { flush_vip } else { drain_vip }));
    let before: BTreeMap<IpAddr, IpAddr> = first.iter().map(|d| (d.src, d.as_addr)).collect();
    let on_b2 =
        |flush: bool| before.iter().filter(|(s, a)| flushing(**s) == flush && **a == IpAddr::V4(b2)).count();
    assert!(on_b2(true) > 100 && on_b2(false) > 100, "both VIPs sent flows to b2: {before:?}");

    // b2 dies. The same clients send their next packet.
    lab.nginx[1].stop();
    for vip in ["192.0.2.1/32", "192.0.2.2/32"] {
        wait_vip_weights(&vpp, vip, &[(b1, 100), (b2, 0)]);
    }
    let acks: Vec<TcpPacket> = syns.iter().map(|p| TcpPacket { flags: ACK, ..*p }).collect();
    let second = pg.send(&vpp, &acks);
    assert_eq!(second.len(), 800);
    let mut moved = 0;
    for d in &second {
        let was = before[&d.src];
        if flushing(d.src) {
            // flush-on-down: every flow is on b1 now.
            assert_eq!(d.as_addr, IpAddr::V4(b1), "a flushed flow of {} stayed on {was}", d.src);
        } else {
            // No flush: established flows keep their AS, even the dead one.
            assert_eq!(d.as_addr, was, "an established flow of {} moved", d.src);
        }
        moved += usize::from(d.as_addr != was);
    }
    assert_eq!(moved, on_b2(true), "exactly the flushed flows of b2 moved");
    let vips = vpp.lb_vips();
    let flows = |vip: &str| {
        Vpp::ases(&vips, vip).into_iter().find(|a| a.address == IpAddr::V4(b2)).and_then(|a| a.flows)
    };
    assert_eq!(flows("192.0.2.2/32"), Some(on_b2(false) as u64), "{vips:?}");
    assert_eq!(flows("192.0.2.1/32"), Some(0), "the flush evicted b2's flows: {vips:?}");
}

#[test]
fn a_sticky_frontend_keeps_each_client_on_one_backend_whatever_its_ports() {
    let Some(vpp) = Vpp::real_only("sticky") else { return };
    let lab = Lab::new(3);
    let mut config = lab.config_head(3);
    config.push_str("  frontends:\n");
    for (name, addr, sticky) in [("sticky", "192.0.2.1", true), ("plain", "192.0.2.2", false)] {
        let _ = write!(
            config,
            "    {name}:
      address: {addr}
      protocol: tcp
      port: 80
      src-ip-sticky: {sticky}
      pools:
        - name: main
          backends: {{b1: {{}}, b2: {{}}, b3: {{}}}}
",
        );
    }
    let _m = start_maglevd(&vpp, &config);
    let all = [(lab.addr(1), 100), (lab.addr(2), 100), (lab.addr(3), 100)];
    let vips = wait_vip_weights(&vpp, "192.0.2.1/32", &all);
    assert!(vips.iter().any(|v| v.src_ip_sticky && v.addr == IpAddr::V4(vip_addr())), "{vips:?}");
    wait_vip_weights(&vpp, "192.0.2.2/32", &all);
    let mut pg = lab.pg(&vpp);

    // 200 clients, each opening connections from four source ports, to both VIPs.
    let mut syns = Vec::new();
    for vip in [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)] {
        for p in syns_from(Ipv4Addr::new(10, 7, 0, 1), 200, vip, 80) {
            syns.extend((0..4).map(|i| TcpPacket { sport: 40000 + i, ..p }));
        }
    }
    let out = pg.send(&vpp, &syns);
    assert_eq!(out.len(), syns.len());
    let spread = |vip: Ipv4Addr| -> usize {
        let mut per_client: BTreeMap<IpAddr, std::collections::BTreeSet<IpAddr>> = BTreeMap::new();
        for d in out.iter().filter(|d| d.dst == IpAddr::V4(vip)) {
            per_client.entry(d.src).or_default().insert(d.as_addr);
        }
        assert_eq!(per_client.len(), 200);
        per_client.values().filter(|ases| ases.len() > 1).count()
    };
    assert_eq!(spread(Ipv4Addr::new(192, 0, 2, 1)), 0, "a sticky VIP sent one client to several backends");
    let plain = spread(Ipv4Addr::new(192, 0, 2, 2));
    assert!(plain > 100, "without stickiness a client's connections spread: {plain} of 200 did");
}

#[test]
fn ipv6_backends_behind_ipv6_and_ipv4_vips_get_their_share_over_gre6() {
    let Some(vpp) = Vpp::real_only("ipv6") else { return };
    // Backends without a health check are up; one is disabled later.
    let ases: Vec<Ipv6Addr> = (1..=3).map(|h| format!("2001:db8:99::{h}").parse().expect("ip")).collect();
    let mut config = String::from(
        "maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::254
      startup-min-delay: 0s
      startup-max-delay: 1s
  backends:
",
    );
    for (i, a) in ases.iter().enumerate() {
        let _ = writeln!(config, "    v{}: {{address: \"{a}\"}}", i + 1);
    }
    config.push_str("  frontends:\n");
    for (name, addr) in [("web6", "\"2001:db8:1::1\""), ("web4", "192.0.2.1")] {
        let _ = write!(
            config,
            "    {name}:
      address: {addr}
      protocol: tcp
      port: 80
      pools:
        - name: main
          backends: {{v1: {{weight: 100}}, v2: {{weight: 100}}, v3: {{weight: 50}}}}
"
        );
    }
    let m = start_maglevd(&vpp, &config);
    let weights =
        |w: [u8; 3]| -> BTreeMap<IpAddr, u8> { ases.iter().map(|a| IpAddr::V6(*a)).zip(w).collect() };
    let wait = |vip: &str, want: BTreeMap<IpAddr, u8>| {
        vpp.wait_lb(&format!("{vip} weights {want:?}"), WAIT, |v| {
            let have: BTreeMap<IpAddr, u8> = Vpp::ases(v, vip)
                .into_iter()
                .filter(|a| a.used)
                .map(|a| (a.address, a.weight.unwrap_or(0)))
                .collect();
            have == want
        })
    };
    let vips = wait("2001:db8:1::1/128", weights([100, 100, 50]));
    wait("192.0.2.1/32", weights([100, 100, 50]));
    let types: Vec<String> = vips.iter().filter(|v| !v.removed).map(|v| v.vip_type.to_string()).collect();
    assert!(types.contains(&"ip6-gre6".to_string()) && types.contains(&"ip4-gre6".to_string()), "{types:?}");

    let mut pg = Pg::new(&vpp, "2001:db8:99::254".parse::<Ipv6Addr>().expect("ip"), &ases);
    let vip6: Ipv6Addr = "2001:db8:1::1".parse().expect("ip");
    let out = pg.send(&vpp, &syns_from("2001:db8:5::1".parse::<Ipv6Addr>().expect("ip"), 3000, vip6, 80));
    assert_eq!(out.len(), 3000, "every SYN leaves for an AS over GRE6");
    let counts = per_as(&out);
    for (a, weight) in ases.iter().zip([100.0, 100.0, 50.0]) {
        let want = 3000.0 * weight / 250.0;
        let got = counts.get(&IpAddr::V6(*a)).copied().unwrap_or(0) as f64;
        assert!((got - want).abs() <= 0.15 * want, "{a} got {got} new flows, want {want} +-15%: {counts:?}");
    }

    // v2 disabled: no new IPv6 flow reaches it.
    set_enabled(&m, "v2", false);
    wait("2001:db8:1::1/128", weights([100, 0, 50]));
    let out = pg.send(&vpp, &syns_from("2001:db8:6::1".parse::<Ipv6Addr>().expect("ip"), 1000, vip6, 80));
    let counts = per_as(&out);
    assert_eq!(out.len(), 1000, "{counts:?}");
    assert!(!counts.contains_key(&IpAddr::V6(ases[1])), "new flows reached the disabled backend: {counts:?}");

    // IPv4 clients of the IPv4 VIP reach the same IPv6 backends (pg0
    // takes IPv4 packets once it has an IPv4 address).
    wait("192.0.2.1/32", weights([100, 0, 50]));
    vpp.cli("set int ip address pg0 198.51.100.254/24");
    let out = pg.send(&vpp, &syns_from(Ipv4Addr::new(10, 8, 0, 1), 1000, vip_addr(), 80));
    let counts = per_as(&out);
    assert_eq!(out.len(), 1000, "{counts:?}");
    assert!(out.iter().all(|d| d.dst == IpAddr::V4(vip_addr())));
    assert!(!counts.contains_key(&IpAddr::V6(ases[1])), "new flows reached the disabled backend: {counts:?}");
    assert!(counts.len() == 2, "{counts:?}");
}

/// The per-AS bucket counts of the VIP, by AS address.
fn buckets(vpp: &Vpp) -> BTreeMap<IpAddr, (u8, u32)> {
    Vpp::ases(&vpp.lb_vips(), VIP)
        .into_iter()
        .filter(|a| a.used)
        .map(|a| (a.address, (a.weight.unwrap_or(0), a.buckets.unwrap_or(0))))
        .collect()
}

#[test]
fn two_vpps_from_one_config_hash_every_flow_to_the_same_as() {
    let Some(vpp_a) = Vpp::real_only("two_vpps_from_one_config") else { return };
    let vpp_b = Vpp::real_only("two_vpps_from_one_config").expect("real VPP");
    let mut lab = Lab::new(4);
    let config = lab.config(&[100, 100, 50, 20]);
    let [b1, b2, b3, b4] = [lab.addr(1), lab.addr(2), lab.addr(3), lab.addr(4)];
    let ma = start_maglevd(&vpp_a, &config);
    let mb = start_maglevd(&vpp_b, &config);
    let all_up = [(b1, 100), (b2, 100), (b3, 50), (b4, 20)];
    wait_weights(&vpp_a, &all_up);
    wait_weights(&vpp_b, &all_up);

    // Different histories that end in one state (b1 disabled, b3 down,
    // the rest up at their weights). A: disable b1, then b2, re-enable b2.
    set_enabled(&ma, "b1", false);
    wait_weights(&vpp_a, &[(b1, 0), (b2, 100), (b3, 50), (b4, 20)]);
    set_enabled(&ma, "b2", false);
    wait_weights(&vpp_a, &[(b1, 0), (b2, 0), (b3, 50), (b4, 20)]);
    set_enabled(&ma, "b2", true);
    wait_weights(&vpp_a, &[(b1, 0), (b2, 100), (b3, 50), (b4, 20)]);
    // b3 goes down for both.
    lab.nginx[2].stop();
    wait_weights(&vpp_a, &[(b1, 0), (b2, 100), (b3, 0), (b4, 20)]);
    wait_weights(&vpp_b, &[(b1, 100), (b2, 100), (b3, 0), (b4, 20)]);
    // B: its VPP restarts (maglevd rebuilds it from scratch with b3
    // down), then b4 is disabled and enabled again, then b1 disabled.
    let vpp_b = vpp_b.kill_and_restart();
    wait_weights(&vpp_b, &[(b1, 100), (b2, 100), (b3, 0), (b4, 20)]);
    set_enabled(&mb, "b4", false);
    wait_weights(&vpp_b, &[(b1, 100), (b2, 100), (b3, 0), (b4, 0)]);
    set_enabled(&mb, "b4", true);
    wait_weights(&vpp_b, &[(b1, 100), (b2, 100), (b3, 0), (b4, 20)]);
    set_enabled(&mb, "b1", false);
    let end = [(b1, 0), (b2, 100), (b3, 0), (b4, 20)];
    wait_weights(&vpp_b, &end);
    wait_weights(&vpp_a, &end);

    let (ba, bb) = (buckets(&vpp_a), buckets(&vpp_b));
    assert_eq!(ba, bb, "per-AS (weight, buckets) differ between the two VPPs");
    assert_eq!(ba.values().map(|(_, b)| b).sum::<u32>(), 1024, "{ba:?}");

    // The same 2,000 clients land on the same AS through either VPP.
    let syns = syns_from(Ipv4Addr::new(10, 4, 0, 1), 2000, vip_addr(), 80);
    let out_a = lab.pg(&vpp_a).send(&vpp_a, &syns);
    let out_b = lab.pg(&vpp_b).send(&vpp_b, &syns);
    assert_eq!((out_a.len(), out_b.len()), (2000, 2000));
    let map =
        |out: &[Delivered]| -> BTreeMap<IpAddr, IpAddr> { out.iter().map(|d| (d.src, d.as_addr)).collect() };
    let (fa, fb) = (map(&out_a), map(&out_b));
    let differ: Vec<_> = fa.iter().filter(|(src, a)| fb.get(src) != Some(a)).take(10).collect();
    assert!(differ.is_empty(), "flows mapped differently (first 10, A's view): {differ:?}");
    let counts = per_as(&out_a);
    assert!(!counts.contains_key(&IpAddr::V4(b1)) && !counts.contains_key(&IpAddr::V4(b3)), "{counts:?}");
}
