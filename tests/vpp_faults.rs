//! maglevd when VPP misbehaves: a stalled VPP holds up nothing but the
//! calls that need it, the stats segment can go without taking programming
//! with it, grpc.health tells the truth about VPP, and a CLI line maglevd
//! cannot parse never makes it touch the VIP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use grpcio::{CallOption, ChannelBuilder, EnvBuilder, RpcStatusCode};
use maglev_proto::health_v1::health_check_response::ServingStatus;
use maglev_proto::health_v1::HealthCheckRequest;
use maglev_proto::health_v1_grpc::HealthClient;
use maglev_proto::maglev as pb;
use testsupport::grpc::{client, status_code, wait_until};
use testsupport::metrics::{free_port, poll};
use testsupport::vpp::Vpp;
use testsupport::{loopback_net, Maglevd, MaglevdOpts, Nginx};

const WAIT: Duration = Duration::from_secs(20);

/// One frontend on one static backend (always up), a short warmup.
fn static_config(sticky: bool) -> String {
    format!(
        "maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      sync-interval: 1h
      startup-min-delay: 0s
      startup-max-delay: 300ms
  backends:
    static-a:
      address: 127.0.0.1
  frontends:
    web:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      src-ip-sticky: {sticky}
      pools:
        - name: primary
          backends:
            static-a: {{}}
"
    )
}

fn start_maglevd(vpp: &Vpp, config: &str, stats_socket: Option<String>, metrics_addr: &str) -> Maglevd {
    Maglevd::start(
        config,
        MaglevdOpts {
            vpp_api_addr: vpp.api_socket.display().to_string(),
            vpp_stats_addr: stats_socket.unwrap_or_else(|| vpp.stats_socket.display().to_string()),
            metrics_addr: metrics_addr.to_string(),
            ..Default::default()
        },
    )
}

fn health_client(addr: &str) -> HealthClient {
    let env = Arc::new(EnvBuilder::new().cq_count(1).name_prefix("test-health").build());
    HealthClient::new(ChannelBuilder::new(env).connect(addr))
}

fn serving(h: &HealthClient) -> Result<ServingStatus, String> {
    h.check(&HealthCheckRequest::new())
        .map_err(|e| e.to_string())
        .and_then(|r| r.status.enum_value().map_err(|v| format!("status {v}")))
}

fn wait_serving(h: &HealthClient, want: ServingStatus) {
    wait_until(&format!("grpc.health {want:?}"), WAIT, || match serving(h) {
        Ok(s) if s == want => Ok(()),
        other => Err(format!("{other:?}")),
    });
}

/// The slowest of `n` calls of `f`.
fn slowest(n: usize, mut f: impl FnMut()) -> Duration {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .max()
        .unwrap_or_default()
}

#[test]
fn a_stalled_vpp_delays_neither_get_backend_nor_health_and_expired_calls_are_not_run() {
    let vpp = Vpp::sim(&[]);
    let m = start_maglevd(&vpp, &static_config(false), None, "");
    let c = client(&m.grpc_addr);
    let h = health_client(&m.grpc_addr);
    wait_serving(&h, ServingStatus::SERVING);
    let get = pb::GetBackendRequest { name: "static-a".into(), ..Default::default() };
    let get_backend = || {
        c.get_backend(&get).expect("GetBackend");
    };
    let check_health = || {
        assert_eq!(serving(&h), Ok(ServingStatus::SERVING));
    };
    let base_backend = slowest(10, get_backend);
    let base_health = slowest(10, check_health);

    // Every VPP reply now takes 1 s; 8 GetVPPLBState calls wait on VPP, each
    // willing to wait 700 ms.
    let cursor = vpp.requests().len();
    vpp.control("stall 1000");
    let opt = || CallOption::default().timeout(Duration::from_millis(700));
    let stalled: Vec<_> = (0..8)
        .map(|_| c.get_vpplb_state_async_opt(&pb::GetVPPLBStateRequest::new(), opt()).expect("start call"))
        .collect();
    // The VPP thread is inside the first one once VPP has its dump request.
    wait_until("the first read to reach VPP", WAIT, || {
        let reqs = vpp.requests();
        reqs[cursor..]
            .iter()
            .find(|r| r.msg() == "lb_vip_dump")
            .map(|_| ())
            .ok_or_else(|| "no dump yet".into())
    });
    let during_backend = slowest(20, get_backend);
    let during_health = slowest(20, check_health);
    let margin = Duration::from_millis(50);
    assert!(
        during_backend < base_backend + margin,
        "GetBackend took {during_backend:?} with 8 stalled VPP calls (baseline {base_backend:?})"
    );
    assert!(
        during_health < base_health + margin,
        "grpc.health took {during_health:?} with 8 stalled VPP calls (baseline {base_health:?})"
    );
    for call in stalled {
        let code = status_code(futures_executor::block_on(call)).0;
        assert_eq!(code, RpcStatusCode::DEADLINE_EXCEEDED, "a stalled call ends at its deadline");
    }
    vpp.control("stall 0");
    // The calls whose deadline passed while queued were dropped, not run:
    // VPP saw the first read, not eight.
    let state = c.get_vpplb_state(&pb::GetVPPLBStateRequest::new()).expect("GetVPPLBState after the stall");
    assert!(state.vips.iter().any(|v| v.prefix == "192.0.2.1/32"), "{state:?}");
    let reads = vpp.requests()[cursor..].iter().filter(|r| r.msg() == "lb_vip_dump").count();
    assert!(reads <= 3, "{reads} reads of VPP: expired requests were run");
}

#[test]
fn without_the_stats_socket_a_dead_backend_is_still_drained_and_stats_come_back_alone() {
    let net = loopback_net();
    let addr = |h: u8| format!("{}.{}.{}.{h}", net[0], net[1], net[2]);
    let mut nginx: Vec<Nginx> = (1..=2).map(|h| Nginx::http(&[addr(h)], 8080)).collect();
    let config = format!(
        "maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      sync-interval: 1h
      startup-min-delay: 0s
      startup-max-delay: 2s
  healthchecks:
    http: {{type: http, port: 8080, interval: 200ms, timeout: 300ms, rise: 2, fall: 2, jitter-percent: 0}}
  backends:
    b1: {{address: {}, healthcheck: http}}
    b2: {{address: {}, healthcheck: http}}
  frontends:
    web:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends: {{b1: {{}}, b2: {{}}}}
",
        addr(1),
        addr(2)
    );
    let vpp = Vpp::start();
    // The stats socket maglevd is told about does not exist (yet).
    let stats_link = vpp.dir.join("stats-link.sock");
    let metrics = format!("127.0.0.1:{}", free_port("127.0.0.1"));
    let m = start_maglevd(&vpp, &config, Some(stats_link.display().to_string()), &metrics);
    m.daemon.wait_for(&["vpp-stats-connect-failed"], WAIT);
    let weights = |want: [u8; 2]| {
        let want: Vec<(String, u8)> = vec![(addr(1), want[0]), (addr(2), want[1])];
        vpp.wait_lb(&format!("weights {want:?}"), WAIT, |vips| {
            let mut have: Vec<(String, u8)> = Vpp::ases(vips, "192.0.2.1/32")
                .into_iter()
                .filter(|a| a.used)
                .map(|a| (a.address.to_string(), a.weight.unwrap_or(0)))
                .collect();
            have.sort();
            have == want
        });
    };
    weights([100, 100]);
    poll(&metrics, "stats disconnected, API connected", WAIT, |s| {
        (s.value("maglev_vpp_stats_connected", &[]) == 0.0 && s.value("maglev_vpp_connected", &[]) == 1.0)
            .then_some(())
    });
    let c = client(&m.grpc_addr);
    let (code, msg) = status_code(c.get_vpplb_counters(&pb::GetVPPLBCountersRequest::new()));
    assert_eq!(code, RpcStatusCode::UNAVAILABLE, "counters without the stats segment: {msg}");

    // Failover goes on without counters.
    nginx[0].stop();
    weights([0, 100]);

    // The stats socket appears: maglevd maps it on its own.
    std::os::unix::fs::symlink(&vpp.stats_socket, &stats_link).expect("symlink the stats socket");
    m.daemon.wait_for(&["vpp-stats-connect", "boottime="], WAIT);
    poll(&metrics, "stats connected", WAIT, |s| {
        (s.value("maglev_vpp_stats_connected", &[]) == 1.0).then_some(())
    });
    wait_until("counters of web", WAIT, || {
        let r = c.get_vpplb_counters(&pb::GetVPPLBCountersRequest::new()).map_err(|e| e.to_string())?;
        r.vips.iter().any(|v| v.frontend == "web").then_some(()).ok_or_else(|| format!("{r:?}"))
    });
    nginx[0].restart();
    weights([100, 100]);
}

#[test]
fn grpc_health_follows_vpp_away_and_back() {
    // Enabled but never connected: NOT_SERVING, even after the warmup.
    let dir = testsupport::TempDir::new("novpp");
    let m = Maglevd::start(
        &static_config(false),
        MaglevdOpts {
            vpp_api_addr: dir.join("no-api.sock").display().to_string(),
            vpp_stats_addr: dir.join("no-stats.sock").display().to_string(),
            ..Default::default()
        },
    );
    m.daemon.wait_for(&["vpp-warmup-done"], WAIT);
    assert_eq!(serving(&health_client(&m.grpc_addr)), Ok(ServingStatus::NOT_SERVING));
    drop(m);

    // Connected to a VPP without the weight API: NOT_SERVING.
    let legacy = Vpp::sim(&["--legacy"]);
    let m = start_maglevd(&legacy, &static_config(false), None, "");
    m.daemon.wait_for(&["vpp-warmup-done"], WAIT);
    assert_eq!(serving(&health_client(&m.grpc_addr)), Ok(ServingStatus::NOT_SERVING));
    drop(m);

    // A real one: SERVING, NOT_SERVING while it is gone, SERVING again.
    let vpp = Vpp::start();
    let m = start_maglevd(&vpp, &static_config(false), None, "");
    let h = health_client(&m.grpc_addr);
    let mut watch = h.watch(&HealthCheckRequest::new()).expect("Watch");
    let mut next = || -> ServingStatus {
        let r = futures_executor::block_on(watch.next()).expect("the Watch stream ended").expect("Watch");
        r.status.enum_value().expect("a known status")
    };
    let mut seen = vec![next()];
    while seen.last() != Some(&ServingStatus::SERVING) {
        seen.push(next());
    }
    let vpp = vpp.kill_and_restart();
    assert_eq!(next(), ServingStatus::NOT_SERVING, "VPP went away");
    assert_eq!(next(), ServingStatus::SERVING, "VPP came back");
    assert_eq!(serving(&h), Ok(ServingStatus::SERVING));
    vpp.wait_lb("the VIP rebuilt", WAIT, |vips| !Vpp::ases(vips, "192.0.2.1/32").is_empty());
}

#[test]
fn a_vip_whose_cli_line_cannot_be_parsed_is_left_alone_through_full_syncs() {
    let vpp = Vpp::sim(&[]);
    // Sticky: a parse miss that read as "not sticky" would re-create it.
    let m = start_maglevd(&vpp, &static_config(true), None, "");
    let h = health_client(&m.grpc_addr);
    wait_serving(&h, ServingStatus::SERVING);
    vpp.wait_lb("the sticky VIP", WAIT, |vips| {
        vips.iter().any(|v| v.addr.to_string() == "192.0.2.1" && v.src_ip_sticky && !v.ases.is_empty())
    });
    vpp.control("garble 192.0.2.1/32");
    let cursor = vpp.requests().len();
    let log_cursor = m.daemon.line_count();
    let c = client(&m.grpc_addr);
    for _ in 0..2 {
        let s = c.sync_vpplb_state(&pb::SyncVPPLBStateRequest::new()).expect("full sync");
        assert_eq!(
            (s.vips_added, s.vips_removed, s.ases_added, s.ases_removed, s.ases_weight_updated),
            (0, 0, 0, 0, 0),
            "{s:?}"
        );
    }
    let reqs = vpp.requests();
    let writes: Vec<_> = reqs[cursor..].iter().filter(|r| r.is_write()).collect();
    assert!(writes.is_empty(), "a VIP whose CLI line could not be read was written to: {writes:?}");
    assert!(
        reqs[cursor..].iter().filter(|r| r.msg() == "cli_inband").count() >= 2,
        "both syncs read the CLI"
    );
    let warned: Vec<_> = m
        .daemon
        .lines()
        .into_iter()
        .skip(log_cursor)
        .filter(|l| l.text.contains("vpp-cli-unparsed") && l.text.contains("192.0.2.1"))
        .collect();
    assert_eq!(warned.len(), 1, "warned once: {warned:?}");
    vpp.control("garble off");
    let state = vpp.control("state");
    assert!(
        state.iter().any(|l| l.starts_with("vip ") && l.contains("192.0.2.1/32") && !l.contains(" removed ")),
        "the VIP is still there: {state:?}"
    );
}
