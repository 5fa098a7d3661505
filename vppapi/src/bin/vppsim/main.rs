//! vppsim: a stand-in for VPP that speaks its API and stats sockets, for
//! tests, benchmarks and demos. See `usage()` for the command line and
//! `control.rs` for the fault knobs.
#![forbid(unsafe_code)]

mod cli;
mod control;
mod handlers;
mod ip46;
mod lb;
mod maglev;
mod msgtable;
mod request_log;
mod routes;
mod server;
mod sim;
mod stats_publish;
mod traffic;
mod wire_forms;

use std::io::Write;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::cli::VersionInfo;
use crate::control::Command;
use crate::request_log::RequestLog;
use crate::server::Shared;
use crate::sim::Sim;
use crate::wire_forms::Mode;

#[derive(Debug)]
struct Args {
    api_socket: PathBuf,
    stats_socket: PathBuf,
    legacy: bool,
    traffic: bool,
    request_log: Option<PathBuf>,
    control_socket: Option<PathBuf>,
    version: String,
    /// Seconds between heartbeats (VPP's `statseg { update-interval }`).
    stats_update_interval: u64,
}

fn usage() -> &'static str {
    "usage: vppsim --api-socket PATH --stats-socket PATH [--legacy] [--traffic]\n\
     \x20             [--request-log FILE] [--control-socket PATH] [--version-string S]\n\
     \x20             [--stats-update-interval SECONDS]\n\
     \n\
     A stand-in for VPP: its binary API (unix stream socket, lb plugin) and its\n\
     stats segment (seqpacket socket passing a memfd).\n\
     \n\
     \x20 --api-socket PATH      where to listen for API clients (like /run/vpp/api.sock)\n\
     \x20 --stats-socket PATH    where to serve the stats segment (like /run/vpp/stats.sock)\n\
     \x20 --legacy               behave like VPP v23.x..v26.06 (no weights, no lb_conf_get)\n\
     \x20 --traffic              generate synthetic traffic so counters move\n\
     \x20 --request-log FILE     append one JSON line per API request to FILE\n\
     \x20 --control-socket PATH  accept fault commands (drop, stall MS, restart, traffic on|off, gc [due], state, garble PREFIX|off)\n\
     \x20 --version-string S     the version reported by show_version (default 26.10-rc0~374-gb575ec2c56d)\n\
     \x20 --stats-update-interval SECONDS\n\
     \x20                        how often /sys/heartbeat moves (default 10, as VPP's\n\
     \x20                        statseg update-interval)\n\
     \n\
     Prints `vppsim ready` on stdout once every socket listens."
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut api_socket = None;
    let mut stats_socket = None;
    let mut args = Args {
        api_socket: PathBuf::new(),
        stats_socket: PathBuf::new(),
        legacy: false,
        traffic: false,
        request_log: None,
        control_socket: None,
        version: cli::DEFAULT_VERSION.to_string(),
        stats_update_interval: 10,
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("api-socket") => api_socket = Some(PathBuf::from(parser.value()?)),
            Long("stats-socket") => stats_socket = Some(PathBuf::from(parser.value()?)),
            Long("legacy") => args.legacy = true,
            Long("traffic") => args.traffic = true,
            Long("request-log") => args.request_log = Some(PathBuf::from(parser.value()?)),
            Long("control-socket") => args.control_socket = Some(PathBuf::from(parser.value()?)),
            Long("version-string") => args.version = parser.value()?.string()?,
            Long("stats-update-interval") => {
                args.stats_update_interval = parser.value()?.parse()?;
                if args.stats_update_interval == 0 {
                    return Err("--stats-update-interval must be at least 1 second".into());
                }
            }
            Short('h') | Long("help") => {
                println!("{}", usage());
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    args.api_socket = api_socket.ok_or("--api-socket is required")?;
    args.stats_socket = stats_socket.ok_or("--stats-socket is required")?;
    Ok(args)
}

/// Binds a unix stream socket, replacing a stale socket file.
fn bind(path: &Path, what: &str) -> Result<UnixListener, String> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot remove the old {what} {}: {e}", path.display())),
    }
    UnixListener::bind(path).map_err(|e| format!("cannot listen on the {what} {}: {e}", path.display()))
}

fn run(args: Args) -> Result<(), String> {
    let mode = if args.legacy { Mode::Legacy } else { Mode::Master };
    let request_log = match &args.request_log {
        Some(p) => Some(
            RequestLog::create(p)
                .map_err(|e| format!("cannot create the request log {}: {e}", p.display()))?,
        ),
        None => None,
    };
    let sim = Sim::new(mode, VersionInfo::new(&args.version), args.traffic, &args.stats_socket)
        .map_err(|e| format!("cannot serve the stats segment on {}: {e}", args.stats_socket.display()))?;
    let shared = Arc::new(Shared::new(sim, request_log));
    // VPP's stats collector runs once at start, then every interval.
    shared.sim.lock().tick(0, true);

    let api = bind(&args.api_socket, "API socket")?;
    if let Some(path) = &args.control_socket {
        let listener = bind(path, "control socket")?;
        let shared = Arc::clone(&shared);
        let handler: control::Handler = Arc::new(move |c| control_command(&shared, c));
        spawn("control", move || control::serve(listener, handler))?;
    }
    {
        let shared = Arc::clone(&shared);
        let interval = args.stats_update_interval;
        spawn("ticker", move || ticker(&shared, interval))?;
    }
    log::info!(
        "vppsim ({} mode) serving {} and {}",
        if args.legacy { "legacy" } else { "master" },
        args.api_socket.display(),
        args.stats_socket.display()
    );
    let mut out = std::io::stdout();
    let _ = writeln!(out, "vppsim ready");
    let _ = out.flush();
    server::serve(api, shared);
    Ok(())
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), String> {
    thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(|_| ())
        .map_err(|e| format!("cannot start {name}: {e}"))
}

/// Traffic and GC once per second, the heartbeat every `stats_interval`
/// seconds.
fn ticker(shared: &Shared, stats_interval: u64) {
    let start = Instant::now();
    let mut seconds = 0u64;
    loop {
        seconds += 1;
        let next = start + Duration::from_secs(seconds);
        thread::sleep(next.saturating_duration_since(Instant::now()));
        shared.sim.lock().tick(seconds, seconds.is_multiple_of(stats_interval));
    }
}

fn control_command(shared: &Shared, command: Command) -> Result<String, String> {
    match command {
        Command::Drop => {
            let n = shared.drop_connections();
            log::info!("control: dropped {n} API connections");
            Ok(String::new())
        }
        Command::Stall { ms } => {
            shared.stall_ms.store(ms, Ordering::Relaxed);
            Ok(String::new())
        }
        Command::Restart => {
            shared.restart()?;
            log::info!("control: restarted");
            Ok(String::new())
        }
        Command::Traffic { on } => {
            shared.sim.lock().traffic = on;
            Ok(String::new())
        }
        Command::Gc { force } => {
            let mut sim = shared.sim.lock();
            sim.lb.collect_garbage(force);
            sim.publish_stats();
            Ok(String::new())
        }
        Command::State => Ok(shared.sim.lock().state_text()),
        Command::Garble { prefix } => {
            let mut sim = shared.sim.lock();
            match prefix {
                Some(p) => sim.garbled.push(p),
                None => sim.garbled.clear(),
            }
            Ok(String::new())
        }
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("vppsim: {e}\n\n{}", usage());
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vppsim: {e}");
            ExitCode::FAILURE
        }
    }
}
