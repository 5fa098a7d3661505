//! Health decisions as VPP sees them: operator actions reach VPP at once
//! (PRODUCT.md §7.5) and reloads keep what maglevd knows (§5.7). VPP's own
//! record of the requests it received is the witness.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use maglev_proto::maglev as pb;
use maglev_proto::maglev_grpc::MaglevClient;
use testsupport::grpc::{client, wait_backend_state};
use testsupport::net_host as addr;
use testsupport::vpp::Request;
use testsupport::{loopback_net, Maglevd, MaglevdOpts, Nginx, Vpp};
use vppapi::lb_cli::VipCliInfo;

const WAIT: Duration = Duration::from_secs(15);
const VIP: &str = "192.0.2.1/32";
/// From an operator RPC's return to its VPP write (§7.5: a few ms).
const ACTION_TO_WRITE: Duration = Duration::from_millis(50);

struct Check {
    interval: &'static str,
    timeout: &'static str,
    path: &'static str,
    rise: u32,
    fall: u32,
}

const CHECK: Check = Check { interval: "200ms", timeout: "300ms", path: "/healthz", rise: 2, fall: 2 };

/// Frontend `web` (192.0.2.1:80) with one pool of `backends` (name, host,
/// weight), all sharing healthcheck `http`.
fn config(net: [u8; 3], check: &Check, backends: &[(&str, u8, u8)], max_delay: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "maglev:
  healthchecker: {{workers: 4}}
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      sync-interval: 1m
      startup-min-delay: 0s
      startup-max-delay: {max_delay}
  healthchecks:
    http:
      type: http
      port: 8080
      http: {{path: {}}}
      interval: {}
      fast-interval: {}
      timeout: {}
      rise: {}
      fall: {}
      jitter-percent: 0
  backends:
",
        check.path, check.interval, check.interval, check.timeout, check.rise, check.fall
    );
    for (name, host, _) in backends {
        let _ = writeln!(s, "    {name}: {{address: {}, healthcheck: http}}", addr(net, *host));
    }
    s.push_str(
        "  frontends:
    web:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      flush-on-down: true
      pools:
        - name: main
          backends:
",
    );
    for (name, _, weight) in backends {
        let _ = writeln!(s, "            {name}: {{weight: {weight}}}");
    }
    s
}

fn start(vpp: &Vpp, config: &str) -> Maglevd {
    Maglevd::start(
        config,
        MaglevdOpts {
            log_level: "debug",
            vpp_api_addr: vpp.api_socket.display().to_string(),
            vpp_stats_addr: vpp.stats_socket.display().to_string(),
            ..Default::default()
        },
    )
}

fn weights(vips: &[VipCliInfo]) -> Vec<(String, u32)> {
    let mut w: Vec<(String, u32)> = Vpp::ases(vips, VIP)
        .into_iter()
        .filter(|a| a.used)
        .map(|a| (a.address.to_string(), u32::from(a.weight.unwrap_or(0))))
        .collect();
    w.sort();
    w
}

fn wait_weights(vpp: &Vpp, want: &[(String, u32)]) {
    let mut want = want.to_vec();
    want.sort();
    vpp.wait_lb(&format!("{VIP} = {want:?}"), WAIT, |vips| weights(vips) == want);
}

/// Writes to the AS `as_addr` of the VIP.
fn as_writes(reqs: &[Request], as_addr: &str) -> Vec<Request> {
    reqs.iter().filter(|r| r.is_write() && r.get("as").as_deref() == Some(as_addr)).cloned().collect()
}

/// Waits (bounded) for the first write to `as_addr` after request `from`;
/// returns it and how long after `since` it was seen in VPP's record (an
/// upper bound on when VPP received it).
fn wait_write(vpp: &Vpp, from: usize, as_addr: &str, since: Instant) -> (Request, Duration) {
    let deadline = Instant::now() + WAIT;
    loop {
        let reqs = vpp.requests();
        let seen = since.elapsed();
        if let Some(r) = as_writes(&reqs[from.min(reqs.len())..], as_addr).into_iter().next() {
            return (r, seen);
        }
        assert!(Instant::now() < deadline, "no write to AS {as_addr} within {WAIT:?}: {:?}", reqs.last());
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn weight_req(backend: &str, weight: u32, flush: bool) -> pb::SetFrontendPoolBackendWeightRequest {
    pb::SetFrontendPoolBackendWeightRequest {
        frontend: "web".into(),
        pool: "main".into(),
        backend: backend.into(),
        weight,
        flush,
        ..Default::default()
    }
}

fn action(name: &str) -> pb::BackendActionRequest {
    pb::BackendActionRequest { name: name.into(), ..Default::default() }
}

/// Runs one operator action and checks its VPP write: on AS `as_addr`,
/// within `ACTION_TO_WRITE` of the RPC's return, with this weight and flush.
fn expect_write(
    vpp: &Vpp,
    what: &str,
    as_addr: &str,
    weight: u32,
    flush: bool,
    rpc: impl FnOnce() -> grpcio::Result<()>,
) {
    let from = vpp.requests().len();
    rpc().unwrap_or_else(|e| panic!("{what}: {e}"));
    let returned = Instant::now();
    let (r, after) = wait_write(vpp, from, as_addr, returned);
    assert!(after <= ACTION_TO_WRITE, "{what}: VPP write {after:?} after the RPC returned: {r:?}");
    assert_eq!(r.msg(), "lb_as_set_weight", "{what}: {r:?}");
    assert_eq!(r.get("weight"), Some(weight.to_string()), "{what}: {r:?}");
    assert_eq!(r.get("flush"), Some(flush.to_string()), "{what}: is_flush: {r:?}");
}

fn up_ok(c: &MaglevClient, b: &str) {
    wait_backend_state(c, b, "up", WAIT);
}

#[test]
fn operator_actions_reach_vpp_at_once_with_the_flush_asked() {
    let net = loopback_net();
    let (a1, a2) = (addr(net, 1), addr(net, 2));
    let _nginx = Nginx::http(&[a1.clone(), a2.clone()], 8080);
    let vpp = Vpp::start();
    // b3 has no server: it is down.
    let a3 = addr(net, 3);
    let m = start(&vpp, &config(net, &CHECK, &[("b1", 1, 50), ("b2", 2, 100), ("b3", 3, 30)], "2s"));
    let c = client(&m.grpc_addr);
    wait_weights(&vpp, &[(a1.clone(), 50), (a2.clone(), 100), (a3.clone(), 0)]);

    expect_write(&vpp, "weight 20", &a1, 20, false, || {
        c.set_frontend_pool_backend_weight(&weight_req("b1", 20, false)).map(drop)
    });
    expect_write(&vpp, "weight 70 with flush", &a1, 70, true, || {
        c.set_frontend_pool_backend_weight(&weight_req("b1", 70, true)).map(drop)
    });
    // Flush alone: the weight does not move, the flows are flushed.
    expect_write(&vpp, "weight 70 again with flush", &a1, 70, true, || {
        c.set_frontend_pool_backend_weight(&weight_req("b1", 70, true)).map(drop)
    });
    expect_write(&vpp, "disable", &a2, 0, true, || c.disable_backend(&action("b2")).map(drop));
    // Disable flushes even when the weight is 0 already.
    expect_write(&vpp, "disable a down backend", &a3, 0, true, || c.disable_backend(&action("b3")).map(drop));
    // Enable probes at once; the write follows the first (passing) probe.
    expect_write(&vpp, "enable", &a2, 100, false, || c.enable_backend(&action("b2")).map(drop));
    up_ok(&c, "b2");
    expect_write(&vpp, "pause", &a2, 0, false, || c.pause_backend(&action("b2")).map(drop));
    expect_write(&vpp, "resume", &a2, 100, false, || c.resume_backend(&action("b2")).map(drop));
    up_ok(&c, "b2");
    wait_weights(&vpp, &[(a1, 70), (a2, 100), (a3, 0)]);
}

#[test]
fn reload_of_a_shared_healthcheck_while_up_sends_no_weight_change() {
    let net = loopback_net();
    let hosts = [1u8, 2, 3];
    let addrs: Vec<String> = hosts.iter().map(|h| addr(net, *h)).collect();
    let _nginx = Nginx::http(&addrs, 8080);
    let vpp = Vpp::start();
    let backends = [("b1", 1, 100), ("b2", 2, 100), ("b3", 3, 50)];
    let m = start(&vpp, &config(net, &CHECK, &backends, "2s"));
    let c = client(&m.grpc_addr);
    let want: Vec<(String, u32)> = addrs.iter().cloned().zip([100, 100, 50]).collect();
    wait_weights(&vpp, &want);
    m.daemon.wait_for(&["vpp-warmup-done"], WAIT);
    let from = vpp.requests().len();

    // Interval, timeout, path and rise/fall all change.
    let changed = Check { interval: "300ms", timeout: "400ms", path: "/other", rise: 3, fall: 4 };
    let cursor = m.reload_with(&config(net, &changed, &backends, "2s"));
    m.daemon.wait_for_from(cursor, &["config-reload", "reconfigured=3"], WAIT);
    m.daemon.wait_for_from(cursor, &["vpp-lbsync scope=all"], WAIT);
    // Several probes under the new healthcheck.
    for b in ["b1", "b2", "b3"] {
        m.daemon.wait_for_from(cursor, &["probe-result", &format!("backend={b} ")], WAIT);
    }
    std::thread::sleep(Duration::from_millis(3 * 300));
    for b in ["b1", "b2", "b3"] {
        let info = wait_backend_state(&c, b, "up", WAIT);
        let h = info.health.as_ref().expect("health");
        assert_eq!((h.value, h.rise, h.fall), (6, 3, 4), "{b}: full health under the new rise/fall");
        assert!(
            info.transitions.iter().all(|t| t.code != "reload"),
            "{b}: the reload made a transition: {:?}",
            info.transitions
        );
    }
    let writes: Vec<Request> = vpp.requests()[from..].iter().filter(|r| r.is_write()).cloned().collect();
    assert!(writes.is_empty(), "a reload that keeps every backend up must write nothing: {writes:?}");
    wait_weights(&vpp, &want);
}

#[test]
fn reload_that_moves_one_backend_replaces_exactly_that_as() {
    let net = loopback_net();
    let addrs: Vec<String> = [1u8, 2, 4].iter().map(|h| addr(net, *h)).collect();
    let _nginx = Nginx::http(&addrs, 8080);
    let vpp = Vpp::start();
    let before = [("b1", 1, 100), ("b2", 2, 100)];
    let m = start(&vpp, &config(net, &CHECK, &before, "5s"));
    wait_weights(&vpp, &[(addrs[0].clone(), 100), (addrs[1].clone(), 100)]);
    m.daemon.wait_for(&["vpp-warmup-done"], WAIT);
    let from = vpp.requests().len();

    // b2 moves from .2 to .4.
    let after = [("b1", 1, 100), ("b2", 4, 100)];
    let cursor = m.reload_with(&config(net, &CHECK, &after, "5s"));
    m.daemon.wait_for_from(cursor, &["config-reload", "restarted=1"], WAIT);
    wait_weights(&vpp, &[(addrs[0].clone(), 100), (addrs[2].clone(), 100)]);

    let writes: Vec<Request> = vpp.requests()[from..].iter().filter(|r| r.is_write()).cloned().collect();
    let touched: Vec<String> = writes.iter().filter_map(|r| r.get("as")).collect();
    assert!(
        touched.iter().all(|a| *a == addrs[1] || *a == addrs[2]),
        "only b2's old and new AS may be written: {writes:?}"
    );
    let added = writes
        .iter()
        .position(|r| r.get("as").as_ref() == Some(&addrs[2]) && r.get("is_del").as_deref() == Some("false"));
    let deleted = writes
        .iter()
        .position(|r| r.get("as").as_ref() == Some(&addrs[1]) && r.get("is_del").as_deref() == Some("true"));
    let (Some(added), Some(deleted)) = (added, deleted) else {
        panic!("b2's AS was not replaced: {writes:?}")
    };
    assert!(added < deleted, "the new AS comes before the old one goes: {writes:?}");
    assert_eq!(writes[added].get("weight").as_deref(), Some("100"), "added with its real weight: {writes:?}");
    assert!(
        !writes.iter().any(|r| r.msg() == "lb_as_set_weight" && r.get("weight").as_deref() == Some("0")),
        "no AS of the frontend was set to weight 0: {writes:?}"
    );
}
