//! maglevd's health checker against real backends: nginx on loopback
//! addresses and inside network namespaces, TLS, ICMP, hanging servers,
//! reloads and `--check`.

use std::fmt::Write as _;
use std::io::Read;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use testsupport::net_host as addr;
use testsupport::nginx::{in_netns, NginxSpec};
use testsupport::{bin, loopback_net, unique_name, Maglevd, MaglevdOpts, NetNs, Nginx, TempDir, VethPair};

const UP_WAIT: Duration = Duration::from_secs(10);

/// A healthcheck block (YAML, indented for `healthchecks:`).
fn check(name: &str, body: &str) -> String {
    let mut s = format!("    {name}:\n");
    for line in body.lines() {
        let _ = writeln!(s, "      {line}");
    }
    s
}

fn config(healthchecks: &str, backends: &[(String, String, Option<&str>)], frontends: &str) -> String {
    let mut s = String::from("maglev:\n  healthchecker:\n    workers: 4\n");
    if !healthchecks.is_empty() {
        s.push_str("  healthchecks:\n");
        s.push_str(healthchecks);
    }
    s.push_str("  backends:\n");
    for (name, address, hc) in backends {
        let _ = writeln!(s, "    {name}:\n      address: {address}");
        if let Some(hc) = hc {
            let _ = writeln!(s, "      healthcheck: {hc}");
        }
    }
    if !frontends.is_empty() {
        s.push_str("  frontends:\n");
        s.push_str(frontends);
    }
    s
}

const FAST_HTTP: &str =
    "type: http\nport: 8080\ninterval: 200ms\ntimeout: 300ms\nrise: 2\nfall: 2\njitter-percent: 0\n";

#[test]
fn backends_follow_nginx_up_down_up_within_fall_times_interval() {
    let net = loopback_net();
    let addrs: Vec<String> = (1..=3).map(|h| addr(net, h)).collect();
    let mut nginx = Nginx::http(&addrs, 8080);
    let ns = NetNs::new(&unique_name("mgtn"));
    let _ns_nginx = in_netns(&ns, &["127.0.0.1:8080"]);

    let mut hcs = check("http", FAST_HTTP);
    hcs.push_str(&check("http-ns", &format!("{FAST_HTTP}netns: {}\n", ns.name)));
    let mut backends: Vec<(String, String, Option<&str>)> =
        addrs.iter().enumerate().map(|(i, a)| (format!("web{i}"), a.clone(), Some("http"))).collect();
    backends.push(("web-ns".into(), "127.0.0.1".into(), Some("http-ns")));
    let m = Maglevd::start(&config(&hcs, &backends, ""), MaglevdOpts::default());

    for (name, _, _) in &backends {
        m.daemon.wait_for(&["backend-transition", &format!("backend={name} "), "to=up"], UP_WAIT);
    }

    // Stop the whole instance: web0..web2 go down; measure the first.
    let cursor = m.daemon.line_count();
    let stopped_at = Instant::now();
    nginx.stop();
    let line = m.daemon.wait_for_from(cursor, &["backend-transition", "backend=web1 ", "to=down"], UP_WAIT);
    let took = line.at.duration_since(stopped_at);
    // fall (2) x interval (200ms) + one timeout (300ms), plus scheduling slack.
    let bound = Duration::from_millis(2 * 200 + 300 + 150);
    assert!(took <= bound, "web1 went down after {took:?}, more than {bound:?}: {}", line.text);
    assert!(line.text.contains("from=up"), "{}", line.text);
    assert!(line.text.contains("code=L4CON"), "refused connections are L4CON: {}", line.text);
    assert!(line.text.contains("detail="), "{}", line.text);

    for name in ["web0", "web2"] {
        m.daemon.wait_for_from(
            cursor,
            &["backend-transition", &format!("backend={name} "), "to=down"],
            UP_WAIT,
        );
    }
    // The namespaced backend is unaffected.
    let cursor2 = m.daemon.line_count();
    nginx.restart();
    for name in ["web0", "web1", "web2"] {
        m.daemon.wait_for_from(
            cursor2,
            &["backend-transition", &format!("backend={name} "), "to=up"],
            UP_WAIT,
        );
    }
    assert!(
        !m.daemon.lines()[cursor..].iter().any(|l| l.text.contains("backend=web-ns ")),
        "the namespaced backend must not change state"
    );
}

#[test]
fn https_verification_modes() {
    let net = loopback_net();
    let a = addr(net, 1);
    let nginx = Nginx::start(NginxSpec { http: vec![], https: vec![format!("{a}:8443")], netns: None });
    let base = "type: https\nport: 8443\ninterval: 200ms\ntimeout: 1s\nrise: 1\nfall: 1\n";
    let mut hcs = check("noverify", &format!("{base}tls:\n  verify: false\n"));
    hcs.push_str(&check(
        "verify-system",
        &format!("{base}tls:\n  verify: true\n  server-name: maglev-test\n"),
    ));
    hcs.push_str(&check(
        "verify-ca",
        &format!(
            "{base}tls:\n  verify: true\n  server-name: maglev-test\n  ca-file: {}\n",
            nginx.cert_path().display()
        ),
    ));
    let backends = vec![
        ("tls-noverify".to_string(), a.clone(), Some("noverify")),
        ("tls-system".to_string(), a.clone(), Some("verify-system")),
        ("tls-ca".to_string(), a.clone(), Some("verify-ca")),
    ];
    let m = Maglevd::start(&config(&hcs, &backends, ""), MaglevdOpts::default());
    m.daemon.wait_for(&["backend-transition", "backend=tls-noverify ", "to=up", "code=L7OK"], UP_WAIT);
    m.daemon.wait_for(&["backend-transition", "backend=tls-ca ", "to=up", "code=L7OK"], UP_WAIT);
    m.daemon.wait_for(&["backend-transition", "backend=tls-system ", "to=down", "code=L6RSP"], UP_WAIT);
}

#[test]
fn icmp_into_a_namespace_and_l3tout_when_the_address_goes() {
    let prober = NetNs::new(&unique_name("mgtp"));
    let host = NetNs::new(&unique_name("mgth"));
    let veth = VethPair::new(&prober, "10.213.7.1/24", &host, "10.213.7.2/24");
    let hcs = check(
        "ping",
        &format!("type: icmp\ninterval: 200ms\ntimeout: 300ms\nrise: 1\nfall: 1\nnetns: {}\n", prober.name),
    );
    let backends = vec![("pinged".to_string(), "10.213.7.2".to_string(), Some("ping"))];
    let m = Maglevd::start(&config(&hcs, &backends, ""), MaglevdOpts::default());
    m.daemon.wait_for(&["backend-transition", "backend=pinged ", "to=up", "code=L3OK"], UP_WAIT);
    host.del_addr("10.213.7.2/24", &veth.b_dev);
    m.daemon.wait_for(&["backend-transition", "backend=pinged ", "to=down", "code=L3TOUT"], UP_WAIT);
}

#[test]
fn netns_healthcheck_reaches_a_backend_only_visible_inside() {
    let ns = NetNs::new(&unique_name("mgto"));
    // Listening on the namespace's own loopback: invisible from outside.
    let _n = in_netns(&ns, &["127.0.0.1:8081"]);
    let base = "type: tcp\nport: 8081\ninterval: 200ms\ntimeout: 300ms\nrise: 1\nfall: 1\n";
    let mut hcs = check("inside", &format!("{base}netns: {}\n", ns.name));
    hcs.push_str(&check("outside", base));
    hcs.push_str(&check("missing", &format!("{base}netns: mgt-no-such-ns\n")));
    let backends = vec![
        ("in".to_string(), "127.0.0.1".to_string(), Some("inside")),
        ("out".to_string(), "127.0.0.1".to_string(), Some("outside")),
        ("lost".to_string(), "127.0.0.1".to_string(), Some("missing")),
    ];
    let m = Maglevd::start(&config(&hcs, &backends, ""), MaglevdOpts::default());
    m.daemon.wait_for(&["backend-transition", "backend=in ", "to=up", "code=L4OK"], UP_WAIT);
    m.daemon.wait_for(&["backend-transition", "backend=out ", "to=down", "code=L4CON"], UP_WAIT);
    let l = m.daemon.wait_for(&["backend-transition", "backend=lost ", "to=down", "code=SOCKERR"], UP_WAIT);
    assert!(l.text.contains("mgt-no-such-ns"), "the detail names the namespace: {}", l.text);
}

/// Accepts connections and never answers (kept open until dropped).
struct Silent {
    port: u16,
    _stop: std::sync::mpsc::Sender<()>,
}

fn silent_server(ip: &str) -> Silent {
    let listener = TcpListener::bind((ip, 0)).expect("bind silent server");
    let port = listener.local_addr().expect("local addr").port();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        loop {
            match rx.try_recv() {
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
                _ => return,
            }
            match listener.accept() {
                Ok((s, _)) => held.push(s),
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
            for s in &mut held {
                let mut buf = [0u8; 512];
                let _ = s.set_nonblocking(true);
                let _ = s.read(&mut buf);
            }
        }
    });
    Silent { port, _stop: tx }
}

#[test]
fn hanging_backend_times_out_while_fifty_healthy_ones_stay_up_on_time() {
    let net = loopback_net();
    let addrs: Vec<String> = (1..=50).map(|h| addr(net, h)).collect();
    let _nginx = Nginx::http(&addrs, 8080);
    let silent = silent_server("127.0.0.1");
    let interval_ms = 200;
    let mut hcs =
        check("http", &format!("type: http\nport: 8080\ninterval: {interval_ms}ms\ntimeout: 500ms\n"));
    hcs.push_str(&check(
        "hang",
        &format!(
            "type: http\nport: {}\ninterval: {interval_ms}ms\ntimeout: 500ms\nrise: 1\nfall: 1\n",
            silent.port
        ),
    ));
    let mut backends: Vec<(String, String, Option<&str>)> =
        addrs.iter().enumerate().map(|(i, a)| (format!("ok{i:02}"), a.clone(), Some("http"))).collect();
    backends.push(("hang".into(), "127.0.0.1".into(), Some("hang")));
    let m = Maglevd::start(
        &config(&hcs, &backends, ""),
        MaglevdOpts { log_level: "debug", ..Default::default() },
    );

    m.daemon.wait_for(&["backend-transition", "backend=hang ", "to=down", "code=L7TOUT"], UP_WAIT);
    for i in 0..50 {
        m.daemon.wait_for(&["backend-transition", &format!("backend=ok{i:02} "), "to=up"], UP_WAIT);
    }
    // Watch three more seconds of probing (bounded: the daemon keeps logging).
    let cursor = m.daemon.line_count();
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let _ =
            m.daemon.try_wait_for_from(m.daemon.line_count(), &["probe-result"], Duration::from_millis(200));
    }
    let lines = m.daemon.lines();
    let mut probes = 0;
    let mut worst = 0u64;
    for l in &lines[cursor..] {
        if let Some(late) = l.text.split_whitespace().find_map(|w| w.strip_prefix("late_ms=")) {
            probes += 1;
            worst = worst.max(late.parse().unwrap_or(u64::MAX));
        }
        assert!(
            !(l.text.contains("backend-transition") && l.text.contains("backend=ok")),
            "a healthy backend changed state: {}",
            l.text
        );
    }
    assert!(probes > 100, "expected many probes in 3s, saw {probes}");
    assert!(worst <= interval_ms, "a probe started {worst}ms late (more than one interval)");
}

#[test]
fn sighup_with_broken_file_keeps_config_and_state() {
    let net = loopback_net();
    let a = addr(net, 1);
    let b = addr(net, 2);
    let mut nginx_a = Nginx::http(std::slice::from_ref(&a), 8080);
    let _nginx_b = Nginx::http(std::slice::from_ref(&b), 8080);
    let hcs = check("http", FAST_HTTP);
    let backends =
        vec![("a".to_string(), a.clone(), Some("http")), ("b".to_string(), b.clone(), Some("http"))];
    let good = config(&hcs, &backends, "");
    let m = Maglevd::start(&good, MaglevdOpts::default());
    m.daemon.wait_for(&["backend-transition", "backend=a ", "to=up"], UP_WAIT);
    m.daemon.wait_for(&["backend-transition", "backend=b ", "to=up"], UP_WAIT);

    let cursor = m.reload_with("maglev:\n  backends: [this is: not valid\n");
    let l = m.daemon.wait_for_from(cursor, &["config-reload-failed"], UP_WAIT);
    assert!(l.text.contains("kind=parse"), "{}", l.text);
    assert!(l.text.contains("keeping the running config"), "{}", l.text);

    let cursor = m.reload_with(&good.replace("healthcheck: http", "healthcheck: nope"));
    let l = m.daemon.wait_for_from(cursor, &["config-reload-failed"], UP_WAIT);
    assert!(
        l.text.contains("kind=semantic") && l.text.contains("maglev.backends.a.healthcheck"),
        "{}",
        l.text
    );

    // Still probing with the old config: stopping a's nginx takes it down,
    // and nothing else changed state.
    nginx_a.stop();
    m.daemon.wait_for_from(cursor, &["backend-transition", "backend=a ", "to=down"], UP_WAIT);
    let changed: Vec<_> = m.daemon.lines()[cursor..]
        .iter()
        .filter(|l| l.text.contains("backend=b "))
        .map(|l| l.text.clone())
        .collect();
    assert!(changed.is_empty(), "b must keep its state: {changed:?}");
}

/// A reload keeps what maglevd knows (PRODUCT.md §5.7): a backend whose
/// healthcheck changed keeps its state and history; only a new or
/// readdressed backend starts `unknown`.
#[test]
fn sighup_with_valid_change_keeps_state_and_restarts_only_moved_backends() {
    let net = loopback_net();
    let addrs: Vec<String> = (1..=5).map(|h| addr(net, h)).collect();
    let _nginx = Nginx::http(&addrs, 8080);
    let mut hcs = check("http", FAST_HTTP);
    hcs.push_str(&check("http-healthz", &format!("{FAST_HTTP}http:\n  path: /healthz\n")));
    let before = vec![
        ("keep1".to_string(), addrs[0].clone(), Some("http")),
        ("keep2".to_string(), addrs[1].clone(), Some("http")),
        ("change".to_string(), addrs[2].clone(), Some("http")),
        ("drop".to_string(), addrs[3].clone(), Some("http")),
        ("moved".to_string(), addrs[4].clone(), Some("http")),
    ];
    let m = Maglevd::start(&config(&hcs, &before, ""), MaglevdOpts::default());
    for (name, _, _) in &before {
        m.daemon.wait_for(&["backend-transition", &format!("backend={name} "), "to=up"], UP_WAIT);
    }
    let after = vec![
        ("keep1".to_string(), addrs[0].clone(), Some("http")),
        ("keep2".to_string(), addrs[1].clone(), Some("http")),
        ("change".to_string(), addrs[2].clone(), Some("http-healthz")),
        ("new".to_string(), addrs[3].clone(), None),
        ("moved".to_string(), addrs[3].clone(), Some("http")),
    ];
    let cursor = m.reload_with(&config(&hcs, &after, ""));
    let l = m.daemon.wait_for_from(cursor, &["config-reload "], UP_WAIT);
    for want in ["added=1", "removed=1", "restarted=1", "reconfigured=1", "unchanged=2"] {
        assert!(l.text.contains(want), "{want} in {}", l.text);
    }
    m.daemon.wait_for_from(cursor, &["backend-transition", "backend=drop ", "to=removed"], UP_WAIT);
    m.daemon.wait_for_from(
        cursor,
        &["backend-transition", "backend=moved ", "from=up to=unknown", "code=reload"],
        UP_WAIT,
    );
    m.daemon.wait_for_from(cursor, &["backend-transition", "backend=moved ", "from=unknown to=up"], UP_WAIT);
    m.daemon.wait_for_from(
        cursor,
        &["backend-transition", "backend=new ", "to=up", "code=L4OK", "detail=static"],
        UP_WAIT,
    );
    // Give the kept ones a few probe rounds (under the new healthcheck for
    // `change`) to misbehave.
    let _ = m.daemon.try_wait_for_from(cursor, &["no-such-line"], Duration::from_millis(800));
    for name in ["keep1", "keep2", "change"] {
        let touched: Vec<_> = m.daemon.lines()[cursor..]
            .iter()
            .filter(|l| l.text.contains(&format!("backend={name} ")) && l.text.contains("backend-transition"))
            .map(|l| l.text.clone())
            .collect();
        assert!(touched.is_empty(), "{name} must keep its state: {touched:?}");
    }
}

#[test]
fn check_flag_exit_codes_name_the_path() {
    let dir = TempDir::new("check");
    let valid = dir.write("valid.yaml", "maglev:\n  backends:\n    b1:\n      address: 192.0.2.10\n");
    let parse = dir.write("parse.yaml", "maglev:\n  backends:\n    b1:\n      adress: 192.0.2.10\n");
    let semantic = dir.write(
        "semantic.yaml",
        "maglev:\n  backends:\n    b1:\n      address: 192.0.2.10\n      healthcheck: missing-hc\n",
    );
    let run = |path: &std::path::Path| {
        let out = Command::new(bin("maglevd"))
            .args(["--check", "--vpp-api-addr", "", "--config"])
            .arg(path)
            .output()
            .expect("run maglevd --check");
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.code(), text)
    };
    let (code, text) = run(&valid);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run(&parse);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("parse.yaml") && text.contains("adress"), "{text}");
    let (code, text) = run(&semantic);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("maglev.backends.b1.healthcheck"), "{text}");
    let (code, _) = run(&dir.join("absent.yaml"));
    assert_eq!(code, Some(1));
    // Bad flags print usage and exit 2.
    let out = Command::new(bin("maglevd")).arg("--bogus").output().expect("run maglevd");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: maglevd"));
}

#[test]
fn sigterm_stops_cleanly() {
    let mut m = Maglevd::start(
        &config("", &[("s".to_string(), "192.0.2.1".to_string(), None)], ""),
        Default::default(),
    );
    m.daemon.wait_for(&["backend-transition", "backend=s ", "to=up"], UP_WAIT);
    m.daemon.signal(Signal::SIGTERM);
    assert_eq!(m.daemon.wait_exit(Duration::from_secs(5)), Some(0), "{}", m.daemon.tail(10));
    m.daemon.wait_for(&["stopping signal=SIGTERM"], Duration::from_secs(1));
}

/// A reload that changes a shared health check reschedules each backend's
/// next probe from its own last one (PRODUCT.md §5.7): within one new
/// interval, and still spread out, never one burst of every backend.
#[test]
fn reload_of_a_shared_healthcheck_reschedules_without_a_burst() {
    let net = loopback_net();
    let first = TcpListener::bind((addr(net, 1).as_str(), 0)).expect("bind");
    let port = first.local_addr().expect("addr").port();
    let mut listeners = vec![first];
    for h in 2..=8 {
        listeners.push(TcpListener::bind((addr(net, h).as_str(), port)).expect("bind the same port"));
    }
    let accepts: std::sync::Arc<parking_lot::Mutex<Vec<(usize, Instant)>>> = Default::default();
    for (i, l) in listeners.into_iter().enumerate() {
        let accepts = accepts.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                accepts.lock().push((i, Instant::now()));
                drop(conn);
            }
        });
    }
    let hc = |interval: &str| {
        check("tcp", &format!("type: tcp\nport: {port}\ninterval: {interval}\ntimeout: 300ms\nrise: 1\nfall: 1\njitter-percent: 0\n"))
    };
    let backends: Vec<(String, String, Option<&str>)> =
        (1..=8).map(|h| (format!("b{h}"), addr(net, h), Some("tcp"))).collect();
    let m = Maglevd::start(&config(&hc("400ms"), &backends, ""), MaglevdOpts::default());
    for (name, _, _) in &backends {
        m.daemon.wait_for(&["backend-transition", &format!("backend={name} "), "to=up"], UP_WAIT);
    }
    // Let every backend settle into its own phase.
    let _ = m.daemon.try_wait_for_from(0, &["no-such-line"], Duration::from_millis(900));

    let cursor = m.reload_with(&config(&hc("600ms"), &backends, ""));
    let reloaded = m.daemon.wait_for_from(cursor, &["config-reload ", "reconfigured=8"], UP_WAIT).at;
    let _ = m.daemon.try_wait_for_from(cursor, &["no-such-line"], Duration::from_millis(1500));
    let accepts = accepts.lock().clone();
    let firsts: Vec<Instant> = (0..8)
        .map(|i| {
            accepts
                .iter()
                .filter(|(b, at)| *b == i && *at > reloaded)
                .map(|(_, at)| *at)
                .min()
                .unwrap_or_else(|| panic!("b{} was not probed after the reload", i + 1))
        })
        .collect();
    let (lo, hi) =
        (firsts.iter().min().copied().unwrap_or(reloaded), firsts.iter().max().copied().unwrap_or(reloaded));
    let latest = hi.duration_since(reloaded);
    // One new interval (600ms) after the last probe, plus scheduling slack.
    assert!(latest <= Duration::from_millis(600 + 300), "a backend waited {latest:?} for its next probe");
    let spread = hi.duration_since(lo);
    assert!(
        spread >= Duration::from_millis(100),
        "the first probes after the reload came in one burst ({spread:?})"
    );
}
