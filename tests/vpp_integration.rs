//! maglevd programming VPP: real maglevd, nginx backends, and the VPP of
//! the suite (real VPP under `make test-vpp`, vppsim under `make test`).
//! VPP's own record of the requests it received (vppsim's request log,
//! real VPP's API trace) is the witness of what maglevd wrote, and its
//! `show lb vips verbose` the witness of what it holds.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use testsupport::vpp::Request;
use testsupport::{loopback_net, Maglevd, MaglevdOpts, Nginx, Vpp};
use vppapi::lb_cli::VipCliInfo;

const WAIT: Duration = Duration::from_secs(15);

struct Lab {
    net: [u8; 3],
    nginx: Vec<Nginx>,
}

impl Lab {
    /// One nginx per backend b1..b4 on 127.x.y.1..4, port 8080.
    fn new() -> Lab {
        let net = loopback_net();
        let nginx = (1..=4).map(|h| Nginx::http(&[Lab::addr_in(net, h)], 8080)).collect();
        Lab { net, nginx }
    }

    fn addr_in(net: [u8; 3], host: u8) -> String {
        format!("{}.{}.{}.{host}", net[0], net[1], net[2])
    }

    fn addr(&self, host: u8) -> String {
        Lab::addr_in(self.net, host)
    }
}

#[derive(Clone)]
struct Cfg {
    sync_interval: &'static str,
    min_delay: &'static str,
    max_delay: &'static str,
    sticky: bool,
    b1_weight: u8,
    /// (name, host) of the fallback pool of `web`.
    fallback: (&'static str, u8),
    api_frontend: bool,
    web6: bool,
}

impl Default for Cfg {
    fn default() -> Self {
        Cfg {
            sync_interval: "1m",
            min_delay: "0s",
            max_delay: "2s",
            sticky: false,
            b1_weight: 50,
            fallback: ("b3", 3),
            api_frontend: false,
            web6: true,
        }
    }
}

fn config(lab: &Lab, c: &Cfg) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "maglev:
  healthchecker: {{workers: 4}}
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::254
      sync-interval: {}
      startup-min-delay: {}
      startup-max-delay: {}
  healthchecks:
    http:
      type: http
      port: 8080
      interval: 200ms
      timeout: 300ms
      rise: 2
      fall: 2
      jitter-percent: 0
  backends:
",
        c.sync_interval, c.min_delay, c.max_delay
    );
    let mut hosts = vec![("b1", 1u8), ("b2", 2)];
    hosts.push(c.fallback);
    if c.api_frontend && c.fallback.0 != "b4" {
        hosts.push(("b4", 4));
    }
    for (name, host) in &hosts {
        let _ = writeln!(s, "    {name}: {{address: {}, healthcheck: http}}", lab.addr(*host));
    }
    if c.web6 {
        s.push_str("    v6: {address: \"2001:db8::10\"}\n");
    }
    let _ = write!(
        s,
        "  frontends:
    web:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      src-ip-sticky: {}
      flush-on-down: true
      pools:
        - name: primary
          backends:
            b2: {{weight: 100}}
            b1: {{weight: {}}}
        - name: fallback
          backends:
            {}: {{}}
",
        c.sticky, c.b1_weight, c.fallback.0
    );
    if c.api_frontend {
        s.push_str(
            "    api:
      address: 192.0.2.2
      protocol: tcp
      port: 443
      pools:
        - name: main
          backends:
            b4: {}
",
        );
    }
    if c.web6 {
        s.push_str(
            "    web6:
      address: 2001:db8::1
      protocol: any
      pools:
        - name: main
          backends:
            v6: {}
",
        );
    }
    s
}

fn start_maglevd(sim: &Vpp, config: &str, level: &'static str) -> Maglevd {
    Maglevd::start(
        config,
        MaglevdOpts {
            log_level: level,
            vpp_api_addr: sim.api_socket.display().to_string(),
            vpp_stats_addr: sim.stats_socket.display().to_string(),
            ..Default::default()
        },
    )
}

/// The used ASes of the live VIP `vip` with their weights.
fn weights(state: &[VipCliInfo], vip: &str) -> Vec<(String, u32)> {
    Vpp::ases(state, vip)
        .into_iter()
        .filter(|a| a.used)
        .map(|a| (a.address.to_string(), u32::from(a.weight.unwrap_or(0))))
        .collect()
}

/// Waits until the used ASes of `vip` have exactly these weights.
fn wait_weights(sim: &Vpp, vip: &str, want: &[(String, u32)]) -> Vec<VipCliInfo> {
    let mut want = want.to_vec();
    want.sort();
    sim.wait_lb(&format!("{vip} = {want:?}"), WAIT, |st| {
        let mut have = weights(st, vip);
        have.sort();
        have == want
    })
}

/// Polls the request log until a request matches (bounded); returns it and
/// when it was first seen.
fn wait_request(sim: &Vpp, from: usize, what: &str, pred: impl Fn(&Request) -> bool) -> (Request, Instant) {
    let deadline = Instant::now() + WAIT;
    loop {
        let reqs = sim.requests();
        if let Some(r) = reqs.iter().skip(from).find(|r| pred(r)) {
            return (r.clone(), Instant::now());
        }
        assert!(
            Instant::now() < deadline,
            "no request {what} within {WAIT:?}; last requests:\n{}",
            tail(&reqs)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn tail(reqs: &[Request]) -> String {
    reqs.iter().rev().take(20).rev().map(|r| format!("{r:?}")).collect::<Vec<_>>().join("\n")
}

fn is_set_weight(r: &Request, as_addr: &str, weight: u32) -> bool {
    r.msg() == "lb_as_set_weight"
        && r.get("as").as_deref() == Some(as_addr)
        && r.get("weight") == Some(weight.to_string())
}

#[test]
fn empty_vpp_gets_exactly_the_config_in_numeric_order() {
    let lab = Lab::new();
    let sim = Vpp::start();
    let m = start_maglevd(&sim, &config(&lab, &Cfg { min_delay: "500ms", ..Default::default() }), "info");
    let st = wait_weights(&sim, "192.0.2.1/32", &[(lab.addr(1), 50), (lab.addr(2), 100), (lab.addr(3), 0)]);
    wait_weights(&sim, "2001:db8::1/128", &[("2001:db8::10".into(), 100)]);
    let vips: Vec<&VipCliInfo> = st.iter().filter(|v| !v.removed).collect();
    assert_eq!(vips.len(), 2, "exactly the config's VIPs: {st:?}");
    let conf = sim.connect().lb_conf_get().expect("lb_conf_get");
    assert_eq!(conf.ip4_src_address.to_string(), "192.0.2.254", "lb_conf pushed: {conf:?}");

    let reqs = sim.requests();
    let adds: Vec<String> = reqs
        .iter()
        .filter(|r| r.msg() == "lb_add_del_as_v2" && r.get("vip").as_deref() == Some("192.0.2.1/32"))
        .filter_map(|r| r.get("as"))
        .collect();
    let mut sorted = adds.clone();
    sorted.sort_by_key(|a| a.parse::<std::net::IpAddr>().expect("AS address"));
    assert_eq!(adds, sorted, "ASes must be added in numeric address order");
    assert_eq!(adds.len(), 3, "each AS added once: {adds:?}");
    // Nothing was written before every backend of the frontend was known.
    let first_vip = reqs.iter().position(|r| r.msg() == "lb_add_del_vip_v2").expect("VIP added");
    assert!(
        !reqs[first_vip..].iter().any(|r| r.msg() == "lb_as_set_weight"),
        "a fresh VPP needs no weight changes when the warmup waits for real states:\n{}",
        tail(&reqs)
    );
    m.daemon.wait_for(&["vpp-connect", "version="], WAIT);
    m.daemon.wait_for(&["vpp-lb-conf-set"], WAIT);
}

#[test]
fn backend_down_drains_at_once_and_failover_follows() {
    let mut lab = Lab::new();
    let sim = Vpp::start();
    let _m = start_maglevd(&sim, &config(&lab, &Cfg::default()), "info");
    let (b1, b2, b3) = (lab.addr(1), lab.addr(2), lab.addr(3));
    wait_weights(&sim, "192.0.2.1/32", &[(b1.clone(), 50), (b2.clone(), 100), (b3.clone(), 0)]);

    // b2 down: weight 0 with flush, within fall x interval + timeout + margin.
    let cursor = sim.requests().len();
    let stopped = Instant::now();
    lab.nginx[1].stop();
    let (r, seen) = wait_request(&sim, cursor, "set b2 to 0", |r| is_set_weight(r, &b2, 0));
    let took = seen.duration_since(stopped);
    assert!(took < Duration::from_millis(2 * 200 + 300 + 400), "b2 drained after {took:?}");
    assert_eq!(r.get("flush").as_deref(), Some("true"), "flush-on-down: {r:?}");

    // b1 down too: the primary pool has nobody up, the fallback takes over.
    lab.nginx[0].stop();
    wait_weights(&sim, "192.0.2.1/32", &[(b1.clone(), 0), (b2.clone(), 0), (b3.clone(), 100)]);

    // Recovery reverses both.
    lab.nginx[0].restart();
    wait_weights(&sim, "192.0.2.1/32", &[(b1.clone(), 50), (b2.clone(), 0), (b3.clone(), 0)]);
    lab.nginx[1].restart();
    wait_weights(&sim, "192.0.2.1/32", &[(b1, 50), (b2, 100), (b3, 0)]);
}

#[test]
fn restart_while_healthy_writes_nothing_during_warmup() {
    let lab = Lab::new();
    let sim = Vpp::start();
    let cfg = config(&lab, &Cfg { min_delay: "300ms", max_delay: "3s", ..Default::default() });
    let mut first = start_maglevd(&sim, &cfg, "info");
    wait_weights(&sim, "192.0.2.1/32", &[(lab.addr(1), 50), (lab.addr(2), 100), (lab.addr(3), 0)]);
    first.daemon.wait_for(&["vpp-warmup-done"], WAIT);
    first.daemon.stop();

    let cursor = sim.requests().len();
    let second = start_maglevd(&sim, &cfg, "info");
    second.daemon.wait_for(&["vpp-warmup-done"], WAIT);
    second.daemon.wait_for(&["vpp-lbsync scope=all"], WAIT);
    let reqs = sim.requests();
    let zero_for_healthy: Vec<&Request> = reqs[cursor..]
        .iter()
        .filter(|r| {
            let healthy = [lab.addr(1), lab.addr(2)];
            let addr = r.get("as").unwrap_or_default();
            healthy.contains(&addr)
                && (r.get("weight").as_deref() == Some("0") || r.get("is_del").as_deref() == Some("true"))
        })
        .collect();
    assert!(zero_for_healthy.is_empty(), "weight-0 writes for healthy backends: {zero_for_healthy:?}");
    let writes: Vec<&Request> = reqs[cursor..].iter().filter(|r| r.is_write()).collect();
    assert!(writes.is_empty(), "VPP already matched: a restart must write nothing: {writes:?}");
}

#[test]
fn reloads_converge_recreate_on_sticky_flip_and_resync_is_silent() {
    let lab = Lab::new();
    let sim = Vpp::start();
    let m = start_maglevd(&sim, &config(&lab, &Cfg::default()), "debug");
    wait_weights(&sim, "192.0.2.1/32", &[(lab.addr(1), 50), (lab.addr(2), 100), (lab.addr(3), 0)]);
    m.daemon.wait_for(&["vpp-warmup-done"], WAIT);

    let changed = Cfg {
        sticky: true,
        b1_weight: 80,
        fallback: ("b4", 4),
        api_frontend: true,
        web6: false,
        ..Default::default()
    };
    let text = config(&lab, &changed);
    let cursor = m.reload_with(&text);
    m.daemon.wait_for_from(cursor, &["vpp-lbsync-vip-recreate", "frontend=web", "src-ip-sticky"], WAIT);
    let st = wait_weights(&sim, "192.0.2.1/32", &[(lab.addr(1), 80), (lab.addr(2), 100), (lab.addr(4), 0)]);
    assert!(
        st.iter().any(|v| v.addr.to_string() == "192.0.2.1" && v.src_ip_sticky && !v.removed),
        "the VIP was recreated sticky: {st:?}"
    );
    wait_weights(&sim, "192.0.2.2/32", &[(lab.addr(4), 100)]);
    let st = sim.wait_lb("web6 deleted", WAIT, |st| Vpp::ases(st, "2001:db8::1/128").is_empty());
    assert!(!st.iter().any(|v| v.addr.to_string() == "2001:db8::1" && !v.removed), "web6 is gone: {st:?}");

    // The same file again: a full sync that finds nothing to do.
    let log_cursor = m.daemon.line_count();
    let req_cursor = sim.requests().len();
    let cursor = m.reload_with(&text);
    assert!(cursor >= log_cursor);
    m.daemon.wait_for_from(cursor, &["vpp-lbsync scope=all"], WAIT);
    let writes: Vec<Request> =
        sim.requests()[req_cursor..].iter().filter(|r| r.is_write()).cloned().collect();
    assert!(writes.is_empty(), "a second sync must send no write message: {writes:?}");
}

#[test]
fn drift_made_behind_our_back_is_repaired_by_the_periodic_sync() {
    let lab = Lab::new();
    let sim = Vpp::start();
    let m = start_maglevd(
        &sim,
        &config(&lab, &Cfg { sync_interval: "1s", min_delay: "0s", max_delay: "0s", ..Default::default() }),
        "info",
    );
    // Every backend known and synced: from now on only the timer syncs.
    for b in ["b1", "b2", "b3"] {
        m.daemon.wait_for(&["backend-transition", &format!("backend={b} "), "to=up"], WAIT);
    }
    wait_weights(&sim, "192.0.2.1/32", &[(lab.addr(1), 50), (lab.addr(2), 100), (lab.addr(3), 0)]);

    // Someone deletes b1's AS by hand.
    let cursor = m.daemon.line_count();
    let mut api =
        vppapi::client::Connection::connect(&sim.api_socket, &Default::default()).expect("connect to vppsim");
    let vip = vppapi::lb::VipKey::host("192.0.2.1".parse().expect("ip"), 6, 80);
    api.lb_add_del_as_v2(&vip, lab.addr(1).parse().expect("ip"), 0, true, true).expect("delete AS");
    wait_weights(&sim, "192.0.2.1/32", &[(lab.addr(1), 50), (lab.addr(2), 100), (lab.addr(3), 0)]);
    m.daemon.wait_for_from(cursor, &["vpp-lbsync scope=all", "as-added=1"], WAIT);
}

#[test]
fn vpp_killed_and_restarted_is_reconnected_and_rebuilt() {
    let lab = Lab::new();
    let sim = Vpp::start();
    let m = start_maglevd(&sim, &config(&lab, &Cfg::default()), "info");
    wait_weights(&sim, "192.0.2.1/32", &[(lab.addr(1), 50), (lab.addr(2), 100), (lab.addr(3), 0)]);
    let first = m.daemon.wait_for(&["vpp-stats-connect", "boottime="], WAIT);
    let boot = |l: &str| -> u64 {
        l.split_whitespace()
            .find_map(|w| w.strip_prefix("boottime="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    // VPP's boot time as maglevd reports it has whole-second resolution:
    // make the new one differ.
    std::thread::sleep(Duration::from_millis(1100));
    let cursor = m.daemon.line_count();
    let killed = Instant::now();
    let sim = sim.kill_and_restart();
    m.daemon.wait_for_from(cursor, &["vpp-disconnect"], WAIT);
    let again = m.daemon.wait_for_from(cursor, &["vpp-stats-connect", "boottime="], WAIT);
    let took = again.at.duration_since(killed);
    assert!(took < Duration::from_secs(8), "reconnected after {took:?} (retry every 5s)");
    assert!(boot(&again.text) > boot(&first.text), "new boot time: {} vs {}", again.text, first.text);
    wait_weights(&sim, "192.0.2.1/32", &[(lab.addr(1), 50), (lab.addr(2), 100), (lab.addr(3), 0)]);
}

#[test]
fn a_deleted_vip_not_yet_collected_does_not_hide_its_live_twin() {
    // VPP lists the ASes of a deleted VIP until it collects them, under
    // the same key as a VIP re-created since; when the new VIP took a
    // lower pool slot, the dead twin's ASes come last in lb_as_v2_dump.
    let lab = Lab::new();
    let vpp = Vpp::start();
    let mut c = vpp.connect();
    let web = vppapi::lb::VipKey::host("192.0.2.1".parse().expect("ip"), 6, 80);
    let other = vppapi::lb::VipKey::host("192.0.2.9".parse().expect("ip"), 6, 80);
    let settings = vppapi::lb::VipSettings::new(vppapi::types::LbEncapType::Gre4, false);
    let b1: std::net::IpAddr = lab.addr(1).parse().expect("ip");
    let b2: std::net::IpAddr = lab.addr(2).parse().expect("ip");
    c.lb_add_del_vip_v2(&other, &settings, false).expect("add VIP");
    c.lb_add_del_vip_v2(&web, &settings, false).expect("add VIP");
    for a in [b1, b2] {
        c.lb_add_del_as_v2(&web, a, 100, false, false).expect("add AS");
    }
    c.lb_add_del_vip_v2(&other, &settings, true).expect("delete VIP");
    vpp.collect_garbage(); // frees the first slot
    c.lb_add_del_vip_v2(&web, &settings, true).expect("delete VIP");
    c.lb_add_del_vip_v2(&web, &settings, false).expect("add VIP again, in the first slot");
    for a in [b1, b2] {
        c.lb_add_del_as_v2(&web, a, 100, false, false).expect("add AS");
    }
    let dump: Vec<(std::net::IpAddr, bool)> =
        c.lb_as_v2_dump().expect("dump").iter().map(|a| (a.address, a.in_use)).collect();
    assert_eq!(dump, [(b1, true), (b2, true), (b1, false), (b2, false)], "the live VIP first");

    // maglevd wants b1 alone at weight 100: it removes b2 and touches
    // nothing else (re-adding b1, which VPP holds, would fail).
    let cfg = format!(
        "maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      startup-min-delay: 0s
      startup-max-delay: 2s
  healthchecks:
    http: {{type: http, port: 8080, interval: 200ms, timeout: 300ms, rise: 2, fall: 2, jitter-percent: 0}}
  backends:
    b1: {{address: {}, healthcheck: http}}
  frontends:
    web:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: main
          backends: {{b1: {{}}}}
",
        lab.addr(1)
    );
    let cursor = vpp.requests().len();
    let m = start_maglevd(&vpp, &cfg, "info");
    wait_weights(&vpp, "192.0.2.1/32", &[(lab.addr(1), 100)]);
    m.daemon.wait_for(&["vpp-warmup-done"], WAIT);
    let writes: Vec<Request> = vpp.requests()[cursor..].iter().filter(|r| r.is_write()).cloned().collect();
    let as_writes: Vec<&Request> = writes.iter().filter(|r| r.msg() != "lb_conf").collect();
    assert_eq!(as_writes.len(), 1, "only b2's removal: {writes:?}");
    assert_eq!(
        (as_writes[0].msg(), as_writes[0].get("as"), as_writes[0].get("is_del")),
        ("lb_add_del_as_v2".to_string(), Some(lab.addr(2)), Some("true".to_string())),
        "{writes:?}"
    );
    assert!(
        !m.daemon.lines().iter().any(|l| l.text.contains("retval")),
        "VPP refused a write (re-adding an AS it holds is -81):\n{}",
        m.daemon.tail(30)
    );
}

#[test]
fn a_backend_readdressed_to_ipv6_recreates_the_vip_with_gre6() {
    let vpp = Vpp::start();
    let cfg = |address: &str| {
        format!(
            "maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      ipv6-src-address: 2001:db8::254
      startup-min-delay: 0s
      startup-max-delay: 1s
  backends:
    s1: {{address: \"{address}\"}}
  frontends:
    web:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: main
          backends: {{s1: {{}}}}
"
        )
    };
    let m = start_maglevd(&vpp, &cfg("10.0.0.1"), "info");
    let st = wait_weights(&vpp, "192.0.2.1/32", &[("10.0.0.1".into(), 100)]);
    assert!(st.iter().any(|v| !v.removed && v.vip_type.to_string() == "ip4-gre4"), "{st:?}");

    let cursor = m.reload_with(&cfg("2001:db8:99::1"));
    m.daemon.wait_for_from(cursor, &["vpp-lbsync-vip-recreate", "frontend=web", "encap"], WAIT);
    let st = wait_weights(&vpp, "192.0.2.1/32", &[("2001:db8:99::1".into(), 100)]);
    let live: Vec<String> = st.iter().filter(|v| !v.removed).map(|v| v.vip_type.to_string()).collect();
    assert_eq!(live, ["ip4-gre6"], "{st:?}");
    let lines = m.daemon.lines();
    assert!(!lines.iter().any(|l| l.text.contains("retval")), "VPP refused a write:\n{}", m.daemon.tail(30));
}

#[test]
fn legacy_vpp_without_weight_api_is_named_and_never_written() {
    // vppsim only: its --legacy mode stands in for a VPP older than the
    // weight API, which the suite's real VPP is not.
    let lab = Lab::new();
    let sim = Vpp::sim(&["--legacy"]);
    let m = start_maglevd(&sim, &config(&lab, &Cfg::default()), "info");
    let l = m.daemon.wait_for(&["vpp-not-writable"], WAIT);
    assert!(l.text.contains("lb_add_del_as_v2") && l.text.contains("26.06"), "{}", l.text);
    m.daemon.wait_for(&["vpp-warmup-done"], WAIT);
    // Give it a couple of probe rounds and transitions.
    let _ = m.daemon.try_wait_for_from(m.daemon.line_count(), &["no-such-line"], Duration::from_millis(600));
    let writes: Vec<Request> = sim.requests().into_iter().filter(|r| r.is_write()).collect();
    assert!(writes.is_empty(), "nothing may be written to a VPP without the weight API: {writes:?}");
    m.daemon.signal(Signal::SIGHUP);
}

/// An event-driven sync plans against what the VPP thread knows VPP holds:
/// a transition costs its own write and no read of VPP (PRODUCT.md §7.5).
#[test]
fn a_transition_writes_its_change_without_reading_vpp() {
    let mut lab = Lab::new();
    let sim = Vpp::start();
    let _m = start_maglevd(&sim, &config(&lab, &Cfg::default()), "info");
    let b2 = lab.addr(2);
    wait_weights(&sim, "192.0.2.1/32", &[(lab.addr(1), 50), (b2.clone(), 100), (lab.addr(3), 0)]);
    // The counters read VPP once after VIPs were added (for their pool
    // indexes); after that nothing reads VPP before the periodic sync (1m).
    let last_vip_add =
        sim.requests().iter().rposition(|r| r.msg() == "lb_add_del_vip_v2").expect("the VIPs were added");
    wait_request(&sim, last_vip_add, "the counters' read of the new VIPs", |r| r.msg() == "cli_inband");
    let cursor = sim.requests().len();
    lab.nginx[1].stop();
    wait_request(&sim, cursor, "set b2 to 0", |r| is_set_weight(r, &b2, 0));
    let reqs = sim.requests();
    let upto = cursor + reqs[cursor..].iter().position(|r| is_set_weight(r, &b2, 0)).expect("the write");
    let window = &reqs[cursor..=upto];
    let reads: Vec<&Request> = window
        .iter()
        .filter(|r| matches!(r.msg().as_str(), "lb_vip_dump" | "lb_as_v2_dump" | "cli_inband"))
        .collect();
    assert!(reads.is_empty(), "the transition's sync read VPP: {reads:?}");
    let writes: Vec<&Request> = window.iter().filter(|r| r.is_write()).collect();
    assert_eq!(writes.len(), 1, "only the change is written: {writes:?}");
}
