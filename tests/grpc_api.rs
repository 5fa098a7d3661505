//! maglevd's gRPC API against a running daemon with real nginx backends on
//! loopback addresses: reads, operator actions, status codes, WatchEvents.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use grpcio::RpcStatusCode;
use maglev_proto::maglev as pb;
use testsupport::grpc::{
    client, slow_client, status_code, wait_backend_state, wait_frontend_state, wait_until,
};
use testsupport::net_host as addr;
use testsupport::{loopback_net, Maglevd, MaglevdOpts, Nginx};

const WAIT: Duration = Duration::from_secs(15);

/// Two backends (each with its own nginx, so each has its own access log),
/// one frontend with a primary and a fallback pool.
struct Setup {
    nginx: Vec<Nginx>,
    m: Maglevd,
    backends: Vec<(String, String)>,
}

fn setup(log_level: &'static str) -> Setup {
    let net = loopback_net();
    let backends: Vec<(String, String)> = (1..=2).map(|h| (format!("web{h}"), addr(net, h))).collect();
    let nginx: Vec<Nginx> =
        backends.iter().map(|(_, a)| Nginx::http(std::slice::from_ref(a), 8080)).collect();
    let mut y = String::from(
        "maglev:\n  healthchecker:\n    workers: 2\n    transition-history: 4\n  healthchecks:\n    http:\n      \
         type: http\n      port: 8080\n      interval: 100ms\n      timeout: 500ms\n      rise: 1\n      fall: 1\n      \
         jitter-percent: 0\n      http:\n        path: /healthz\n        expect-status: \"200-399,404\"\n        \
         headers: {Authorization: \"Bearer s3cret\", Accept: \"*/*\"}\n  backends:\n",
    );
    for (name, a) in &backends {
        let _ = writeln!(y, "    {name}:\n      address: {a}\n      healthcheck: http");
    }
    let _ = write!(
        y,
        "    static1:\n      address: {}\n  frontends:\n    web:\n      description: test web\n      address: {}\n      \
         protocol: tcp\n      port: 80\n      flush-on-down: true\n      pools:\n        - name: primary\n          \
         backends:\n            web1: {{weight: 60}}\n        - name: fallback\n          backends:\n            \
         web2: {{}}\n",
        addr(net, 3),
        addr(net, 200)
    );
    let m = Maglevd::start(&y, MaglevdOpts { log_level, ..Default::default() });
    Setup { nginx, m, backends }
}

#[test]
fn reads_list_and_get_with_full_content() {
    let s = setup("info");
    let c = client(&s.m.grpc_addr);
    for (name, _) in &s.backends {
        wait_backend_state(&c, name, "up", WAIT);
    }
    let list = c.list_backends(&pb::ListBackendsRequest::new()).expect("ListBackends");
    let names: Vec<&str> = list.backends.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["static1", "web1", "web2"]);
    let web1 = &list.backends[1];
    assert_eq!(web1.address, s.backends[0].1);
    assert_eq!(web1.healthcheck, "http");
    assert!(web1.enabled);
    assert_eq!(web1.health.rise, 1);
    assert_eq!(web1.last_result.code, "L7OK");
    assert!(web1.last_result.time_ns > 0);
    assert!(!web1.transitions.is_empty(), "history: {:?}", web1.transitions);
    assert_eq!(web1.transitions[0].to, "up");
    assert_eq!(web1.frontends, ["web"]);
    let static1 = &list.backends[0];
    assert!(static1.healthcheck.is_empty() && static1.health.is_none());

    let f = wait_frontend_state(&c, "web", "up", WAIT);
    assert_eq!(f.description, "test web");
    assert!(f.address.ends_with("/32"), "{}", f.address);
    assert_eq!((f.protocol.as_str(), f.port, f.flush_on_down), ("tcp", 80, true));
    assert_eq!(f.active_pool, "primary");
    assert_eq!(f.pools.len(), 2);
    let primary = &f.pools[0];
    assert!(primary.active);
    assert_eq!((primary.backends[0].name.as_str(), primary.backends[0].weight), ("web1", 60));
    assert_eq!(primary.backends[0].effective_weight, 60);
    assert_eq!(f.pools[1].backends[0].effective_weight, 0, "fallback gets nothing while primary serves");
    let all = c.list_frontends(&pb::ListFrontendsRequest::new()).expect("ListFrontends");
    assert_eq!(all.frontends.len(), 1);

    let hcs = c.list_health_checks(&pb::ListHealthChecksRequest::new()).expect("ListHealthChecks");
    assert_eq!(hcs.healthchecks.len(), 1);
    let hc = c
        .get_health_check(&pb::GetHealthCheckRequest { name: "http".into(), ..Default::default() })
        .expect("GetHealthCheck");
    assert_eq!(
        (hc.type_.as_str(), hc.port, hc.interval_ns, hc.rise, hc.fall),
        ("http", 8080, 100_000_000, 1, 1)
    );
    assert_eq!(hc.http.path, "/healthz");
    assert_eq!(hc.http.expect_status, "200-399,404");
    assert_eq!(hc.backends, ["web1", "web2"]);
    // Header values may be credentials: only harmless ones are shown.
    let headers: Vec<(&str, &str)> =
        hc.http.headers.iter().map(|h| (h.name.as_str(), h.value.as_str())).collect();
    assert_eq!(headers, [("Authorization", "<redacted>"), ("Accept", "*/*")]);
    assert!(
        !format!("{:?}", hcs.healthchecks).contains("s3cret"),
        "ListHealthChecks leaks a header value: {:?}",
        hcs.healthchecks
    );

    let v = c.get_version(&pb::GetVersionRequest::new()).expect("GetVersion");
    assert!(!v.version.is_empty() && !v.commit.is_empty());
}

#[test]
fn errors_carry_the_right_status_codes() {
    let s = setup("info");
    let c = client(&s.m.grpc_addr);
    let get = |name: &str| c.get_backend(&pb::GetBackendRequest { name: name.into(), ..Default::default() });
    assert_eq!(status_code(get("nope")).0, RpcStatusCode::NOT_FOUND);
    assert_eq!(status_code(get("")).0, RpcStatusCode::INVALID_ARGUMENT);
    let (code, msg) =
        status_code(c.get_frontend(&pb::GetFrontendRequest { name: "nope".into(), ..Default::default() }));
    assert_eq!(code, RpcStatusCode::NOT_FOUND);
    assert!(msg.contains("nope"), "{msg}");
    let weight = |w: u32, pool: &str| {
        c.set_frontend_pool_backend_weight(&pb::SetFrontendPoolBackendWeightRequest {
            frontend: "web".into(),
            pool: pool.into(),
            backend: "web1".into(),
            weight: w,
            ..Default::default()
        })
    };
    assert_eq!(status_code(weight(101, "primary")).0, RpcStatusCode::INVALID_ARGUMENT);
    assert_eq!(status_code(weight(50, "nope")).0, RpcStatusCode::NOT_FOUND);
    let act = |name: &str| pb::BackendActionRequest { name: name.into(), ..Default::default() };
    assert_eq!(status_code(c.pause_backend(&act("nope"))).0, RpcStatusCode::NOT_FOUND);
    c.disable_backend(&act("web2")).expect("disable");
    let (code, msg) = status_code(c.pause_backend(&act("web2")));
    assert_eq!(code, RpcStatusCode::FAILED_PRECONDITION, "{msg}");
    assert_eq!(status_code(c.resume_backend(&act("web2"))).0, RpcStatusCode::FAILED_PRECONDITION);
    let (code, msg) = status_code(c.get_vpp_info(&pb::GetVPPInfoRequest::new()));
    assert_eq!(code, RpcStatusCode::UNAVAILABLE);
    assert!(msg.contains("VPP integration is disabled"), "{msg}");
    let bad_level = pb::WatchEventsRequest { log: true, log_level: "loud".into(), ..Default::default() };
    let mut stream = c.watch_events(&bad_level).expect("call starts");
    let first = futures_executor::block_on(stream.next());
    assert!(
        matches!(&first, Some(Err(grpcio::Error::RpcFailure(s))) if s.code() == RpcStatusCode::INVALID_ARGUMENT),
        "{first:?}"
    );
}

/// Polls the access log until it stops growing for `quiet` (probes every
/// 100ms, so a quiet period of 1s is ten missed probes).
fn wait_quiet(n: &Nginx, quiet: Duration) -> usize {
    let mut last = n.access_count();
    let mut since = Instant::now();
    let deadline = Instant::now() + WAIT;
    while since.elapsed() < quiet {
        assert!(Instant::now() < deadline, "access log kept growing: probes did not stop");
        std::thread::sleep(Duration::from_millis(100));
        let now = n.access_count();
        if now != last {
            last = now;
            since = Instant::now();
        }
    }
    last
}

fn wait_growing(n: &Nginx, from: usize) {
    wait_until("probes to reach nginx again", WAIT, || {
        let now = n.access_count();
        if now > from + 2 {
            Ok(())
        } else {
            Err(format!("{now} access-log lines, was {from}"))
        }
    });
}

#[test]
fn pause_and_disable_stop_the_probes_and_resume_and_enable_restart_them() {
    let s = setup("info");
    let c = client(&s.m.grpc_addr);
    let act = |name: &str| pb::BackendActionRequest { name: name.into(), ..Default::default() };
    wait_backend_state(&c, "web1", "up", WAIT);

    let b = c.pause_backend(&act("web1")).expect("pause");
    assert_eq!(b.state, "paused");
    let count = wait_quiet(&s.nginx[0], Duration::from_secs(1));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(s.nginx[0].access_count(), count, "a paused backend was probed");
    let b = c.resume_backend(&act("web1")).expect("resume");
    assert!(b.state == "unknown" || b.state == "up", "{}", b.state);
    wait_growing(&s.nginx[0], count);
    wait_backend_state(&c, "web1", "up", WAIT);

    let b = c.disable_backend(&act("web1")).expect("disable");
    assert_eq!((b.state.as_str(), b.enabled), ("disabled", false));
    let f = c
        .get_frontend(&pb::GetFrontendRequest { name: "web".into(), ..Default::default() })
        .expect("frontend");
    assert_eq!(f.pools[0].backends[0].effective_weight, 0);
    assert!(!f.pools[0].backends[0].enabled);
    let count = wait_quiet(&s.nginx[0], Duration::from_secs(1));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(s.nginx[0].access_count(), count, "a disabled backend was probed");
    c.enable_backend(&act("web1")).expect("enable");
    wait_growing(&s.nginx[0], count);
    let b = wait_backend_state(&c, "web1", "up", WAIT);
    assert!(b.enabled);
    let codes: Vec<&str> = b.transitions.iter().map(|t| t.code.as_str()).collect();
    assert!(codes.contains(&"disable") || codes.contains(&"enable"), "history: {codes:?}");
}

#[test]
fn set_weight_changes_the_effective_weight() {
    let s = setup("info");
    let c = client(&s.m.grpc_addr);
    wait_frontend_state(&c, "web", "up", WAIT);
    wait_backend_state(&c, "web1", "up", WAIT);
    let f = c
        .set_frontend_pool_backend_weight(&pb::SetFrontendPoolBackendWeightRequest {
            frontend: "web".into(),
            pool: "primary".into(),
            backend: "web1".into(),
            weight: 25,
            ..Default::default()
        })
        .expect("set weight");
    assert_eq!((f.pools[0].backends[0].weight, f.pools[0].backends[0].effective_weight), (25, 25));
    // Weight 0 in the only primary backend fails over to the fallback pool.
    wait_backend_state(&c, "web2", "up", WAIT);
    let f = c
        .set_frontend_pool_backend_weight(&pb::SetFrontendPoolBackendWeightRequest {
            frontend: "web".into(),
            pool: "primary".into(),
            backend: "web1".into(),
            weight: 0,
            flush: true,
            ..Default::default()
        })
        .expect("set weight 0");
    assert_eq!(f.active_pool, "fallback");
    assert_eq!(f.pools[1].backends[0].effective_weight, 100);
}

fn next_event(stream: &mut grpcio::ClientSStreamReceiver<pb::Event>) -> pb::Event {
    let (tx, rx) = crossbeam_channel::bounded(1);
    // The stream is polled on this thread; the deadline comes from a timer
    // thread that cannot interrupt it, so poll with a bounded helper.
    std::thread::scope(|sc| {
        sc.spawn(|| {
            let _ = tx.send(futures_executor::block_on(stream.next()));
        });
        match rx.recv_timeout(WAIT) {
            Ok(Some(Ok(ev))) => ev,
            Ok(other) => panic!("stream ended: {other:?}"),
            Err(_) => panic!("no event within {WAIT:?}"),
        }
    })
}

#[test]
fn watch_events_sends_the_snapshot_then_transitions_in_order() {
    let s = setup("info");
    let c = client(&s.m.grpc_addr);
    wait_frontend_state(&c, "web", "up", WAIT);
    wait_backend_state(&c, "web1", "up", WAIT);
    wait_backend_state(&c, "web2", "up", WAIT);
    let mut stream = c.watch_events(&pb::WatchEventsRequest::new()).expect("watch");
    // The initial snapshot: 3 backends and 1 frontend, each with from == to.
    let mut seen = Vec::new();
    for _ in 0..4 {
        match next_event(&mut stream).event {
            Some(pb::event::Event::Backend(b)) => {
                assert_eq!(b.from, b.to);
                seen.push(b.backend);
            }
            Some(pb::event::Event::Frontend(f)) => {
                assert_eq!((f.from.as_str(), f.to.as_str()), ("up", "up"));
                seen.push(f.frontend);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    seen.sort();
    assert_eq!(seen, ["static1", "web", "web1", "web2"]);

    // Disabling both web backends takes the frontend down: the backend
    // transitions come first, then the frontend's.
    let act = |name: &str| pb::BackendActionRequest { name: name.into(), ..Default::default() };
    c.disable_backend(&act("web2")).expect("disable web2");
    c.disable_backend(&act("web1")).expect("disable web1");
    let mut order = Vec::new();
    while order.len() < 3 {
        match next_event(&mut stream).event {
            Some(pb::event::Event::Backend(b)) => {
                assert_eq!((b.from.as_str(), b.to.as_str(), b.code.as_str()), ("up", "disabled", "disable"));
                order.push(format!("backend {}", b.backend));
            }
            Some(pb::event::Event::Frontend(f)) => {
                assert_eq!((f.from.as_str(), f.to.as_str()), ("up", "down"));
                order.push(format!("frontend {}", f.frontend));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(order, ["backend web2", "backend web1", "frontend web"]);
}

#[test]
fn watch_events_sends_log_events_at_the_subscribers_level() {
    // The daemon logs at info on stderr; a subscriber gets its own level.
    let s = setup("info");
    let c = client(&s.m.grpc_addr);
    let watch = |level: &str| {
        c.watch_events(&pb::WatchEventsRequest { log: true, log_level: level.into(), ..Default::default() })
            .expect("watch")
    };
    let mut debug = watch("debug");
    let mut info = watch("info");
    // Probe results are logged at debug: the debug subscriber sees them.
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < deadline, "no debug probe-result log event");
        if let Some(pb::event::Event::Log(l)) = next_event(&mut debug).event {
            assert!(!l.message.is_empty() && l.time_ns > 0);
            if l.event == "probe-result" {
                assert_eq!(l.level, "debug");
                assert!(l.fields.iter().any(|f| f.key == "backend"), "{l:?}");
                break;
            }
        }
    }
    // The info subscriber gets the transition of a pause, and nothing below
    // info before it.
    c.pause_backend(&pb::BackendActionRequest { name: "web1".into(), ..Default::default() }).expect("pause");
    loop {
        match next_event(&mut info).event {
            Some(pb::event::Event::Log(l)) => {
                assert!(["info", "warn", "error"].contains(&l.level.as_str()), "{l:?}");
                if l.event == "backend-transition"
                    && l.fields.iter().any(|f| f.key == "to" && f.value == "paused")
                {
                    assert!(l.fields.iter().any(|f| f.key == "backend" && f.value == "web1"), "{l:?}");
                    break;
                }
            }
            other => panic!("log-only subscriber got {other:?}"),
        }
    }
}

#[test]
fn a_subscriber_that_never_reads_is_cut_off_while_others_carry_on() {
    let s = setup("info");
    let c = client(&s.m.grpc_addr);
    wait_backend_state(&c, "web1", "up", WAIT);
    let slow = slow_client(&s.m.grpc_addr);
    let req =
        pb::WatchEventsRequest { log: true, log_level: "trace".into(), backend: true, ..Default::default() };
    let mut stalled = slow.watch_events(&req).expect("slow watch");
    // The healthy subscriber is read all along on its own thread.
    let mut healthy =
        c.watch_events(&pb::WatchEventsRequest { backend: true, ..Default::default() }).expect("watch");
    let (tx, healthy_events) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        while let Some(Ok(ev)) = futures_executor::block_on(healthy.next()) {
            if tx.send(ev).is_err() {
                return;
            }
        }
    });
    let cursor = s.m.daemon.line_count();
    let act = pb::BackendActionRequest { name: "web1".into(), ..Default::default() };
    // Churn until the daemon says it cut a subscriber (bounded).
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut rounds = 0;
    while s.m.daemon.try_wait_for_from(cursor, &["watch-overflow"], Duration::from_millis(1)).is_none() {
        assert!(Instant::now() < deadline, "no watch-overflow after {rounds} pause/resume rounds");
        c.pause_backend(&act).expect("pause");
        c.resume_backend(&act).expect("resume");
        rounds += 1;
    }
    let line = s.m.daemon.wait_for_from(cursor, &["watch-overflow", "subscriber="], WAIT);
    assert!(line.text.contains("subscriber="), "{}", line.text);
    // The stalled stream, once read, ends with RESOURCE_EXHAUSTED.
    let deadline = Instant::now() + Duration::from_secs(60);
    let end = loop {
        assert!(Instant::now() < deadline, "the stalled stream did not end");
        match futures_executor::block_on(stalled.next()) {
            Some(Ok(_)) => continue,
            Some(Err(e)) => break Some(e),
            None => break None,
        }
    };
    match end {
        Some(grpcio::Error::RpcFailure(st)) => {
            assert_eq!(st.code(), RpcStatusCode::RESOURCE_EXHAUSTED, "{st:?}")
        }
        other => panic!("expected RESOURCE_EXHAUSTED, got {other:?}"),
    }
    // The daemon and the other subscriber carry on.
    while healthy_events.try_recv().is_ok() {}
    wait_backend_state(&c, "web1", "up", WAIT);
    c.pause_backend(&act).expect("pause after the overflow");
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match healthy_events.recv_timeout(left) {
            Ok(pb::Event { event: Some(pb::event::Event::Backend(b)), .. }) if b.to == "paused" => break,
            Ok(_) => {}
            Err(_) => panic!("the healthy subscriber got no pause event after the overflow"),
        }
    }
}

#[test]
fn sigterm_ends_open_streams_and_maglevd_exits_cleanly() {
    let mut s = setup("info");
    let c = client(&s.m.grpc_addr);
    let mut stream = c.watch_events(&pb::WatchEventsRequest::new()).expect("watch");
    next_event(&mut stream);
    // A health Watch and a reflection stream held open by their clients.
    let env = std::sync::Arc::new(grpcio::EnvBuilder::new().cq_count(1).build());
    let channel = grpcio::ChannelBuilder::new(env).connect(&s.m.grpc_addr);
    let health = maglev_proto::health_v1_grpc::HealthClient::new(channel.clone());
    let mut health_watch =
        health.watch(&maglev_proto::health_v1::HealthCheckRequest::new()).expect("health watch");
    let first = futures_executor::block_on(health_watch.next());
    assert!(matches!(first, Some(Ok(_))), "{first:?}");
    let reflection = maglev_proto::reflection_v1_grpc::ServerReflectionClient::new(channel);
    let (_reflection_tx, _reflection_rx) = reflection.server_reflection_info().expect("reflection stream");
    s.m.daemon.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(s.m.daemon.wait_exit(WAIT), Some(0), "maglevd did not exit cleanly with streams open");
    // The stream ends (after what was already queued) instead of hanging.
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < deadline, "the stream did not end");
        match futures_executor::block_on(stream.next()) {
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break,
        }
    }
}

#[test]
fn check_and_reload_config_report_errors_and_keep_the_running_config() {
    let s = setup("info");
    let c = client(&s.m.grpc_addr);
    let good = std::fs::read_to_string(&s.m.config).expect("read config");
    let check = || c.check_config(&pb::CheckConfigRequest::new()).expect("CheckConfig");
    let ok = check();
    assert_eq!(ok.status.enum_value(), Ok(pb::ConfigStatus::CONFIG_OK));
    assert_eq!(ok.path, s.m.config.display().to_string());

    // A parse error (unknown key): INVALID_ARGUMENT, nothing applied.
    std::fs::write(&s.m.config, good.replace("  backends:\n", "  bogus: 1\n  backends:\n")).expect("write");
    let r = check();
    assert_eq!(r.status.enum_value(), Ok(pb::ConfigStatus::CONFIG_PARSE_ERROR));
    assert!(r.errors.iter().any(|e| e.contains("bogus")), "{:?}", r.errors);
    let (code, msg) = status_code(c.reload_config(&pb::ReloadConfigRequest::new()));
    assert_eq!(code, RpcStatusCode::INVALID_ARGUMENT, "{msg}");
    assert!(msg.contains("bogus"), "{msg}");

    // A semantic error (unknown backend in a pool): FAILED_PRECONDITION.
    std::fs::write(&s.m.config, good.replace("web2: {}", "web9: {}")).expect("write");
    let r = check();
    assert_eq!(r.status.enum_value(), Ok(pb::ConfigStatus::CONFIG_SEMANTIC_ERROR));
    assert!(r.errors.iter().any(|e| e.contains("web9")), "{:?}", r.errors);
    let (code, msg) = status_code(c.reload_config(&pb::ReloadConfigRequest::new()));
    assert_eq!(code, RpcStatusCode::FAILED_PRECONDITION, "{msg}");
    let f = c
        .get_frontend(&pb::GetFrontendRequest { name: "web".into(), ..Default::default() })
        .expect("frontend");
    assert_eq!(f.pools[1].backends[0].name, "web2", "the running config is kept");

    // A valid change is applied and summarized.
    std::fs::write(
        &s.m.config,
        good.replace("    static1:\n", "    static2:\n      address: 127.0.0.9\n    static1:\n"),
    )
    .expect("write");
    let r = c.reload_config(&pb::ReloadConfigRequest::new()).expect("reload");
    assert_eq!(r.added, ["static2"]);
    assert!(r.unchanged.contains(&"web1".to_string()), "{r:?}");
}

#[test]
fn the_watch_stream_over_the_cap_is_refused_while_the_others_go_on() {
    let s = setup("info");
    let c = client(&s.m.grpc_addr);
    wait_backend_state(&c, "web1", "up", WAIT);
    let req = pb::WatchEventsRequest { backend: true, ..Default::default() };
    // The default cap is 64; each open stream first sends the current state.
    let mut open: Vec<_> = (0..64).map(|_| c.watch_events(&req).expect("watch")).collect();
    for st in &mut open {
        next_event(st);
    }
    let mut extra = c.watch_events(&req).expect("start the 65th stream");
    match futures_executor::block_on(extra.next()) {
        Some(Err(grpcio::Error::RpcFailure(st))) => {
            assert_eq!(st.code(), RpcStatusCode::RESOURCE_EXHAUSTED, "{st:?}");
            assert!(st.message().contains("--max-watch-streams"), "{st:?}");
        }
        other => panic!("the 65th stream was not refused: {other:?}"),
    }
    s.m.daemon.wait_for(&["watch-refused", "open=64"], WAIT);
    // The 64 go on: each sees the pause.
    let act = pb::BackendActionRequest { name: "web1".into(), ..Default::default() };
    c.pause_backend(&act).expect("pause");
    for st in &mut open {
        loop {
            if let Some(pb::event::Event::Backend(b)) = next_event(st).event {
                if b.backend == "web1" && b.to == "paused" {
                    break;
                }
            }
        }
    }
    // A stream that ends gives its place back.
    drop(open.pop());
    wait_until("a new stream once one has closed", WAIT, || {
        let mut st = c.watch_events(&req).map_err(|e| e.to_string())?;
        match futures_executor::block_on(st.next()) {
            Some(Ok(_)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
}

#[test]
fn more_simultaneous_calls_than_armed_slots_are_all_answered() {
    // The server arms a few dozen call slots per completion queue; a burst
    // well beyond them waits its turn and is answered, none refused.
    const CALLS: usize = 300;
    let s = setup("info");
    let c = client(&s.m.grpc_addr);
    let calls: Vec<_> = (0..CALLS)
        .map(|_| c.list_backends_async(&pb::ListBackendsRequest::new()).expect("start ListBackends"))
        .collect();
    let answered = futures_executor::block_on(futures_util::future::join_all(calls));
    for (i, r) in answered.into_iter().enumerate() {
        let list = r.unwrap_or_else(|e| panic!("call {i} of {CALLS} failed: {e}"));
        assert_eq!(list.backends.len(), 3, "call {i}");
    }
}
