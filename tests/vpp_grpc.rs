//! The VPP RPCs and the health service against maglevd driving the VPP of
//! the suite (real VPP or vppsim).

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use grpcio::{ChannelBuilder, EnvBuilder, RpcStatusCode};
use maglev_proto::health_v1::health_check_response::ServingStatus;
use maglev_proto::health_v1::HealthCheckRequest;
use maglev_proto::health_v1_grpc::HealthClient;
use maglev_proto::maglev as pb;
use testsupport::grpc::{client, status_code, wait_until};
use testsupport::{bin, Maglevd, MaglevdOpts, Vpp};

const WAIT: Duration = Duration::from_secs(20);

const CONFIG: &str = "\
maglev:
  vpp:
    lb:
      ipv4-src-address: 192.0.2.254
      startup-min-delay: 200ms
      startup-max-delay: 2s
  backends:
    static-a:
      address: 127.0.0.1
  frontends:
    web:
      address: 192.0.2.1
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends:
            static-a: {}
";

#[test]
fn vpp_rpcs_answer_from_vpp_and_health_turns_serving_after_the_warmup() {
    let sim = Vpp::start();
    let m = Maglevd::start(
        CONFIG,
        MaglevdOpts {
            vpp_api_addr: sim.api_socket.display().to_string(),
            vpp_stats_addr: sim.stats_socket.display().to_string(),
            ..Default::default()
        },
    );
    let c = client(&m.grpc_addr);
    let env = Arc::new(EnvBuilder::new().cq_count(1).build());
    let health = HealthClient::new(ChannelBuilder::new(env).connect(&m.grpc_addr));
    wait_until("health SERVING after the warmup", WAIT, || match health.check(&HealthCheckRequest::new()) {
        Ok(r) if r.status.enum_value() == Ok(ServingStatus::SERVING) => Ok(()),
        other => Err(format!("{other:?}")),
    });
    let unknown = HealthCheckRequest { service: "nope.Nope".into(), ..Default::default() };
    assert_eq!(status_code(health.check(&unknown)).0, RpcStatusCode::NOT_FOUND);

    let info = wait_until("GetVPPInfo", WAIT, || {
        c.get_vpp_info(&pb::GetVPPInfoRequest::new()).map_err(|e| e.to_string())
    });
    assert!(!info.version.is_empty() && info.pid > 0 && info.connecttime_ns > 0, "{info:?}");

    let state = wait_until("the VIP with its AS in VPP", WAIT, || {
        let s = c.get_vpplb_state(&pb::GetVPPLBStateRequest::new()).map_err(|e| e.to_string())?;
        match s.vips.iter().find(|v| v.prefix == "192.0.2.1/32") {
            Some(v) if v.ases.iter().any(|a| a.address == "127.0.0.1" && a.weight == 100) => Ok(s),
            _ => Err(format!("{s:?}")),
        }
    });
    assert_eq!(state.conf.ipv4_src_address, "192.0.2.254");
    let vip = state.vips.iter().find(|v| v.prefix == "192.0.2.1/32").expect("vip");
    assert_eq!(
        (vip.protocol.as_str(), vip.port, vip.frontend.as_str(), vip.encap.as_str()),
        ("tcp", 80, "web", "gre4")
    );

    let synced = c.sync_vpplb_state(&pb::SyncVPPLBStateRequest::new()).expect("full sync");
    assert_eq!(
        synced.vips_added + synced.ases_added + synced.ases_weight_updated,
        0,
        "nothing to change: {synced:?}"
    );
    let one = pb::SyncVPPLBStateRequest { frontend: "web".into(), ..Default::default() };
    c.sync_vpplb_state(&one).expect("one frontend's sync");
    let nope = pb::SyncVPPLBStateRequest { frontend: "nope".into(), ..Default::default() };
    assert_eq!(status_code(c.sync_vpplb_state(&nope)).0, RpcStatusCode::NOT_FOUND);

    // Counters are read from the stats segment every few seconds.
    wait_until("the VIP's counters", WAIT, || {
        let counters =
            c.get_vpplb_counters(&pb::GetVPPLBCountersRequest::new()).map_err(|e| e.to_string())?;
        if counters.vips.iter().any(|v| v.frontend == "web" && v.prefix == "192.0.2.1/32") {
            Ok(())
        } else {
            Err(format!("{counters:?}"))
        }
    });
    let out = Command::new(bin("maglevc"))
        .args(["--server", &m.grpc_addr, "show", "vpp", "lb", "counters"])
        .output()
        .expect("run maglevc");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let header = text.lines().next().unwrap_or("");
    assert!(header.find("FIRST") < header.find("NEXT") && header.contains("FIB-BYTES"), "{text}");
    assert!(text.contains("web") && text.contains("192.0.2.1 "), "{text}");
}
