//! The real vppsim binary driven through the crate's API client: the whole
//! lb life cycle with VPP's return codes, the stats segment it serves, the
//! request log, and the --legacy behaviour.

mod vppsim_support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use vppapi::client::{ConnectOptions, Connection, LbGlobalConf};
use vppapi::error::ApiError;
use vppapi::lb::{LbFlavor, VipKey, VipSettings};
use vppapi::stats::StatsClient;
use vppapi::types::LbEncapType;
use vppsim_support::VppSim;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn connect(sim: &VppSim) -> Connection {
    let opts = ConnectOptions { timeout: Duration::from_secs(5), ..ConnectOptions::default() };
    Connection::connect(&sim.api, &opts).expect("connect to vppsim")
}

fn retval<T: std::fmt::Debug>(r: Result<T, ApiError>) -> i32 {
    match r {
        Err(e) => e.retval().unwrap_or_else(|| panic!("expected a retval error, got {e}")),
        Ok(v) => panic!("expected a retval error, got Ok({v:?})"),
    }
}

fn settings(encap: LbEncapType) -> VipSettings {
    VipSettings { new_flows_table_length: 1024, ..VipSettings::new(encap, false) }
}

/// VPP's life cycle and return codes are checked against real VPP and
/// vppsim alike by the workspace's `tests/vpp_lb_api.rs`; this test keeps
/// what only vppsim has: its request log and its `gc` control command.
#[test]
fn request_log_and_forced_garbage_collection() {
    let sim = VppSim::start(&[]);
    let mut c = connect(&sim);
    assert_eq!(c.client_index(), 0x8000_0001);
    assert_eq!(c.lb_flavor(), LbFlavor::Master);
    assert_eq!(c.control_ping().unwrap(), sim.pid());
    let v = c.show_version().unwrap();
    assert_eq!((v.program.as_str(), v.version.as_str()), ("vpe", "26.10-rc0~374-gb575ec2c56d"));
    let conf = LbGlobalConf {
        ip4_src_address: Ipv4Addr::new(10, 255, 0, 1),
        ip6_src_address: "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
        sticky_buckets_per_core: 4096,
        flow_timeout: 20,
    };
    c.lb_conf(&conf).unwrap();

    let vip = VipKey::host(ip("192.0.2.1"), 6, 80);
    c.lb_add_del_vip_v2(&vip, &settings(LbEncapType::Gre4), false).unwrap();
    for a in ["10.0.0.2", "10.0.0.3", "10.0.0.4"] {
        c.lb_add_del_as_v2(&vip, ip(a), 100, false, false).unwrap();
    }
    assert_eq!(retval(c.lb_add_del_as_v2(&vip, ip("2001:db8::2"), 100, false, false)), -97);
    c.lb_as_set_weight(&vip, ip("10.0.0.3"), 0, false).unwrap();
    assert_eq!(c.lb_as_v2_dump().unwrap().len(), 3);
    let route = c.ip_route_lookup(0, ip("192.0.2.1"), 32, true).unwrap();
    assert_eq!(route.stats_index, 8, "the first load-balance index after VPP's own");

    // Deleted VIP and its ASes stay until collected; `gc` forces it.
    c.lb_add_del_vip_v2(&vip, &settings(LbEncapType::Gre4), true).unwrap();
    let cli = c.cli_inband("show lb vips verbose").unwrap();
    assert!(cli.starts_with(" ip4-gre4 [1] 192.0.2.1/32 removed\n"), "{cli}");
    sim.control("gc");
    assert_eq!(c.cli_inband("show lb vips verbose").unwrap(), "");
    assert!(c.lb_as_v2_dump().unwrap().is_empty());
    // The collected slot is reused, and a freed load-balance index too:
    // the last one freed, the host entry of the last AS collected.
    c.lb_add_del_vip_v2(&vip, &settings(LbEncapType::Gre4), false).unwrap();
    let again = c.ip_route_lookup(0, ip("192.0.2.1"), 32, true).unwrap();
    assert_eq!(again.stats_index, 11);
    assert_eq!(c.lb_vips_verbose().unwrap()[0].index, 1, "the collected slot is reused");
    c.close().unwrap();

    // The request log has one line per request, decoded.
    let log =
        sim.wait_for_log("sockclnt_delete", |l| l.iter().any(|x| x.contains("\"msg\":\"sockclnt_delete\"")));
    assert!(log[0].starts_with("{\"seq\":1,\"t_ms\":"), "{}", log[0]);
    assert!(log[0].contains("\"msg\":\"control_ping\",\"client\":2147483649,\"context\":"), "{}", log[0]);
    let set_weight = log.iter().find(|l| l.contains("\"msg\":\"lb_as_set_weight\"")).unwrap();
    assert!(
        set_weight.ends_with(
            "\"retval\":0,\"vip\":\"192.0.2.1/32\",\"protocol\":6,\"port\":80,\"as\":\"10.0.0.3\",\"weight\":0,\"flush\":false}"
        ),
        "{set_weight}"
    );
    assert!(log.iter().any(|l| l.contains("\"msg\":\"lb_add_del_as_v2\"")
        && l.contains("\"retval\":-97")
        && l.contains("\"as\":\"2001:db8::2\"")));
    assert!(log.iter().any(|l| l.contains("\"msg\":\"lb_as_v2_dump\"") && l.contains("\"details\":3")));
    let seqs: Vec<usize> = log
        .iter()
        .map(|l| l.trim_start_matches("{\"seq\":").split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(seqs, (1..=log.len()).collect::<Vec<_>>());
}

#[test]
fn synthetic_traffic_moves_the_counters() {
    // The heartbeat moves every second here, not every 10 s as VPP's does by default.
    let sim = VppSim::start(&["--traffic", "--stats-update-interval", "1"]);
    let mut c = connect(&sim);
    let vip = VipKey::host(ip("192.0.2.10"), 17, 53);
    let empty = VipKey::host(ip("192.0.2.11"), 17, 53);
    c.lb_add_del_vip_v2(&vip, &settings(LbEncapType::Gre4), false).unwrap();
    c.lb_add_del_vip_v2(&empty, &settings(LbEncapType::Gre4), false).unwrap();
    c.lb_add_del_as_v2(&vip, ip("10.0.0.2"), 100, false, false).unwrap();
    let route = c.ip_route_lookup(0, ip("192.0.2.10"), 32, true).unwrap();
    let mut stats = StatsClient::connect(&sim.stats).unwrap();
    let beat = stats.heartbeat().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let first = stats.simple_counter_sum("first session packet", 1).unwrap();
        let no_server = stats.simple_counter_sum("no server configured", 2).unwrap();
        let routed = stats.combined_counter_sum("/net/route/to", route.stats_index).unwrap();
        if first > 0 && no_server > 0 && routed.packets > 0 && stats.heartbeat().unwrap() > beat {
            assert!(routed.bytes > routed.packets);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "counters did not move: first={first} no_server={no_server} {routed:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The same numbers show in the CLI and flows show per AS.
    let cli = c.lb_vips_verbose().unwrap();
    let first_cli = cli[0].counters.iter().find(|(n, _)| n == "first session packet").unwrap().1;
    assert!(first_cli > 0);
    sim.control("traffic off");
    let flows = sim.control("state").join("\n");
    assert!(flows.contains("as 10.0.0.2 weight 100 buckets 1024 flows "), "{flows}");
}

#[test]
fn legacy_mode_has_no_weights_and_legacy_encodings() {
    let sim = VppSim::start(&["--legacy", "--version-string", "26.06-release"]);
    let mut c = connect(&sim);
    assert_eq!(c.lb_flavor(), LbFlavor::Legacy);
    assert!(!c.has_message("lb_conf_get_51077d14"));
    assert!(!c.has_message("lb_as_v2_dump_1063f819"));
    assert!(c.has_message("lb_add_del_as_35d72500"));
    assert_eq!(c.show_version().unwrap().version, "26.06-release");

    // The client encodes for legacy (+96 on IPv4 lengths, little-endian
    // encap); vppsim must understand it as the same VIP.
    let vip = VipKey::host(ip("192.0.2.1"), 6, 80);
    c.lb_add_del_vip_v2(&vip, &settings(LbEncapType::Gre6), false).unwrap();
    let vips = c.lb_vip_dump().unwrap();
    assert_eq!(vips.len(), 1);
    assert_eq!(vips[0].key.addr, ip("192.0.2.1"));
    assert_eq!(vips[0].key.len, 32);
    assert!(!vips[0].protocol_known, "legacy reports protocol 0");
    assert_eq!(vips[0].encap, Some(LbEncapType::Gre6));
    assert_eq!(vips[0].flow_table_length, None);
    let cli = c.lb_vips_verbose().unwrap();
    assert_eq!(format!("{}", cli[0].vip_type), "ip4-gre6");

    // A normal /32 is an IPv6-length prefix to a legacy VPP: the address
    // (in bytes 12..15) is masked away and an IPv6 GRE4 VIP `::/32` appears.
    let raw = vppapi::messages::LbAddDelVipV2 {
        pfx: vppapi::types::Prefix::new(ip("192.0.2.5"), 32),
        protocol: 6,
        port: 80,
        encap: 0,
        new_flows_table_length: 1024,
        ..Default::default()
    };
    let reply = c.request(raw, Duration::from_secs(5)).unwrap();
    assert_eq!(reply.retval, 0);
    let text = c.cli_inband("show lb vips verbose").unwrap();
    assert!(text.contains(" ip6-gre4 [2] ::/32\n"), "{text}");

    // Deleted VIPs stay in the legacy dump until collected.
    c.lb_add_del_vip_v2(&vip, &settings(LbEncapType::Gre6), true).unwrap();
    assert_eq!(c.lb_vip_dump().unwrap().len(), 2);
}

#[test]
fn bad_command_line_prints_usage_and_exits_2() {
    for args in [&["--bogus"][..], &["--api-socket", "/tmp/unused.sock"][..]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_vppsim")).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("usage: vppsim --api-socket PATH --stats-socket PATH"), "{err}");
    }
}

#[test]
fn heartbeat_moves_once_at_start_then_every_update_interval() {
    // Real VPP's stats collector runs at start and then every
    // `statseg { update-interval }` (10 s by default): /sys/heartbeat is 1
    // at once and still 1 a few seconds later.
    let sim = VppSim::start(&[]);
    let mut stats = StatsClient::connect(&sim.stats).unwrap();
    assert_eq!(stats.heartbeat().unwrap(), 1);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(stats.heartbeat().unwrap(), 1, "moved before the default 10 s");

    let fast = VppSim::start(&["--stats-update-interval", "1"]);
    let mut stats = StatsClient::connect(&fast.stats).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while stats.heartbeat().unwrap() < 2 {
        assert!(Instant::now() < deadline, "the heartbeat did not move within 5 s at a 1 s interval");
        std::thread::sleep(Duration::from_millis(100));
    }
}
