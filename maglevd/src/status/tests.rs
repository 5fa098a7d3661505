use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use vppapi::lb::VipKey;

use super::view::{self, StatusView};
use super::*;
use crate::checker::{BackendEvent, Checker, Event, NoObserver, Snapshot, Transition};
use crate::config::{self, LoadOptions};
use crate::health::{BackendState, HealthCounter};
use crate::probe::{ProbeResult, ResultCode};
use crate::vpp::warmup::Phase;
use crate::vpp::{SyncRecord, SyncSummary, VipCounters, VppInfo, VppStatus};

/// `backends` backends in frontends of `per_frontend` (two pools each),
/// all with a health counter; probes are an hour away.
fn config_yaml(backends: usize, per_frontend: usize, first_name: &str) -> String {
    let mut y = String::from(
        "maglev:\n  healthchecker:\n    workers: 1\n  healthchecks:\n    idle:\n      type: tcp\n      port: 1\n      interval: 1h\n  backends:\n",
    );
    let name = |i: usize| if i == 0 { first_name.to_string() } else { format!("backend-{i:03}") };
    for i in 0..backends {
        let _ = writeln!(
            y,
            "    '{}': {{address: 10.1.{}.{}, healthcheck: idle}}",
            name(i),
            i / 250,
            i % 250 + 1
        );
    }
    y.push_str("  frontends:\n");
    for f in 0..backends / per_frontend {
        let _ = writeln!(
            y,
            "    site-{f:02}:\n      description: web site {f}\n      address: 192.0.2.{}\n      protocol: tcp\n      port: 443\n      pools:",
            f + 1
        );
        for (pool, range) in [("primary", 0..per_frontend / 2), ("fallback", per_frontend / 2..per_frontend)]
        {
            let _ = writeln!(y, "        - name: {pool}\n          backends:");
            for k in range {
                let _ = writeln!(y, "            '{}': {{weight: {}}}", name(f * per_frontend + k), 50 + k);
            }
        }
    }
    y
}

/// A busy-looking status: every backend probed, with a transition; VPP
/// connected with counters; `RECENT` events.
fn fixture(backends: usize, first_name: &str) -> (Checker, Snapshot, VppStatus, Vec<Event>) {
    let yaml = config_yaml(backends, 10, first_name);
    let config = config::parse(&yaml, "test.yaml", LoadOptions::default()).expect("valid config");
    let checker = Checker::start(config, Arc::new(NoObserver)).expect("start checker");
    let mut snap = (*checker.handle().snapshot()).clone();
    let now = SystemTime::now();
    for b in snap.backends.values_mut() {
        let b = Arc::make_mut(b);
        b.state = BackendState::Up;
        b.counter = Some(HealthCounter::with_value(2, 3, 4));
        let mut r = ProbeResult::new(ResultCode::L7Ok, "HTTP status 200", Duration::from_micros(1234));
        r.http_status = Some(200);
        b.last_result = Some(r);
        b.last_result_at = Some(now - Duration::from_millis(700));
        b.history = Arc::new(vec![Transition {
            at: now - Duration::from_secs(4000),
            from: BackendState::Unknown,
            to: BackendState::Up,
            code: "L7OK".into(),
            detail: "HTTP status 200".into(),
        }]);
    }
    let counters: Vec<VipCounters> = snap
        .frontends
        .values()
        .enumerate()
        .map(|(i, f)| VipCounters {
            frontend: f.config.name.clone(),
            key: VipKey { addr: f.config.address, len: 32, protocol: 6, port: 443 },
            first: 123_456 + i as u64,
            next: 98_765_432_100,
            untracked: 12,
            no_server: 0,
            fib_packets: 98_765_555_555,
            fib_bytes: 123_456_789_012_345,
        })
        .collect();
    let vpp = VppStatus {
        connected: true,
        stats_connected: true,
        reason: String::new(),
        info: Some(VppInfo {
            version: "26.10-rc0~123-g0123456789".into(),
            build_date: "2026-10-01T00:00:00".into(),
            build_directory: "/build".into(),
            pid: 4242,
            boot_time: Some(now - Duration::from_secs(86_400 * 3)),
            connect_time: now - Duration::from_secs(3600),
        }),
        writable: true,
        warmup_done: true,
        warmup: Phase::Done,
        last_sync: Some(SyncRecord {
            at: now - Duration::from_secs(12),
            full: true,
            frontends: vec![],
            summary: SyncSummary { weights_updated: 3, ..SyncSummary::default() },
            duration: Duration::from_micros(2500),
        }),
        previous_counters: Arc::new(counters.clone()),
        previous_counters_at: Some(now - Duration::from_secs(5)),
        counters: Arc::new(counters),
        counters_at: Some(now),
    };
    let events = (0..crate::checker::events::RECENT)
        .map(|i| {
            Event::Backend(BackendEvent {
                backend: format!("backend-{i:03}"),
                address: "10.1.0.1".parse().expect("address"),
                from: BackendState::Up,
                to: BackendState::Down,
                code: "L7STS".into(),
                detail: "HTTP status 503".into(),
                at: now - Duration::from_secs(i as u64 * 60),
            })
        })
        .collect();
    (checker, snap, vpp, events)
}

fn build(backends: usize, first_name: &str) -> StatusView {
    let (_checker, snap, vpp, events) = fixture(backends, first_name);
    view::build(&snap, Some(&vpp), &events, SystemTime::now() - Duration::from_secs(7200), SystemTime::now())
}

#[test]
fn the_page_for_100_backends_is_at_most_60_kb() {
    let html = render(&build(100, "backend-000"));
    if let Some(path) = std::env::var_os("STATUS_PAGE_DUMP") {
        std::fs::write(path, &html).expect("dump");
    }
    assert!(html.len() <= 60 * 1024, "{} bytes", html.len());
    // Everything is there: every backend row and member row, every VIP.
    assert_eq!(html.matches("<tr id=\"b-").count(), 100);
    assert_eq!(html.matches("<tbody id=\"f-").count(), 10);
    assert_eq!(html.matches("<tr class=\"act\">").count(), 50, "the members of the active pools");
    assert!(html.contains("<tr class=\"act\"><td>primary</td><td>backend-030</td>"), "{html}");
    assert!(html.contains("<td>3/3</td>"), "health as HAProxy shows it");
    assert!(html.contains("<dd id=\"v-warm\">done</dd>"));
}

#[test]
fn names_are_escaped_in_the_page() {
    let html = render(&build(10, "a<b>\"&x"));
    assert!(html.contains("<tr id=\"b-a&lt;b&gt;&quot;&amp;x\"><td>a&lt;b&gt;&quot;&amp;x</td>"), "{html}");
    assert!(!html.contains("a<b>"));
}

#[test]
fn the_view_follows_the_snapshot_and_vpp() {
    let v = build(20, "backend-000");
    assert_eq!(v.frontends.len(), 2);
    let f = &v.frontends[0];
    assert_eq!(
        (f.name.as_str(), f.address.as_str(), f.protocol.as_str(), f.port),
        ("site-00", "192.0.2.1/32", "tcp", 443)
    );
    assert_eq!(f.pools.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["primary", "fallback"]);
    assert_eq!(f.pools[0].backends[1].weight, 51);
    let b = &v.backends[0];
    assert_eq!((b.state.as_str(), b.health.as_ref().map(|h| h.text.as_str())), ("up", Some("3/3")));
    assert_eq!(b.last_result.as_ref().map(|r| (r.code.as_str(), r.http_status)), Some(("L7OK", Some(200))));
    assert_eq!(b.frontends, ["site-00"]);
    let vpp = v.vpp.as_ref().expect("vpp");
    assert_eq!((vpp.connected, vpp.warmup.as_str()), (true, "done"));
    assert_eq!(vpp.last_sync.as_ref().map(|s| (s.scope.as_str(), s.weights_updated)), Some(("all", 3)));
    // The same counters five seconds apart: zero rates, not missing ones.
    assert_eq!(vpp.vips[0].packets_rate, Some(0.0));
    assert_eq!(v.events.len(), crate::checker::events::RECENT);
    let json: serde_json::Value = serde_json::to_value(&v).expect("json");
    assert_eq!(json["frontends"][0]["pools"][0]["active"], true);
    assert_eq!(json["backends"][0]["health"]["text"], "3/3");
}

#[test]
fn ages_and_counters_read_at_a_glance() {
    use super::html::{age, si};
    assert_eq!(age(10_000, 10_000), "0s");
    assert_eq!(age(200_000, 8_000), "3m12s");
    assert_eq!(age(7_500_000, 0), "2h05m");
    assert_eq!(age(3 * 86_400_000 + 4 * 3_600_000, 0), "3d04h");
    assert_eq!(age(0, 5_000), "0s", "a time in the future is now");
    assert_eq!(si(1234.0), "1234");
    assert_eq!(si(12_345.0), "12.3k");
    assert_eq!(si(4_560_000.0), "4.56M");
    assert_eq!(si(123_456_789_012_345.0), "123T");
    assert_eq!(si(0.5), "0.5");
}

#[test]
fn a_page_that_stops_reading_is_dropped() {
    use crate::checker::Command;
    use std::net::{TcpListener, TcpStream};

    let yaml = config_yaml(10, 10, "backend-000");
    let config = config::parse(&yaml, "test.yaml", LoadOptions::default()).expect("valid config");
    let checker = Checker::start(config, Arc::new(NoObserver)).expect("start checker");
    let handle = checker.handle();
    let source = Arc::new(StatusSource { checker: handle.clone(), vpp: None, started: SystemTime::now() });

    // A client that never reads, with small buffers on both sides so the
    // stream's writes block soon.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    client.set_recv_buffer_size(4096).expect("rcvbuf");
    client.connect(&listener.local_addr().expect("addr").into()).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    socket2::SockRef::from(&server).set_send_buffer_size(4096).expect("sndbuf");
    server.set_write_timeout(Some(Duration::from_secs(1))).expect("write timeout");

    let before = handle.subscriber_count();
    let (_stop, shutdown) = crossbeam_channel::bounded::<()>(0);
    let (done_tx, done) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        stream::run(source, crate::http::StreamCtx { socket: server, shutdown });
        let _ = done_tx.send(());
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while handle.subscriber_count() == before {
        assert!(std::time::Instant::now() < deadline, "the stream never subscribed");
        std::thread::sleep(Duration::from_millis(5));
    }
    // More transitions than the stream may queue: each pause and resume is
    // one (the last round pauses backend-000..003).
    for i in 0..stream::QUEUE_CAPACITY {
        let backend = format!("backend-{:03}", i % 10);
        let cmd = if (i / 10) % 2 == 0 { Command::Pause { backend } } else { Command::Resume { backend } };
        handle.command(cmd).expect("command");
    }
    assert!(done.recv_timeout(Duration::from_secs(10)).is_ok(), "a page that does not read is still served");
    // One more transition: the bus forgets a subscriber that has gone.
    handle.command(Command::Resume { backend: "backend-000".into() }).expect("command");
    assert_eq!(handle.subscriber_count(), before, "the dropped page is still subscribed");
    drop(TcpStream::from(client));
}
