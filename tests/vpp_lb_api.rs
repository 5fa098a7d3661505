//! VPP's lb API as VPP answers it, through this crate's client: the life
//! cycle of VIPs and ASes with VPP's return codes, bucket counts, the
//! dumps, routes and counters, and the CLI text of `show lb vips verbose`
//! (the `lb_cli` parser's fixtures). Runs against real VPP
//! (`make test-vpp`) and vppsim (`make test`): every expectation here was
//! first read from real VPP, so vppsim is held to it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use testsupport::Vpp;
use vppapi::client::{Connection, LbGlobalConf};
use vppapi::error::ApiError;
use vppapi::lb::{VipKey, VipSettings};
use vppapi::stats::{EntryType, StatsClient, Value};
use vppapi::types::LbEncapType;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn retval<T: std::fmt::Debug>(r: Result<T, ApiError>) -> i32 {
    match r {
        Err(e) => e.retval().unwrap_or_else(|| panic!("expected a retval error, got {e}")),
        Ok(v) => panic!("expected a retval error, got Ok({v:?})"),
    }
}

fn settings(encap: LbEncapType, sticky: bool) -> VipSettings {
    VipSettings { new_flows_table_length: 1024, ..VipSettings::new(encap, sticky) }
}

fn conf() -> LbGlobalConf {
    LbGlobalConf {
        ip4_src_address: Ipv4Addr::new(10, 255, 0, 1),
        ip6_src_address: "2001:db8::1".parse::<Ipv6Addr>().expect("address"),
        sticky_buckets_per_core: 4096,
        flow_timeout: 20,
    }
}

#[test]
fn lb_life_cycle_with_vpp_return_codes() {
    let vpp = Vpp::start();
    let mut c = vpp.connect();
    assert_eq!(c.control_ping().expect("control_ping"), vpp.pid(), "control_ping_reply carries VPP's pid");
    let v = c.show_version().expect("show_version");
    assert_eq!(v.program, "vpe");

    let conf = conf();
    c.lb_conf(&conf).expect("lb_conf");
    assert_eq!(c.lb_conf_get().expect("lb_conf_get"), conf);
    let keep = LbGlobalConf { sticky_buckets_per_core: u32::MAX, flow_timeout: u32::MAX, ..conf };
    c.lb_conf(&keep).expect("lb_conf");
    assert_eq!(c.lb_conf_get().expect("lb_conf_get"), conf, "0xffffffff keeps the values");
    assert_eq!(retval(c.lb_conf(&LbGlobalConf { sticky_buckets_per_core: 1000, ..conf })), -70);

    // VIPs.
    let vip = VipKey::host(ip("192.0.2.1"), 6, 80);
    c.lb_add_del_vip_v2(&vip, &settings(LbEncapType::Gre4, false), false).expect("add VIP");
    assert_eq!(retval(c.lb_add_del_vip_v2(&vip, &settings(LbEncapType::Gre4, false), false)), -81);
    let all_ports = VipKey::host(ip("192.0.2.1"), 255, 0);
    assert_eq!(retval(c.lb_add_del_vip_v2(&all_ports, &settings(LbEncapType::Gre4, false), false)), -81);
    let sibling = VipKey::host(ip("192.0.2.1"), 6, 443);
    assert_eq!(retval(c.lb_add_del_vip_v2(&sibling, &settings(LbEncapType::Gre6, false), false)), -73);
    let odd = VipSettings { new_flows_table_length: 1000, ..settings(LbEncapType::Gre4, false) };
    assert_eq!(retval(c.lb_add_del_vip_v2(&VipKey::host(ip("192.0.2.2"), 6, 80), &odd, false)), -70);
    let nat6 = settings(LbEncapType::Nat6, false);
    assert_eq!(retval(c.lb_add_del_vip_v2(&VipKey::host(ip("192.0.2.2"), 6, 80), &nat6, false)), -97);

    // ASes.
    for a in ["10.0.0.2", "10.0.0.3", "10.0.0.4"] {
        c.lb_add_del_as_v2(&vip, ip(a), 100, false, false).expect("add AS");
    }
    assert_eq!(retval(c.lb_add_del_as_v2(&vip, ip("2001:db8::2"), 100, false, false)), -97);
    assert_eq!(retval(c.lb_add_del_as_v2(&vip, ip("10.0.0.2"), 100, false, false)), -81);
    let missing_vip = VipKey::host(ip("192.0.2.9"), 6, 80);
    assert_eq!(retval(c.lb_add_del_as_v2(&missing_vip, ip("10.0.0.2"), 100, false, false)), -6);

    let ases = c.lb_as_v2_dump().expect("lb_as_v2_dump");
    let mut buckets: Vec<u32> = ases.iter().map(|a| a.num_buckets).collect();
    buckets.sort_unstable();
    assert_eq!(buckets, [341, 341, 342]);
    assert!(ases.iter().all(|a| a.vip == vip && a.in_use && a.weight == 100), "{ases:?}");

    c.lb_as_set_weight(&vip, ip("10.0.0.3"), 0, false).expect("set weight");
    assert_eq!(retval(c.lb_as_set_weight(&vip, ip("10.0.0.9"), 0, false)), -6);
    let ases = c.lb_as_v2_dump().expect("lb_as_v2_dump");
    let of = |addr: &str| ases.iter().find(|a| a.address == ip(addr)).expect("AS listed").clone();
    assert_eq!((of("10.0.0.3").num_buckets, of("10.0.0.3").weight, of("10.0.0.3").in_use), (0, 0, true));
    assert_eq!(of("10.0.0.2").num_buckets + of("10.0.0.4").num_buckets, 1024);

    // The CLI view: index, counters.
    let cli = c.lb_vips_verbose().expect("show lb vips verbose");
    assert_eq!(cli.len(), 1);
    assert_eq!((cli[0].index, cli[0].addr, cli[0].len, cli[0].port), (1, ip("192.0.2.1"), 32, Some(80)));
    assert_eq!(cli[0].counters.len(), 4);

    // Route and stats.
    let route = c.ip_route_lookup(0, ip("192.0.2.1"), 32, true).expect("route of the VIP");
    assert!(route.stats_index > 0);
    assert_eq!(retval(c.ip_route_lookup(0, ip("203.0.113.1"), 32, true)), -6);
    let mut stats = StatsClient::connect(&vpp.stats_socket).expect("stats");
    let boot = stats.boottime().expect("boottime");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    assert!(boot <= now && now - boot < 600, "boottime {boot} vs now {now}");
    assert_eq!(stats.simple_counter_sum("first session packet", 1).expect("lb counter"), 0);
    assert_eq!(
        stats.combined_counter_sum("/net/route/to", route.stats_index).expect("route counter").packets,
        0
    );

    // One AS address in two VIPs is one FIB entry: one DPO.
    let other = VipKey::host(ip("192.0.2.7"), 17, 53);
    c.lb_add_del_vip_v2(&other, &settings(LbEncapType::Gre4, false), false).expect("add VIP");
    c.lb_add_del_as_v2(&other, ip("10.0.0.4"), 100, false, false).expect("add AS");
    let dpos: Vec<Option<u32>> = c
        .lb_vips_verbose()
        .expect("show lb vips verbose")
        .iter()
        .flat_map(|v| {
            v.ases.iter().filter(|a| a.address == ip("10.0.0.4")).map(|a| a.dpo).collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(dpos.len(), 2);
    assert_eq!(dpos[0], dpos[1], "10.0.0.4 has one host entry");
    c.lb_add_del_as_v2(&other, ip("10.0.0.4"), 0, true, false).expect("delete AS");
    c.lb_add_del_vip_v2(&other, &settings(LbEncapType::Gre4, false), true).expect("delete VIP");

    // Delete an AS with flush: listed as removed, with its weight, without
    // buckets, until garbage collection.
    c.lb_add_del_as_v2(&vip, ip("10.0.0.2"), 0, true, true).expect("delete AS");
    let removed =
        c.lb_as_v2_dump().expect("dump").into_iter().find(|a| a.address == ip("10.0.0.2")).expect("listed");
    assert_eq!(
        (removed.in_use, removed.flags, removed.weight, removed.num_buckets),
        (false, 0, 100, 0),
        "{removed:?}"
    );
    assert_eq!(retval(c.lb_as_set_weight(&vip, ip("10.0.0.2"), 10, false)), -6);
    assert_eq!(retval(c.lb_add_del_as_v2(&vip, ip("10.9.9.9"), 0, true, false)), -6);
    c.lb_flush_vip(&vip).expect("flush");
    // VPP answers 0 even for a VIP that does not exist.
    c.lb_flush_vip(&missing_vip).expect("flush of a missing VIP");

    // Deleting a VIP that still has ASes works; they stay listed, removed,
    // in the order they were added, and so does the VIP in the CLI.
    c.lb_add_del_vip_v2(&vip, &settings(LbEncapType::Gre4, false), true).expect("delete VIP");
    assert_eq!(retval(c.lb_add_del_vip_v2(&vip, &settings(LbEncapType::Gre4, false), true)), -6);
    assert!(c.lb_vip_dump().expect("dump").is_empty(), "deleted VIPs are hidden on master");
    let leftovers = c.lb_as_v2_dump().expect("dump");
    let order: Vec<String> = leftovers.iter().map(|a| a.address.to_string()).collect();
    assert_eq!(
        order,
        ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.4"],
        "the AS dump still shows the deleted VIPs' ASes, VIP by VIP"
    );
    assert!(leftovers.iter().all(|a| !a.in_use && a.num_buckets == 0), "{leftovers:?}");
    assert_eq!(retval(c.ip_route_lookup(0, ip("192.0.2.1"), 32, true)), -6);
    let cli = vpp.cli("show lb vips verbose");
    assert!(cli.starts_with(" ip4-gre4 [1] 192.0.2.1/32 removed\n"), "{cli}");
    assert!(cli.contains(" dpo:9  removed\n"), "{cli}");

    // Re-added before collection: a new VIP slot, and the route takes the
    // load-balance index the old one freed.
    c.lb_add_del_vip_v2(&vip, &settings(LbEncapType::Gre4, false), false).expect("add VIP again");
    let again = c.ip_route_lookup(0, ip("192.0.2.1"), 32, true).expect("route");
    assert_eq!(again.stats_index, route.stats_index);
    let live: Vec<u32> =
        c.lb_vips_verbose().expect("cli").iter().filter(|v| !v.removed).map(|v| v.index).collect();
    assert_eq!(live, [3], "slots 1 (removed) and 2 (removed) stay taken");

    // An unknown command: retval -1 with the error text as the output.
    let reply = c
        .request(
            vppapi::messages::CliInband { cmd: "show frobnicator".into(), ..Default::default() },
            Duration::from_secs(5),
        )
        .expect("cli_inband");
    assert_eq!((reply.retval, reply.reply.as_str()), (-1, "show: unknown input `frobnicator'\n"));
    c.close().expect("close");
}

/// The VIPs of the CLI fixture: sticky and not, IPv4 and IPv6 VIPs, gre4
/// and gre6, weights from 0 to 100, one AS and many, an all-port VIP, a
/// removed AS.
fn program_cli_fixture(c: &mut Connection) {
    c.lb_conf(&conf()).expect("lb_conf");
    let add = |c: &mut Connection, vip: &VipKey, encap, sticky, ases: &[(&str, u8)]| {
        c.lb_add_del_vip_v2(vip, &settings(encap, sticky), false).expect("add VIP");
        for (a, w) in ases {
            c.lb_add_del_as_v2(vip, ip(a), *w, false, false).expect("add AS");
        }
    };
    let web = VipKey::host(ip("192.0.2.1"), 6, 80);
    add(
        c,
        &web,
        LbEncapType::Gre4,
        false,
        &[("10.0.0.1", 100), ("10.0.0.2", 50), ("10.0.0.3", 1), ("10.0.0.4", 0)],
    );
    add(c, &VipKey::host(ip("192.0.2.2"), 17, 53), LbEncapType::Gre4, true, &[("10.0.0.5", 100)]);
    add(
        c,
        &VipKey::host(ip("192.0.2.3"), 6, 443),
        LbEncapType::Gre6,
        false,
        &[("2001:db8::1", 100), ("2001:db8::2", 25)],
    );
    add(
        c,
        &VipKey::host(ip("2001:db8:1::1"), 6, 80),
        LbEncapType::Gre6,
        true,
        &[("2001:db8::3", 100), ("2001:db8::4", 75), ("2001:db8::5", 0)],
    );
    add(c, &VipKey::host(ip("2001:db8:1::2"), 17, 53), LbEncapType::Gre4, false, &[("10.0.0.6", 100)]);
    add(c, &VipKey::host(ip("192.0.2.4"), 255, 0), LbEncapType::Gre4, true, &[("10.0.0.7", 30)]);
    c.lb_add_del_as_v2(&web, ip("10.0.0.2"), 0, true, true).expect("delete AS");
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vppapi/tests/data/lb_cli").join(name)
}

#[test]
fn show_lb_vips_verbose_is_the_parser_fixture() {
    let vpp = Vpp::start();
    let mut c = vpp.connect();
    program_cli_fixture(&mut c);
    // The parser's input, and two commands vppsim prints the same way.
    for (cmd, file) in [
        ("show lb vips verbose", "show_lb_vips_verbose.txt"),
        ("show lb vips", "show_lb_vips.txt"),
        ("show lb", "show_lb.txt"),
    ] {
        let text = vpp.cli(cmd);
        let path = fixture_path(file);
        if vpp.is_real() && std::env::var_os("UPDATE_LB_CLI_FIXTURES").is_some() {
            std::fs::write(&path, &text).expect("write fixture");
        }
        let want = std::fs::read_to_string(&path).expect("read fixture");
        assert_eq!(text, want, "`{cmd}` differs from real VPP's ({})", path.display());
        // The API's cli_inband prints what the CLI prints.
        assert_eq!(c.cli_inband(cmd).expect("cli_inband"), want, "cli_inband {cmd:?}");
    }
}

#[test]
fn a_restarted_vpp_has_no_lb_state_and_serves_a_new_stats_segment() {
    let vpp = Vpp::start();
    let mut c = vpp.connect();
    let vip = VipKey::host(ip("192.0.2.1"), 6, 80);
    c.lb_add_del_vip_v2(&vip, &settings(LbEncapType::Gre4, false), false).expect("add VIP");
    let mut old_stats = StatsClient::connect(&vpp.stats_socket).expect("stats");
    let old_boot = old_stats.boottime().expect("boottime");
    let names = old_stats.names().expect("names");
    assert!(names.iter().any(|n| n == "first session packet"), "{names:?}");

    // The boot time has whole-second resolution: make the new one differ.
    std::thread::sleep(Duration::from_millis(1100));
    let vpp = vpp.kill_and_restart();
    let err = c.control_ping().expect_err("the old connection is gone");
    assert!(err.is_disconnect(), "expected a disconnect, got {err}");

    let mut c = vpp.connect();
    assert!(c.lb_vip_dump().expect("dump").is_empty(), "lb state survived the restart");
    let mut new_stats = StatsClient::connect(&vpp.stats_socket).expect("stats");
    let new_boot = new_stats.boottime().expect("boottime");
    assert!(new_boot > old_boot, "boottime {old_boot} -> {new_boot}");
    let names = new_stats.names().expect("names");
    assert!(!names.iter().any(|n| n == "first session packet"), "lb counters come with a VIP: {names:?}");
    // The old mapping stays readable, frozen at the old boot.
    assert_eq!(old_stats.boottime().expect("boottime"), old_boot);
}

#[test]
fn the_stats_entries_maglevd_reads_are_laid_out_alike() {
    let vpp = Vpp::start();
    let mut c = vpp.connect();
    let vip = VipKey::host(ip("192.0.2.1"), 6, 80);
    c.lb_add_del_vip_v2(&vip, &settings(LbEncapType::Gre4, false), false).expect("add VIP");
    let mut stats = StatsClient::connect(&vpp.stats_socket).expect("stats");
    let entries: std::collections::BTreeMap<String, EntryType> =
        stats.entries().expect("entries").into_iter().collect();
    let mut want = vec![
        ("/sys/boottime", EntryType::ScalarIndex),
        ("/sys/heartbeat", EntryType::ScalarIndex),
        ("/sys/last_stats_clear", EntryType::ScalarIndex),
        ("/sys/vector_rate", EntryType::Gauge),
        ("/net/route/to", EntryType::CounterVectorCombined),
    ];
    for name in
        ["packet from existing sessions", "first session packet", "untracked packet", "no server configured"]
    {
        want.push((name, EntryType::CounterVectorSimple));
    }
    for (name, kind) in want {
        assert_eq!(entries.get(name), Some(&kind), "{name}");
    }
    // The lb counters are indexed by VIP pool slot: the placeholder and ours.
    match stats.read_entry("first session packet").expect("read") {
        Value::Counters(v) => assert_eq!(v.len(), 2, "{v:?}"),
        other => panic!("first session packet: {other:?}"),
    }
    // The stats collector ran at start and runs every 10 s (VPP's default
    // update-interval): maglevd's stall detection must allow for that.
    // Over 3 s it moves at most once (a 1 s cadence would move it 2-3 times).
    let beat = stats.heartbeat().expect("heartbeat");
    assert!(beat >= 1, "heartbeat {beat}");
    std::thread::sleep(Duration::from_secs(3));
    let later = stats.heartbeat().expect("heartbeat");
    assert!(later - beat <= 1, "the heartbeat moved from {beat} to {later} within 3 s");
}
