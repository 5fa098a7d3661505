//! HAProxy as the oracle of rise/fall (PRODUCT.md §5.3): Debian's HAProxy
//! and maglevd check the same scripted backends side by side, and after
//! every probe maglevd's state and counter must be HAProxy's.
//!
//! Both checkers probe one scripted server (`testsupport::scripted`): each
//! script is one maglevd backend and one HAProxy backend, each checker has
//! its own probe count per script, and the server reads a checker's state
//! just before answering its next probe. Nothing depends on timing: the
//! comparison is keyed by probe number.
//!
//! The known starting state: HAProxy starts a server up with its counter at
//! `rise`, maglevd starts it `unknown` at rise-1. Every script begins with
//! `rise` passes, which leaves both up at full health (rise+fall-1)
//! whatever they started from; the comparison starts after that prefix.

use std::fmt::Write as _;
use std::time::Duration;

use maglev_proto::maglev as pb;
use testsupport::haproxy::{server_check, HaProxy};
use testsupport::scripted::{ScriptedServer, Seen};
use testsupport::{Maglevd, MaglevdOpts, TempDir};

/// Probe interval of both checkers (all three intervals).
const INTERVAL_MS: u64 = 100;

struct Case {
    what: String,
    rise: u32,
    fall: u32,
    /// Without the known-state prefix.
    results: Vec<bool>,
}

/// A small deterministic generator (xorshift64*), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn parse(s: &str) -> Vec<bool> {
    s.chars().map(|c| c == 'P').collect()
}

fn show(results: &[bool]) -> String {
    results.iter().map(|p| if *p { 'P' } else { 'F' }).collect()
}

fn cases() -> Vec<Case> {
    let pairs = [(1, 1), (2, 3), (3, 2), (1, 4), (4, 1), (2, 2), (3, 3), (5, 2)];
    let mut out = Vec::new();
    for &(rise, fall) in &pairs {
        out.push(Case { what: "alternation".into(), rise, fall, results: parse(&"FP".repeat(26)) });
        // From up: fall-1 failures and a pass, again and again (never down),
        // then fall failures (down), then rise-1 passes and a failure, again
        // and again (never up), then rise passes (up).
        let mut s = "F".repeat(fall as usize - 1) + "P";
        s = s.repeat(4) + &"F".repeat(fall as usize);
        s += &(("P".repeat(rise as usize - 1) + "F").repeat(4));
        s += &"P".repeat(rise as usize);
        out.push(Case { what: "runs of fall-1 and rise-1".into(), rise, fall, results: parse(&s) });
    }
    let mut rng = Rng(0x6d61_676c_6576);
    for i in 0..24 {
        let (rise, fall) = pairs[i % pairs.len()];
        // Vary the pass ratio and the run lengths: runs near rise and fall
        // are where counters differ.
        let pass_percent = 30 + rng.below(41);
        let mut results = Vec::new();
        while results.len() < 60 {
            let pass = rng.below(100) < pass_percent;
            let run = 1 + rng.below(u64::from(rise.max(fall)) + 1);
            results.resize(results.len() + run as usize, pass);
        }
        results.truncate(60);
        out.push(Case { what: format!("random #{i} ({pass_percent}% passes)"), rise, fall, results });
    }
    out
}

fn maglevd_config(server: &ScriptedServer, cases: &[Case]) -> String {
    let mut s = String::from("maglev:\n  healthchecker: {workers: 8}\n  healthchecks:\n");
    for (n, c) in cases.iter().enumerate() {
        let _ = writeln!(
            s,
            "    s{n}:
      type: http
      port: {}
      http: {{path: /maglevd/{n}}}
      interval: {INTERVAL_MS}ms
      fast-interval: {INTERVAL_MS}ms
      down-interval: {INTERVAL_MS}ms
      timeout: 5s
      rise: {}
      fall: {}
      jitter-percent: 0",
            server.addr.port(),
            c.rise,
            c.fall
        );
    }
    s.push_str("  backends:\n");
    for n in 0..cases.len() {
        let _ = writeln!(s, "    s{n}: {{address: {}, healthcheck: s{n}}}", server.addr.ip());
    }
    s
}

fn haproxy_config(server: &ScriptedServer, cases: &[Case]) -> String {
    let mut s = String::from(
        "defaults\n  mode http\n  timeout connect 5s\n  timeout client 5s\n  timeout server 5s\n  timeout check 5s\n\n",
    );
    for (n, c) in cases.iter().enumerate() {
        let _ = writeln!(
            s,
            "backend s{n}
  option httpchk GET /haproxy/{n}
  server srv {} check inter {INTERVAL_MS} fastinter {INTERVAL_MS} downinter {INTERVAL_MS} rise {} fall {}
",
            server.addr, c.rise, c.fall
        );
    }
    s
}

#[test]
fn maglevd_rise_fall_equals_haproxy_probe_for_probe() {
    let cases = cases();
    assert!(cases.iter().filter(|c| c.what.starts_with("random")).count() >= 20);
    let scripts: Vec<Vec<bool>> =
        cases.iter().map(|c| [vec![true; c.rise as usize], c.results.clone()].concat()).collect();
    let server = ScriptedServer::start("127.0.0.1", &["maglevd", "haproxy"], scripts.clone());

    let hdir = TempDir::new("haproxy");
    let socket = HaProxy::stats_socket_in(&hdir);
    server.observe(
        "haproxy",
        Box::new(move |n| {
            let s = server_check(&socket, &format!("s{n}"), "srv")?;
            let shown = s.status.split_once(' ').map(|(_, nm)| nm.to_string());
            Ok(Seen { up: s.is_up(), counter: s.health, shown })
        }),
    );
    let _haproxy = HaProxy::start(hdir, &haproxy_config(&server, &cases));
    let m = Maglevd::start(&maglevd_config(&server, &cases), MaglevdOpts::default());
    let client = testsupport::grpc::client(&m.grpc_addr);
    server.observe(
        "maglevd",
        Box::new(move |n| {
            let req = pb::GetBackendRequest { name: format!("s{n}"), ..Default::default() };
            let b = client.get_backend(&req).map_err(|e| format!("GetBackend s{n}: {e}"))?;
            let h = b.health.as_ref().ok_or("no health counter")?;
            let up = h.value >= h.rise;
            let (n_, m_) = if up { (h.value - h.rise + 1, h.fall) } else { (h.value, h.rise) };
            // HAProxy prints N/M only between the extremes.
            let shown = (h.value != 0 && h.value != h.rise + h.fall - 1).then(|| format!("{n_}/{m_}"));
            if (b.state == "up") != up {
                return Err(format!("state {} with counter {}/{}", b.state, h.value, h.rise + h.fall - 1));
            }
            Ok(Seen { up, counter: h.value, shown })
        }),
    );

    // ~60 probes at 100 ms: a few seconds, however loaded the machine is
    // the comparison does not change, only how long it takes.
    let seen = server.wait_done(Duration::from_secs(180));
    let (ours, theirs) = (&seen[0], &seen[1]);
    let mut failures = Vec::new();
    let mut transitions = 0;
    for (n, c) in cases.iter().enumerate() {
        let prefix = c.rise as usize;
        let max = c.rise + c.fall - 1;
        for (who, s) in [("maglevd", &ours[n]), ("haproxy", &theirs[n])] {
            let at = &s[prefix - 1];
            if !(at.up && at.counter == max) {
                failures.push(format!(
                    "s{n}: {who} not up at {max} after the {prefix} passes of the prefix: {at:?}"
                ));
            }
        }
        for i in prefix..scripts[n].len() {
            if ours[n][i] != theirs[n][i] {
                failures.push(format!(
                    "s{n} {} rise {} fall {}: after probe {} ({}) maglevd {:?} != haproxy {:?}; results {}",
                    c.what,
                    c.rise,
                    c.fall,
                    i - prefix,
                    if scripts[n][i] { "pass" } else { "fail" },
                    ours[n][i],
                    theirs[n][i],
                    show(&c.results)
                ));
                break;
            }
            if ours[n][i].up != ours[n][i - 1].up {
                transitions += 1;
            }
        }
    }
    assert!(failures.is_empty(), "maglevd differs from HAProxy:\n{}", failures.join("\n"));
    // The scripts must exercise transitions, or the comparison proves little.
    assert!(transitions >= cases.len(), "only {transitions} transitions over {} scripts", cases.len());
    // Alternation never flaps with rise and fall above 1.
    for (n, c) in cases.iter().enumerate() {
        if c.what == "alternation" && c.rise > 1 && c.fall > 1 {
            assert!(ours[n].iter().all(|s| s.up), "s{n}: alternation flapped: {:?}", ours[n]);
        }
    }
}
