//! vppsim's failure modes: VPP's silent drops (unknown id, truncated
//! payload, wrong client_index) as its request log records them, and the
//! control-socket faults (drop, stall, restart). The drops themselves are
//! checked against real VPP too, in the workspace's `tests/vpp_wire.rs`.

mod vppsim_support;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use vppapi::client::{ConnectOptions, Connection};
use vppapi::error::ApiError;
use vppapi::frame::{encode_frame, read_frame, FrameError};
use vppapi::lb::{VipKey, VipSettings};
use vppapi::messages::{
    fixed_ids, ControlPing, ControlPingReply, Message, SockclntCreate, SockclntCreateReply,
};
use vppapi::stats::StatsClient;
use vppapi::types::LbEncapType;
use vppsim_support::VppSim;

fn connect(sim: &VppSim, timeout: Duration) -> Connection {
    let opts = ConnectOptions { timeout, ..ConnectOptions::default() };
    Connection::connect(&sim.api, &opts).expect("connect to vppsim")
}

#[test]
fn silent_drops_like_vpp() {
    let sim = VppSim::start(&[]);
    let mut s = UnixStream::connect(&sim.api).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let create = SockclntCreate { context: 124, name: "raw".into() };
    s.write_all(&encode_frame(&create.encode_to_vec(fixed_ids::SOCKCLNT_CREATE))).unwrap();
    let reply = SockclntCreateReply::decode(&read_frame(&mut s, 1 << 24).unwrap()).unwrap();
    assert_eq!((reply.context, reply.response, reply.index, reply.client_index), (124, 0, 0x8000_0001, 0));
    let table: std::collections::HashMap<String, u16> =
        reply.message_table.iter().map(|e| (e.name.as_str().to_string(), e.index)).collect();
    assert_eq!(table.get("control_ping_51077d14"), Some(&23));
    let vip_v2 = table["lb_add_del_vip_v2_7c520e0f"];

    // Unknown id, truncated lb_add_del_vip_v2, ping with a wrong
    // client_index: none answered. Then a good ping is.
    let mut burst = encode_frame(&[0x27, 0x0f, 0x80, 0, 0, 1, 0, 0, 0, 1]);
    let mut truncated = vip_v2.to_be_bytes().to_vec();
    truncated.extend_from_slice(&[0x80, 0, 0, 1, 0, 0, 0, 2, 0, 0xc0, 0, 2]);
    burst.extend(encode_frame(&truncated));
    burst.extend(encode_frame(&ControlPing { client_index: 0x8000_0002, context: 3 }.encode_to_vec(23)));
    burst.extend(encode_frame(&ControlPing { client_index: 0x8000_0001, context: 4 }.encode_to_vec(23)));
    s.write_all(&burst).unwrap();
    let first = ControlPingReply::decode(&read_frame(&mut s, 1 << 24).unwrap()).unwrap();
    assert_eq!(first.context, 4, "only the last ping is answered: {first:?}");
    assert_eq!(first.client_index, 0x8000_0001);

    let log = sim.wait_for_log("the good ping", |l| l.iter().any(|x| x.contains("\"context\":4")));
    assert!(log.iter().any(|l| l.contains("\"msg\":\"unknown\"") && l.contains("\"id\":9999")), "{log:#?}");
    assert!(
        log.iter().any(|l| l.contains("\"msg\":\"lb_add_del_vip_v2\"") && l.contains("truncated")),
        "{log:#?}"
    );
    assert!(log.iter().any(|l| l.contains("\"context\":3") && l.contains("\"dropped\":\"client_index\"")));

    // sockclnt_delete: response 1, then the socket closes.
    let del = vppapi::messages::SockclntDelete { client_index: 0x8000_0001, context: 5, index: 0x8000_0001 };
    s.write_all(&encode_frame(&del.encode_to_vec(fixed_ids::SOCKCLNT_DELETE))).unwrap();
    let r = vppapi::messages::SockclntDeleteReply::decode(&read_frame(&mut s, 1 << 24).unwrap()).unwrap();
    assert_eq!((r.context, r.response), (5, 1));
    assert!(matches!(read_frame(&mut s, 1 << 24), Err(FrameError::Eof { partial: false })));
}

#[test]
fn drop_closes_every_connection() {
    let sim = VppSim::start(&[]);
    let mut a = connect(&sim, Duration::from_secs(5));
    let mut b = connect(&sim, Duration::from_secs(5));
    assert_eq!(b.client_index(), 0x8000_0002);
    a.control_ping().unwrap();
    sim.control("drop");
    for c in [&mut a, &mut b] {
        let err = c.control_ping().unwrap_err();
        assert!(err.is_disconnect(), "expected a disconnect, got {err}");
    }
    // Registrations were released: a new client gets slot 1 again.
    let mut c = connect(&sim, Duration::from_secs(5));
    assert_eq!(c.client_index(), 0x8000_0001);
    c.control_ping().unwrap();
}

#[test]
fn stall_makes_requests_time_out() {
    let sim = VppSim::start(&[]);
    let mut c = connect(&sim, Duration::from_secs(5));
    c.set_timeout(Duration::from_millis(300));
    sim.control("stall 2000");
    let err = c.control_ping().unwrap_err();
    assert!(matches!(err, ApiError::Timeout { .. }), "expected a timeout, got {err}");
    sim.control("stall 0");
    // The late reply is dropped by the client; the next call works.
    c.set_timeout(Duration::from_secs(5));
    c.control_ping().unwrap();
    assert!(sim.try_control("stall soon").unwrap_err().starts_with("error"));
}

#[test]
fn restart_resets_state_and_serves_a_new_segment() {
    let sim = VppSim::start(&[]);
    let mut c = connect(&sim, Duration::from_secs(5));
    let vip = VipKey::host("192.0.2.1".parse().unwrap(), 6, 80);
    let settings = VipSettings { new_flows_table_length: 1024, ..VipSettings::new(LbEncapType::Gre4, false) };
    c.lb_add_del_vip_v2(&vip, &settings, false).unwrap();
    let mut old_stats = StatsClient::connect(&sim.stats).unwrap();
    let old_boot = old_stats.boottime().unwrap();
    assert!(old_stats.names().unwrap().iter().any(|n| n == "first session packet"));

    sim.control("restart");
    let err = c.control_ping().unwrap_err();
    assert!(err.is_disconnect(), "expected a disconnect, got {err}");

    let mut c = connect(&sim, Duration::from_secs(5));
    assert!(c.lb_vip_dump().unwrap().is_empty(), "lb state survived the restart");
    let mut new_stats = StatsClient::connect(&sim.stats).unwrap();
    let new_boot = new_stats.boottime().unwrap();
    assert!(new_boot > old_boot, "boottime {old_boot} -> {new_boot}");
    assert!(
        !new_stats.names().unwrap().iter().any(|n| n == "first session packet"),
        "lb counters come with a VIP"
    );
    // The old mapping stays readable, frozen at the old boot.
    assert_eq!(old_stats.boottime().unwrap(), old_boot);
}
