//! Probe cost: CPU time per health probe of maglevd and of HAProxy (Debian's
//! package), measured side by side in one run against the same nginx.
//!
//! Everything runs inside a network namespace of its own, where nginx
//! listens on the wildcard address: every backend is a distinct loopback
//! address (127.1.x.y) and both checkers probe every one of them with
//! `GET /healthz` once per second, rise 2, fall 3, timeout 1 s. HAProxy
//! probes port 8081 and maglevd port 8082, so nginx's access logs count
//! each checker's probes independently of what the checkers say.
//!
//! The figures are CPU time (utime + stime from /proc/PID/stat, every
//! thread) divided by the probes nginx saw in the same window, and the
//! resident set size at the end. Wall time is not compared: the machine may
//! be busy with other work, which CPU time per probe is mostly immune to.
//! maglevd's schedule lateness comes from its own histogram
//! (`maglev_probe_schedule_lateness_seconds`), taken as the difference of
//! two scrapes around the window.
//!
//! `make bench-probe` runs it with 1,000 backends; `PROBE_BACKENDS` (1000,
//! 5000, 10000, ...) and `PROBE_SECONDS` (the measuring window, default 20)
//! change the size; `PROBE_PEER=none` skips HAProxy; `PROBE_MAGLEVD` runs
//! another maglevd binary (to compare two builds).
//!
//! `PROBE_DELAY_MS=N` measures maglevd alone against slow backends: a
//! server in this process answers its probes N ms after they arrive (nginx
//! from Debian cannot delay an answer), so each probe holds its worker that
//! long. Its point is the lateness: a probe due while others are slow must
//! still start on time.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use testsupport::{bin, unique_name, Daemon, NetNs, TempDir};

const HAPROXY_PORT: u16 = 8081;
const MAGLEVD_PORT: u16 = 8082;
/// maglevd's port with `PROBE_DELAY_MS`: the slow backend's, not nginx's.
const SLOW_PORT: u16 = 8083;
/// maglevd's /metrics, inside the namespace.
const METRICS_ADDR: &str = "127.0.0.1:9191";
/// From start until every backend has had its first probes (initial
/// delays are spread over one interval, rise 2 needs two more).
const WARMUP: Duration = Duration::from_secs(6);
/// nginx flushes its buffered access logs at least this often.
const LOG_FLUSH: Duration = Duration::from_secs(1);

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        _ => default,
    }
}

/// The i-th backend address: 127.1.0.1 .. 127.1.0.250, 127.1.1.1 ...
fn address(i: usize) -> String {
    format!("127.{}.{}.{}", 1 + i / 62_500, (i / 250) % 250, i % 250 + 1)
}

fn nginx_conf(dir: &Path) -> String {
    let d = dir.display();
    let server = |port: u16, log: &str| {
        format!(
            "  server {{ listen {port} backlog=4096; access_log {d}/{log} stamp buffer=256k flush=1s;\n\
             \x20   location = /healthz {{ return 200 \"healthy\\n\"; }} }}\n"
        )
    };
    format!(
        "daemon off;\nmaster_process on;\nuser root;\nworker_processes 2;\nworker_rlimit_nofile 65536;\n\
         pid {d}/nginx.pid;\nerror_log {d}/nginx-error.log warn;\n\
         events {{ worker_connections 16384; }}\n\
         http {{\n  log_format stamp '$msec';\n  access_log off;\n  keepalive_timeout 0;\n\
         client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
         uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{}{}}}\n",
        server(HAPROXY_PORT, "haproxy.log"),
        server(MAGLEVD_PORT, "maglevd.log")
    )
}

/// HAProxy refuses to start without a listener: one that nobody uses.
fn haproxy_conf(n: usize) -> String {
    let mut c = String::from(
        "global\n  maxconn 4096\n\
         defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n  timeout check 1s\n\
         frontend unused\n  bind 127.0.0.1:8000\n  default_backend bench\n\
         backend bench\n  option httpchk GET /healthz\n  http-check expect status 200\n\
         \x20 default-server check inter 1s fastinter 1s downinter 1s rise 2 fall 3\n",
    );
    for i in 0..n {
        let _ = writeln!(c, "  server b{i} {}:{HAPROXY_PORT}", address(i));
    }
    c
}

fn maglevd_conf(n: usize, port: u16) -> String {
    let mut c = format!(
        "maglev:\n  healthchecks:\n    bench:\n      type: http\n      port: {port}\n\
         \x20     interval: 1s\n      fast-interval: 1s\n      down-interval: 1s\n      timeout: 1s\n\
         \x20     rise: 2\n      fall: 3\n      http:\n        path: /healthz\n  backends:\n"
    );
    for i in 0..n {
        let _ = writeln!(c, "    b{i}: {{address: {}, healthcheck: bench}}", address(i));
    }
    c
}

/// Answers every request on `port` (inside the bench's namespace) `delay`
/// after its connection arrived, in arrival order: one thread accepts, one
/// answers, whatever the number of backends.
struct SlowBackend {
    answered: Arc<AtomicUsize>,
}

impl SlowBackend {
    fn start(ns: &str, port: u16, delay: Duration) -> SlowBackend {
        // A socket keeps the namespace it was made in, whichever thread uses it.
        let listener = in_netns(ns, move || {
            TcpListener::bind(("0.0.0.0", port)).unwrap_or_else(|e| panic!("bind the slow backend: {e}"))
        });
        let (tx, rx) = crossbeam_channel::unbounded::<(Instant, TcpStream)>();
        std::thread::spawn(move || {
            for conn in listener.incoming().map_while(Result::ok) {
                if tx.send((Instant::now() + delay, conn)).is_err() {
                    return;
                }
            }
        });
        let answered = Arc::new(AtomicUsize::new(0));
        let count = answered.clone();
        std::thread::spawn(move || {
            for (at, mut conn) in rx {
                std::thread::sleep(at.saturating_duration_since(Instant::now()));
                // The request is in by now; reading it first keeps the close
                // from being a reset that could discard the answer.
                let _ = conn.set_read_timeout(Some(Duration::from_millis(100)));
                let _ = conn.read(&mut [0u8; 2048]);
                let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhealthy\n";
                if conn.write_all(answer).is_ok() {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        SlowBackend { answered }
    }

    fn answered(&self) -> usize {
        self.answered.load(Ordering::Relaxed)
    }
}

/// utime + stime of every thread of `pid`, in seconds.
fn cpu_seconds(pid: i32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/stat: {e} (did the process die?)"));
    // The command name (field 2) may hold spaces; fields count from after it.
    let rest = &stat[stat.rfind(')').expect("a /proc stat line") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100);
    ticks as f64 / hz as f64
}

/// Resident set size of `pid`, in MB.
fn rss_mb(pid: i32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc status");
    kb / 1000.0
}

/// Requests nginx logged (`$msec` per line) within [from, to).
fn count_between(log: &Path, from: f64, to: f64) -> usize {
    let Ok(f) = File::open(log) else { return 0 };
    BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| l.trim().parse::<f64>().ok())
        .filter(|t| (from..to).contains(t))
        .count()
}

fn epoch_seconds() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs_f64()
}

/// Runs `f` on a thread that has entered network namespace `ns`.
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = PathBuf::from("/run/netns").join(ns);
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("enter the bench namespace");
        f()
    })
    .join()
    .expect("netns thread")
}

/// Cumulative counts of maglevd's lateness histogram by upper bound, and
/// its total number of probes.
fn lateness(ns: &str) -> Vec<(f64, f64)> {
    let body = in_netns(ns, || {
        let mut c = TcpStream::connect(METRICS_ADDR).expect("connect to maglevd's /metrics");
        c.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").expect("send");
        let mut s = String::new();
        c.read_to_string(&mut s).expect("read /metrics");
        s
    });
    body.lines()
        .filter_map(|l| l.strip_prefix("maglev_probe_schedule_lateness_seconds_bucket{le=\""))
        .filter_map(|l| {
            let (le, rest) = l.split_once("\"}")?;
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
            Some((le, rest.trim().parse().ok()?))
        })
        .collect()
}

/// The smallest bucket bound under which `q` of the probes between two
/// scrapes started.
fn quantile(before: &[(f64, f64)], after: &[(f64, f64)], q: f64) -> f64 {
    let diff: Vec<(f64, f64)> = after
        .iter()
        .map(|(le, n)| (*le, n - before.iter().find(|(b, _)| b == le).map(|(_, m)| *m).unwrap_or(0.0)))
        .collect();
    let total = diff.last().map(|(_, n)| *n).unwrap_or(0.0);
    diff.iter().find(|(_, n)| *n >= q * total).map(|(le, _)| *le).unwrap_or(f64::NAN)
}

/// The share of the probes between two scrapes that started at most `le`
/// late (`le` one of the histogram's bounds).
fn share_within(before: &[(f64, f64)], after: &[(f64, f64)], le: f64) -> f64 {
    let count = |h: &[(f64, f64)], bound: f64| h.iter().find(|(b, _)| *b == bound).map_or(0.0, |(_, n)| *n);
    let total = count(after, f64::INFINITY) - count(before, f64::INFINITY);
    (count(after, le) - count(before, le)) / total.max(1.0)
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_string))
        .unwrap_or_else(|| format!("{program} (version unknown)"))
}

struct Figures {
    probes: usize,
    cpu: f64,
    rss: f64,
}

impl Figures {
    fn per_probe_us(&self) -> f64 {
        self.cpu / self.probes.max(1) as f64 * 1e6
    }
}

fn main() {
    let n = env_usize("PROBE_BACKENDS", 1000);
    let window = Duration::from_secs(env_usize("PROBE_SECONDS", 20) as u64);
    let delay = Duration::from_millis(env_usize("PROBE_DELAY_MS", 0) as u64);
    // Against slow backends only maglevd's lateness is of interest.
    let with_haproxy = delay.is_zero() && std::env::var("PROBE_PEER").map(|p| p != "none").unwrap_or(true);
    let cpus = std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1);

    let dir = TempDir::new("probe-bench");
    let ns = NetNs::new(&unique_name("mgpb"));
    let nginx_cfg = dir.write("nginx.conf", &nginx_conf(dir.path()));
    let ns_cmd = |program: &str| -> Vec<String> {
        vec!["netns".into(), "exec".into(), ns.name.clone(), program.into()]
    };

    let mut nginx_args = ns_cmd("nginx");
    nginx_args.extend([
        "-c".into(),
        nginx_cfg.display().to_string(),
        "-p".into(),
        dir.path().display().to_string(),
    ]);
    let mut nginx = Daemon::start(Path::new("ip"), &nginx_args);
    let started = Instant::now();
    while !dir.join("nginx.pid").exists() {
        assert!(started.elapsed() < Duration::from_secs(10), "nginx did not start: {}", nginx.tail(20));
        std::thread::sleep(Duration::from_millis(20));
    }

    let mut haproxy = with_haproxy.then(|| {
        let cfg = dir.write("haproxy.cfg", &haproxy_conf(n));
        let mut args = ns_cmd("haproxy");
        args.extend(["-db".into(), "-f".into(), cfg.display().to_string()]);
        Daemon::start(Path::new("ip"), &args)
    });

    let slow = (!delay.is_zero()).then(|| SlowBackend::start(&ns.name, SLOW_PORT, delay));
    let port = if slow.is_some() { SLOW_PORT } else { MAGLEVD_PORT };
    let cfg = dir.write("maglev.yaml", &maglevd_conf(n, port));
    let maglevd_bin = std::env::var_os("PROBE_MAGLEVD").map(PathBuf::from).unwrap_or_else(|| bin("maglevd"));
    let mut args = ns_cmd(&maglevd_bin.display().to_string());
    args.extend(
        [
            "--config",
            &cfg.display().to_string(),
            "--grpc-addr",
            &format!("unix:{}", dir.join("grpc.sock").display()),
            "--metrics-addr",
            METRICS_ADDR,
            "--vpp-api-addr",
            "",
            "--log-level",
            "warn",
        ]
        .map(String::from),
    );
    let mut maglevd = Daemon::start(Path::new("ip"), &args);

    std::thread::sleep(WARMUP);
    let pids = [haproxy.as_ref().map(|d| d.pid().as_raw()), Some(maglevd.pid().as_raw())];
    for (pid, d) in pids.iter().zip([haproxy.as_ref(), Some(&maglevd)]) {
        if let (Some(pid), Some(d)) = (pid, d) {
            assert!(Path::new(&format!("/proc/{pid}")).exists(), "a checker exited: {}", d.tail(20));
        }
    }
    let late_before = lateness(&ns.name);
    let cpu_before = pids.map(|p| p.map(cpu_seconds));
    let answered_before = slow.as_ref().map(SlowBackend::answered);
    let from = epoch_seconds();
    std::thread::sleep(window);
    let cpu_after = pids.map(|p| p.map(cpu_seconds));
    let answered_after = slow.as_ref().map(SlowBackend::answered);
    let to = epoch_seconds();
    let late_after = lateness(&ns.name);
    let rss = pids.map(|p| p.map(rss_mb));
    std::thread::sleep(LOG_FLUSH * 2);

    let figures = |i: usize, log: &str| -> Option<Figures> {
        Some(Figures {
            probes: count_between(&dir.join(log), from, to),
            cpu: cpu_after[i]? - cpu_before[i]?,
            rss: rss[i]?,
        })
    };
    let hap = figures(0, "haproxy.log");
    let mut mag = figures(1, "maglevd.log").expect("maglevd figures");
    if let (Some(before), Some(after)) = (answered_before, answered_after) {
        mag.probes = after - before;
    }

    let secs = to - from;
    let answers = if delay.is_zero() { String::new() } else { format!(", answered after {delay:?}") };
    println!(
        "probe cost: {n} backends, HTTP GET /healthz every 1 s (rise 2, fall 3){answers}, {secs:.0} s window, {cpus} CPUs"
    );
    println!(
        "{:<34} {:>9} {:>10} {:>8} {:>11} {:>9}",
        "", "probes", "probes/s", "CPU s", "CPU/probe", "RSS MB"
    );
    let row = |name: &str, f: &Figures| {
        println!(
            "{name:<34} {:>9} {:>10.0} {:>8.2} {:>8.1} µs {:>9.1}",
            f.probes,
            f.probes as f64 / secs,
            f.cpu,
            f.per_probe_us(),
            f.rss
        );
    };
    if let Some(h) = &hap {
        // "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://…"
        let version = first_line("haproxy", &["-v"]);
        row(&format!("haproxy {}", version.split_whitespace().nth(2).unwrap_or("?")), h);
    }
    row("maglevd", &mag);
    if let Some(h) = &hap {
        println!(
            "ratio maglevd/haproxy: CPU per probe {:.2}x, RSS {:.2}x",
            mag.per_probe_us() / h.per_probe_us(),
            mag.rss / h.rss
        );
    }
    println!(
        "maglevd schedule lateness: p50 <= {:.1} ms, p99 <= {:.1} ms (histogram bucket bounds); {}",
        quantile(&late_before, &late_after, 0.50) * 1e3,
        quantile(&late_before, &late_after, 0.99) * 1e3,
        [0.001, 0.002, 0.005, 0.01]
            .map(|le| format!(
                "<= {} ms: {:.2}%",
                le * 1e3,
                share_within(&late_before, &late_after, le) * 100.0
            ))
            .join(", ")
    );
    let expected = n as f64 * secs;
    if (mag.probes as f64) < 0.9 * expected {
        println!("WARNING: maglevd made {} probes, {expected:.0} expected: it is falling behind", mag.probes);
    }

    maglevd.stop();
    if let Some(h) = haproxy.as_mut() {
        h.stop();
    }
    nginx.stop();
}
