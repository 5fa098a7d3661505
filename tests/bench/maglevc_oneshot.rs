//! `maglevc` one-shot latency: start the process, connect, one unary call,
//! print, exit. Runs `maglevc show version` against a running maglevd over
//! TCP on loopback and over its unix socket, 200 times each, and prints the
//! wall time distribution (the target: p99 within 50 ms, no run over
//! 100 ms). Run with `make bench-maglevc` (part of `make bench`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testsupport::metrics::free_port;
use testsupport::{bin, Maglevd, MaglevdOpts};

const RUNS: usize = 200;

fn run_once(server: &str) -> Duration {
    let t = Instant::now();
    let out = Command::new(bin("maglevc"))
        .args(["--server", server, "show", "version"])
        .stdin(Stdio::null())
        .output()
        .expect("run maglevc");
    let took = t.elapsed();
    assert!(out.status.success(), "maglevc failed: {}", String::from_utf8_lossy(&out.stderr));
    took
}

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let pct = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)];
    let over = times.iter().filter(|t| **t > Duration::from_millis(100)).count();
    println!(
        "{what:<24} p50 {:>6.1} ms   p99 {:>6.1} ms   max {:>7.1} ms   runs over 100 ms: {over}",
        ms(pct(50)),
        ms(pct(99)),
        ms(times[times.len() - 1])
    );
}

fn main() {
    let port = free_port("127.0.0.1");
    let config = "maglev:\n  backends:\n    a: {address: 192.0.2.1}\n";
    let tcp_addr = format!("127.0.0.1:{port}");
    let opts = MaglevdOpts { extra_args: vec!["--grpc-addr".into(), tcp_addr.clone()], ..Default::default() };
    // The later --grpc-addr wins: TCP; a second maglevd serves the unix socket.
    let tcp = Maglevd::start(config, opts);
    let unix = Maglevd::start(config, MaglevdOpts::default());
    println!("maglevc one-shot: `maglevc show version`, {RUNS} runs each");
    for (what, server) in [("tcp (127.0.0.1)", tcp_addr.as_str()), ("unix socket", unix.grpc_addr.as_str())] {
        run_once(server); // warm the page cache
        let times = (0..RUNS).map(|_| run_once(server)).collect();
        report(what, times);
    }
    drop(tcp);
}
