//! What maglevd reports about VPP: per-VIP counters (GetVPPLBCounters,
//! `maglevc show vpp lb counters` and /metrics) against VPP's own CLI and
//! stats segment, GetVPPInfo across a VPP restart, and the VPP metrics.
//! Real VPP counts real packets from its packet generator; vppsim counts
//! its synthetic traffic.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use maglev_proto::maglev as pb;
use testsupport::grpc::{client, wait_until};
use testsupport::metrics::{free_port, poll, promtool_check};
use testsupport::pg::{syns_from, Pg, TcpPacket, ACK};
use testsupport::{bin, Maglevd, MaglevdOpts, Vpp};
use vppapi::stats::StatsClient;

const WAIT: Duration = Duration::from_secs(20);

const CONFIG: &str = "\
maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      startup-min-delay: 0s
      startup-max-delay: 1s
  backends:
    s1: {address: 127.0.0.1}
    s2: {address: 127.0.0.2}
  frontends:
    web:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: main
          backends: {s1: {}, s2: {}}
    api:
      address: 192.0.2.2
      protocol: tcp
      port: 443
      pools:
        - name: main
          backends: {s2: {}}
";

fn start(sim: &Vpp, metrics_addr: &str) -> Maglevd {
    Maglevd::start(
        CONFIG,
        MaglevdOpts {
            vpp_api_addr: sim.api_socket.display().to_string(),
            vpp_stats_addr: sim.stats_socket.display().to_string(),
            metrics_addr: metrics_addr.to_string(),
            ..Default::default()
        },
    )
}

/// The counters of each VIP as VPP shows them: the lb counters from its
/// CLI (`show lb vips verbose`), the route's from its stats segment:
/// [first, next, untracked, no_server, fib_packets, fib_bytes] by prefix.
fn vpp_counters(vpp: &Vpp) -> BTreeMap<String, [u64; 6]> {
    let mut api = vpp.connect();
    let mut stats = StatsClient::connect(&vpp.stats_socket).expect("connect to VPP's stats segment");
    let mut out = BTreeMap::new();
    for vip in vpp.lb_vips() {
        if vip.removed {
            continue;
        }
        let cli = |name: &str| {
            vip.counters
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| *v)
                .unwrap_or_else(|| panic!("no `{name}' counter in the CLI: {vip:?}"))
        };
        let route = api.ip_route_lookup(0, vip.addr, vip.len, true).expect("route of the VIP");
        let fib = stats.combined_counter_sum("/net/route/to", route.stats_index).expect("/net/route/to");
        out.insert(
            format!("{}/{}", vip.addr, vip.len),
            [
                cli("first session packet"),
                cli("packet from existing sessions"),
                cli("untracked packet"),
                cli("no server configured"),
                fib.packets,
                fib.bytes,
            ],
        );
    }
    out
}

/// Real packets through real VPP: new flows and packets of existing ones
/// to both VIPs, in different numbers so that the VIPs cannot be mixed up;
/// then, with s2 (api's only backend) disabled, new flows to api that VPP
/// has no server for.
fn send_real_traffic(vpp: &Vpp, c: &maglev_proto::maglev_grpc::MaglevClient) {
    vpp.wait_lb("both VIPs with their ASes", WAIT, |v| {
        !Vpp::ases(v, "192.0.2.1/32").is_empty() && !Vpp::ases(v, "192.0.2.2/32").is_empty()
    });
    let mut pg = Pg::new(
        vpp,
        Ipv4Addr::new(127, 0, 0, 254),
        &[Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 2)],
    );
    let web = syns_from(Ipv4Addr::new(10, 1, 0, 1), 40, Ipv4Addr::new(192, 0, 2, 1), 80);
    let api = syns_from(Ipv4Addr::new(10, 2, 0, 1), 12, Ipv4Addr::new(192, 0, 2, 2), 443);
    let again =
        |p: &[TcpPacket], n| p.iter().take(n).map(|p| TcpPacket { flags: ACK, ..*p }).collect::<Vec<_>>();
    let mut all = web.clone();
    all.extend(api.iter().copied());
    all.extend(again(&web, 15));
    all.extend(again(&api, 5));
    let out = pg.send(vpp, &all);
    assert_eq!(out.len(), all.len(), "every packet reaches an AS: {out:?}");

    let req = pb::BackendActionRequest { name: "s2".into(), ..Default::default() };
    c.disable_backend(&req).expect("DisableBackend");
    vpp.wait_lb("api without a server", WAIT, |v| {
        Vpp::ases(v, "192.0.2.2/32").iter().all(|a| a.weight == Some(0) || !a.used)
    });
    let dark = syns_from(Ipv4Addr::new(10, 3, 0, 1), 7, Ipv4Addr::new(192, 0, 2, 2), 443);
    let out = pg.send(vpp, &dark);
    assert!(out.is_empty(), "VPP has no server for api: {out:?}");
}

fn reported(c: &pb::VPPLBCounters) -> BTreeMap<String, [u64; 6]> {
    c.vips
        .iter()
        .map(|v| (v.prefix.clone(), [v.first, v.next, v.untracked, v.no_server, v.fib_packets, v.fib_bytes]))
        .collect()
}

#[test]
fn counters_match_vpp_per_vip_in_the_api_the_cli_and_the_metrics() {
    let sim = Vpp::start_with(&["--traffic"]);
    let metrics_addr = format!("127.0.0.1:{}", free_port("127.0.0.1"));
    let m = start(&sim, &metrics_addr);
    let c = client(&m.grpc_addr);
    if sim.is_real() {
        send_real_traffic(&sim, &c);
    } else {
        // Let synthetic traffic reach both VIPs, then freeze it so values can be compared exactly.
        wait_until("traffic on both VIPs", WAIT, || {
            let got = c.get_vpplb_counters(&pb::GetVPPLBCountersRequest::new()).map_err(|e| e.to_string())?;
            let r = reported(&got);
            if r.len() == 2 && r.values().all(|v| v[0] > 0 && v[1] > 0 && v[4] > 0) {
                Ok(())
            } else {
                Err(format!("{r:?}"))
            }
        });
        sim.control("traffic off");
    }
    let truth = vpp_counters(&sim);
    if sim.is_real() {
        assert_eq!(truth["192.0.2.1/32"][..2], [40, 15], "{truth:?}");
        assert_eq!(truth["192.0.2.2/32"][..4], [12, 5, 0, 7], "{truth:?}");
    }
    assert_eq!(truth.len(), 2, "{truth:?}");
    assert_ne!(
        truth["192.0.2.1/32"], truth["192.0.2.2/32"],
        "the two VIPs must differ for the test to mean anything"
    );
    let got = wait_until("GetVPPLBCounters equal to the stats segment", WAIT, || {
        let got = c.get_vpplb_counters(&pb::GetVPPLBCountersRequest::new()).map_err(|e| e.to_string())?;
        if reported(&got) == truth {
            Ok(got)
        } else {
            Err(format!("reported {:?}, stats segment {truth:?}", reported(&got)))
        }
    });
    let frontends: BTreeMap<String, String> =
        got.vips.iter().map(|v| (v.prefix.clone(), v.frontend.clone())).collect();
    assert_eq!(frontends["192.0.2.1/32"], "web");
    assert_eq!(frontends["192.0.2.2/32"], "api");

    let out = Command::new(bin("maglevc"))
        .args(["--server", &m.grpc_addr, "show", "vpp", "lb", "counters"])
        .output()
        .expect("run maglevc");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (prefix, fe) in [("192.0.2.1/32", "web"), ("192.0.2.2/32", "api")] {
        let v = truth[prefix];
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(fe))
            .unwrap_or_else(|| panic!("no line for {fe}:\n{text}"));
        let numbers: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        for n in [v[0], v[1], v[4], v[5]] {
            assert!(numbers.contains(&n), "{fe}: {n} missing from {line:?}\n{text}");
        }
    }

    let s = testsupport::metrics::scrape(&metrics_addr);
    for (prefix, fe) in [("192.0.2.1/32", "web"), ("192.0.2.2/32", "api")] {
        let v = truth[prefix];
        for (i, kind) in ["first", "next", "untracked", "no_server"].into_iter().enumerate() {
            let got = s.value("maglev_vip_packets_total", &[("frontend", fe), ("kind", kind)]);
            assert_eq!(got, v[i] as f64, "{fe} {kind}:\n{}", s.body);
        }
        assert_eq!(s.value("maglev_vip_route_packets_total", &[("frontend", fe)]), v[4] as f64, "{}", s.body);
        assert_eq!(s.value("maglev_vip_route_bytes_total", &[("frontend", fe)]), v[5] as f64, "{}", s.body);
    }
}

/// A sync kind summed over both scopes (`all`, `vip`).
fn lbsync(s: &testsupport::metrics::Scrape, kind: &str) -> f64 {
    ["all", "vip"]
        .iter()
        .map(|scope| s.get("maglev_vpp_lbsync_total", &[("scope", scope), ("kind", kind)]).unwrap_or(0.0))
        .sum()
}

#[test]
fn get_vpp_info_follows_a_vpp_restart_and_metrics_follow_the_connection() {
    let sim = Vpp::start();
    let version = sim.connect().show_version().expect("show_version").version;
    let metrics_addr = format!("127.0.0.1:{}", free_port("127.0.0.1"));
    let m = start(&sim, &metrics_addr);
    let c = client(&m.grpc_addr);
    // The boot time comes from the stats segment, read apart from the API.
    let first = wait_until("GetVPPInfo with VPP's boot time", WAIT, || {
        let i = c.get_vpp_info(&pb::GetVPPInfoRequest::new()).map_err(|e| e.to_string())?;
        if i.boottime_ns > 0 {
            Ok(i)
        } else {
            Err(format!("{i:?}"))
        }
    });
    assert!(first.pid > 0, "{first:?}");

    m.daemon.wait_for(&["vpp-warmup-done"], WAIT);
    // Connected: the VPP gauges, the info labels, and counters of the sync.
    let s = poll(&metrics_addr, "VPP connected and synced", WAIT, |s| {
        (s.get("maglev_vpp_connected", &[]) == Some(1.0) && lbsync(s, "vip_added") >= 2.0)
            .then(|| testsupport::metrics::scrape(&metrics_addr))
    });
    assert!(s.get("maglev_vpp_info", &[("version", version.as_str())]) == Some(1.0), "{}", s.body);
    assert!(s.value("maglev_vpp_uptime_seconds", &[]) >= 0.0);
    assert!(s.value("maglev_vpp_connected_seconds", &[]) >= 0.0);
    let api_before = s.value("maglev_vpp_api_total", &[("msg", "lb_vip_dump"), ("direction", "send")]);
    let added_before = lbsync(&s, "as_added");
    promtool_check(&s.body);

    // A sync after a change made behind maglevd's back moves both families.
    let mut api = sim.connect();
    let vip = vppapi::lb::VipKey::host("192.0.2.2".parse().expect("ip"), 6, 443);
    api.lb_add_del_as_v2(&vip, "127.0.0.2".parse().expect("ip"), 0, true, true).expect("delete AS");
    // An empty frontend name asks for a full sync.
    c.sync_vpplb_state(&pb::SyncVPPLBStateRequest::new()).expect("SyncVPPLBState");
    let s = testsupport::metrics::scrape(&metrics_addr);
    assert_eq!(
        s.value("maglev_vpp_lbsync_total", &[("scope", "all"), ("kind", "as_added")]),
        1.0,
        "{}",
        s.body
    );
    assert_eq!(lbsync(&s, "as_added"), added_before + 1.0, "{}", s.body);
    assert!(s.value("maglev_vpp_api_total", &[("msg", "lb_vip_dump"), ("direction", "send")]) > api_before);

    // VPP restarts: a new boot time in GetVPPInfo.
    std::thread::sleep(Duration::from_millis(1100)); // boot time has whole-second resolution
    let sim = sim.kill_and_restart();
    let second = wait_until("GetVPPInfo after the restart", WAIT, || {
        let i = c.get_vpp_info(&pb::GetVPPInfoRequest::new()).map_err(|e| e.to_string())?;
        if i.boottime_ns > first.boottime_ns {
            Ok(i)
        } else {
            Err(format!("{i:?}"))
        }
    });
    assert!(second.connecttime_ns > first.connecttime_ns);

    // VPP gone: the metrics say so.
    drop(sim);
    poll(&metrics_addr, "maglev_vpp_connected 0 after VPP stopped", WAIT, |s| {
        (s.get("maglev_vpp_connected", &[]) == Some(0.0)).then_some(())
    });
}
