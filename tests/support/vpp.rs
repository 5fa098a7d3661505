//! The VPP under test, one per test in its own runtime directory: real VPP
//! when `VPP_PREFIX` names an install (`make test-vpp`), vppsim otherwise
//! (`make test`). A test body written against [`Vpp`] runs unchanged
//! against both; what it observes (the `show lb vips verbose` view, the
//! write requests VPP received, the CLI) comes from VPP itself, not from
//! the client under test.
//!
//! Real VPP runs unprivileged without NICs or hugepages, with its API trace
//! on from the start so that the requests it received can be listed
//! (`api trace dump`). vppsim's fault knobs (its control socket) exist only
//! on vppsim: a test that needs one starts [`Vpp::sim`] and says so.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vppapi::client::{ConnectOptions, Connection};
use vppapi::lb_cli::{parse_lb_vips_verbose, AsCliInfo, VipCliInfo};

use crate::{bin, Daemon, TempDir};

/// The environment variable naming a VPP install (its `bin/vpp`,
/// `bin/vppctl` and plugin directory); `/usr` for FD.io's packages.
pub const VPP_PREFIX: &str = "VPP_PREFIX";

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Which implementation a [`Vpp`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VppKind {
    /// vppsim with these extra command-line flags.
    Sim(Vec<String>),
    /// Real VPP installed under this prefix.
    Real(PathBuf),
}

pub struct Vpp {
    // Dropped in this order: VPP stops before its shared memory and its
    // runtime directory go.
    daemon: Daemon,
    leftovers: Leftovers,
    pub kind: VppKind,
    pub dir: TempDir,
    pub api_socket: PathBuf,
    pub stats_socket: PathBuf,
}

/// What a real VPP leaves behind once stopped. Its shared-memory regions
/// (`/dev/shm/<prefix>-vpe-api`, `-global_vm`) are named with a prefix of
/// the test's own, so that they never meet another VPP's (a system VPP
/// included), and removed when the test is done, which VPP cannot do when
/// it is killed. Its log is shown when the test failed.
#[derive(Default)]
struct Leftovers {
    shm_prefix: Option<String>,
    log: Option<PathBuf>,
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        if let Some(log) = self.log.as_ref().filter(|_| std::thread::panicking()) {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            eprintln!("--- the last lines of VPP's log ({}):\n{tail}", log.display());
        }
        let Some(prefix) = &self.shm_prefix else { return };
        let Ok(dir) = std::fs::read_dir("/dev/shm") else { return };
        for entry in dir.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&format!("{prefix}-")) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// The real VPP install named by `VPP_PREFIX`, if any. An install that is
/// named but unusable fails the test: `make test-vpp` must not pass by
/// running nothing.
pub fn real_vpp_prefix() -> Option<PathBuf> {
    let prefix = std::env::var_os(VPP_PREFIX).filter(|p| !p.is_empty()).map(PathBuf::from)?;
    assert!(
        prefix.join("bin/vpp").is_file(),
        "{VPP_PREFIX}={} has no bin/vpp: point it at a VPP install (/usr for FD.io's packages)",
        prefix.display()
    );
    Some(prefix)
}

/// The lb plugin's directory under a VPP install: FD.io's packages put
/// it under a multiarch lib directory, some builds under lib64 or lib.
fn plugin_dir(prefix: &Path) -> PathBuf {
    let candidates = [
        "lib/x86_64-linux-gnu/vpp_plugins",
        "lib/aarch64-linux-gnu/vpp_plugins",
        "lib64/vpp_plugins",
        "lib/vpp_plugins",
    ];
    candidates
        .iter()
        .map(|c| prefix.join(c))
        .find(|d| d.join("lb_plugin.so").is_file())
        .unwrap_or_else(|| panic!("no lb_plugin.so under {} ({candidates:?})", prefix.display()))
}

impl Vpp {
    /// The VPP of the suite: real VPP from `VPP_PREFIX` when it is set,
    /// vppsim otherwise.
    pub fn start() -> Vpp {
        Vpp::start_with(&[])
    }

    /// Like [`Vpp::start`], with `sim_flags` for vppsim (ignored by real
    /// VPP): for a test body that runs on both but drives vppsim's own
    /// stand-in of something (its synthetic traffic for VPP's packets).
    pub fn start_with(sim_flags: &[&str]) -> Vpp {
        match real_vpp_prefix() {
            Some(prefix) => Vpp::launch(VppKind::Real(prefix), TempDir::new("vpp")),
            None => Vpp::sim(sim_flags),
        }
    }

    /// vppsim with `extra` flags, whatever `VPP_PREFIX` says: for the tests
    /// that need one of its fault knobs or modes (legacy, synthetic traffic).
    pub fn sim(extra: &[&str]) -> Vpp {
        Vpp::launch(VppKind::Sim(extra.iter().map(|s| s.to_string()).collect()), TempDir::new("vppsim"))
    }

    /// Real VPP from `VPP_PREFIX`, or `None` (and a note on stderr) when it
    /// is unset: for dataplane tests that vppsim cannot stand in for.
    pub fn real_only(test: &str) -> Option<Vpp> {
        match real_vpp_prefix() {
            Some(prefix) => Some(Vpp::launch(VppKind::Real(prefix), TempDir::new("vpp"))),
            None => {
                eprintln!("{test}: needs real VPP ({VPP_PREFIX}, `make test-vpp`); not run against vppsim");
                None
            }
        }
    }

    pub fn is_real(&self) -> bool {
        matches!(self.kind, VppKind::Real(_))
    }

    fn launch(kind: VppKind, dir: TempDir) -> Vpp {
        let api_socket = dir.join("api.sock");
        let stats_socket = dir.join("stats.sock");
        for f in ["api.sock", "stats.sock", "control.sock", "cli.sock"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        let mut leftovers = Leftovers::default();
        let daemon = match &kind {
            VppKind::Sim(extra) => {
                let mut args: Vec<String> = vec![
                    "--api-socket".into(),
                    api_socket.display().to_string(),
                    "--stats-socket".into(),
                    stats_socket.display().to_string(),
                    "--request-log".into(),
                    dir.join("requests.jsonl").display().to_string(),
                    "--control-socket".into(),
                    dir.join("control.sock").display().to_string(),
                ];
                args.extend(extra.iter().cloned());
                let daemon = Daemon::start(&bin("vppsim"), &args);
                daemon.wait_for(&["vppsim ready"], START_TIMEOUT);
                daemon
            }
            VppKind::Real(prefix) => {
                let r = dir.path().display().to_string();
                let shm_prefix =
                    dir.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let conf = format!(
                    "unix {{ nodaemon cli-listen {r}/cli.sock log {r}/vpp.log runtime-dir {r} nosyslog }}\n\
                     api-segment {{ prefix {shm_prefix} }}\n\
                     socksvr {{ socket-name {r}/api.sock }}\n\
                     statseg {{ socket-name {r}/stats.sock size 32m page-size 4k }}\n\
                     memory {{ main-heap-size 512M main-heap-page-size 4k }}\n\
                     buffers {{ buffers-per-numa 16384 page-size 4k }}\n\
                     api-trace {{ on }}\n\
                     plugins {{ path {} plugin default {{ disable }} plugin lb_plugin.so {{ enable }} }}\n",
                    plugin_dir(prefix).display()
                );
                leftovers = Leftovers { shm_prefix: Some(shm_prefix), log: Some(dir.join("vpp.log")) };
                let conf = dir.write("startup.conf", &conf);
                let daemon = Daemon::start(&prefix.join("bin/vpp"), ["-c".as_ref(), conf.as_os_str()]);
                wait_ready(&daemon, &api_socket, &dir.join("cli.sock"));
                daemon
            }
        };
        Vpp { kind, dir, api_socket, stats_socket, daemon, leftovers }
    }

    pub fn pid(&self) -> u32 {
        self.daemon.pid().as_raw() as u32
    }

    /// Kills VPP (SIGKILL, by its pid) and starts a new one on the same
    /// paths: everything VPP held is gone, as after a crash.
    pub fn kill_and_restart(self) -> Vpp {
        let Vpp { kind, dir, mut daemon, leftovers, .. } = self;
        daemon.signal(nix::sys::signal::Signal::SIGKILL);
        let _ = daemon.wait_exit(Duration::from_secs(5));
        drop(daemon);
        // The new VPP creates its regions afresh, as after a crash.
        drop(leftovers);
        Vpp::launch(kind, dir)
    }

    /// A new API client.
    pub fn connect(&self) -> Connection {
        let opts = ConnectOptions { timeout: Duration::from_secs(5), ..ConnectOptions::default() };
        Connection::connect(&self.api_socket, &opts)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.api_socket.display()))
    }

    /// Runs a CLI command: with `vppctl` on real VPP (the API is not
    /// involved), through `cli_inband` on vppsim (which has no CLI socket).
    pub fn cli(&self, cmd: &str) -> String {
        match &self.kind {
            VppKind::Real(prefix) => {
                let out = Command::new(prefix.join("bin/vppctl"))
                    .arg("-s")
                    .arg(self.dir.join("cli.sock"))
                    .arg(cmd)
                    .output()
                    .expect("run vppctl");
                assert!(out.status.success(), "vppctl {cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
                // vppctl talks to a terminal: it ends lines with CR LF.
                String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
            }
            VppKind::Sim(_) => {
                let mut c = self.connect();
                let text = c.cli_inband(cmd).unwrap_or_else(|e| panic!("cli_inband {cmd:?}: {e}"));
                let _ = c.close();
                text
            }
        }
    }

    /// `show lb vips verbose`, parsed; removed VIPs included.
    pub fn lb_vips(&self) -> Vec<VipCliInfo> {
        parse_lb_vips_verbose(&self.cli("show lb vips verbose"))
    }

    /// The ASes of the live (not removed) VIP with this prefix, e.g.
    /// `192.0.2.1/32`; removed ASes included (see `used`).
    pub fn ases(vips: &[VipCliInfo], prefix: &str) -> Vec<AsCliInfo> {
        vips.iter()
            .filter(|v| !v.removed && format!("{}/{}", v.addr, v.len) == prefix)
            .flat_map(|v| v.ases.clone())
            .collect()
    }

    /// Polls `show lb vips verbose` until `pred` holds (bounded).
    pub fn wait_lb(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&[VipCliInfo]) -> bool,
    ) -> Vec<VipCliInfo> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.cli("show lb vips verbose");
            let vips = parse_lb_vips_verbose(&text);
            if pred(&vips) {
                return vips;
            }
            assert!(
                Instant::now() < deadline,
                "VPP never reached: {what} within {timeout:?}; it shows:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs VPP's lb garbage collection now, as its periodic run would:
    /// removed VIPs without ASes free their pool slot, ASes removed long
    /// enough ago go. Real VPP runs it at every `lb vip` CLI command, so
    /// deleting a VIP that does not exist runs it and changes nothing else.
    pub fn collect_garbage(&self) {
        match self.kind {
            VppKind::Real(_) => {
                let out = self.cli("lb vip 203.0.113.255/32 protocol tcp port 9 encap gre4 del");
                assert!(!out.contains("unknown input"), "{out}");
            }
            VppKind::Sim(_) => {
                self.control("gc due");
            }
        }
    }

    /// Every API request VPP received so far, in order: vppsim's request
    /// log, or real VPP's API trace.
    pub fn requests(&self) -> Vec<Request> {
        match &self.kind {
            VppKind::Sim(_) => std::fs::read_to_string(self.dir.join("requests.jsonl"))
                .unwrap_or_default()
                .lines()
                .filter_map(Request::from_sim_log)
                .collect(),
            VppKind::Real(_) => Request::from_api_trace(&self.cli("api trace dump")),
        }
    }

    /// Sends a command to vppsim's control socket; returns the lines before
    /// the final `ok`. vppsim only: its fault knobs have no VPP equivalent.
    pub fn control(&self, cmd: &str) -> Vec<String> {
        assert!(!self.is_real(), "`{cmd}` is a vppsim control command; this test must start Vpp::sim");
        let mut s =
            UnixStream::connect(self.dir.join("control.sock")).expect("connect vppsim control socket");
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        writeln!(s, "{cmd}").expect("send control command");
        let mut out = Vec::new();
        for line in BufReader::new(s).lines() {
            let line = line.expect("read control answer");
            if line == "ok" {
                return out;
            }
            assert!(!line.starts_with("error"), "vppsim control {cmd:?}: {line}");
            out.push(line);
        }
        panic!("vppsim control {cmd:?}: no final ok: {out:?}")
    }

    /// The last lines VPP printed, for failure messages.
    pub fn tail(&self, n: usize) -> String {
        self.daemon.tail(n)
    }
}

/// Waits until real VPP serves its API and CLI sockets, or fails with its
/// output.
fn wait_ready(daemon: &Daemon, api: &Path, cli: &Path) {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if cli.exists() && UnixStream::connect(api).is_ok() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "VPP did not serve {} within {START_TIMEOUT:?}; it printed:\n{}",
            api.display(),
            daemon.tail(40)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One API request VPP received: its message name (`lb_as_set_weight`)
/// and its fields under one set of names whichever VPP it came from:
/// `vip` (prefix), `protocol`, `port`, `as`, `weight`, `flush` and
/// `is_del` (`true`/`false`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub msg: String,
    pub fields: BTreeMap<String, String>,
}

impl Request {
    pub fn get(&self, key: &str) -> Option<String> {
        self.fields.get(key).cloned()
    }

    pub fn msg(&self) -> String {
        self.msg.clone()
    }

    /// Messages that change VPP's state.
    pub fn is_write(&self) -> bool {
        matches!(
            self.msg.as_str(),
            "lb_conf"
                | "lb_add_del_vip"
                | "lb_add_del_vip_v2"
                | "lb_add_del_as"
                | "lb_add_del_as_v2"
                | "lb_as_set_weight"
                | "lb_flush_vip"
        )
    }

    /// One line of vppsim's request log (a flat JSON object).
    fn from_sim_log(line: &str) -> Option<Request> {
        let inner = line.trim().strip_prefix('{')?.strip_suffix('}')?;
        let mut req = Request::default();
        // Values never contain `,"` (addresses, numbers, names).
        for pair in inner.split(",\"") {
            let (k, v) = pair.split_once("\":")?;
            let k = k.trim_start_matches('"').to_string();
            let v = v.trim_matches('"').to_string();
            if k == "msg" {
                req.msg = v;
            } else {
                req.fields.insert(k, v);
            }
        }
        Some(req)
    }

    /// Real VPP's `api trace dump`: a `vl_api_<name>_t:` line per message,
    /// then its fields as indented `name: value` lines.
    fn from_api_trace(text: &str) -> Vec<Request> {
        let mut out: Vec<Request> = Vec::new();
        for line in text.lines() {
            if let Some(name) = line.strip_prefix("vl_api_").and_then(|l| l.strip_suffix("_t:")) {
                out.push(Request { msg: name.to_string(), fields: BTreeMap::new() });
                continue;
            }
            let Some(cur) = out.last_mut() else { continue };
            let Some((k, v)) = line.trim().split_once(": ") else { continue };
            let (key, value) = match (k, v) {
                ("pfx", v) => ("vip", v.to_string()),
                ("as_address", v) => ("as", v.to_string()),
                ("is_flush", v) => ("flush", bool_text(v)),
                ("is_del", v) => ("is_del", bool_text(v)),
                (k, v) => (k, v.to_string()),
            };
            cur.fields.insert(key.to_string(), value);
        }
        out
    }
}

fn bool_text(v: &str) -> String {
    (v != "0" && v != "false").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_request_sources_read_alike() {
        let sim = Request::from_sim_log(
            "{\"seq\":7,\"t_ms\":3,\"msg\":\"lb_as_set_weight\",\"client\":2147483649,\"context\":9,\"retval\":0,\"vip\":\"192.0.2.1/32\",\"protocol\":6,\"port\":80,\"as\":\"10.0.0.3\",\"weight\":0,\"flush\":true}",
        )
        .unwrap();
        let real = Request::from_api_trace(
            "vl_api_lb_as_set_weight_t:\n  pfx: 192.0.2.1/32\n  protocol: 6\n  port: 80\n  as_address: 10.0.0.3\n  weight: 0\n  is_flush: 1\nvl_api_control_ping_t:\n",
        );
        assert_eq!(real.len(), 2);
        for k in ["vip", "protocol", "port", "as", "weight", "flush"] {
            assert_eq!(sim.get(k), real[0].get(k), "{k}");
        }
        assert_eq!((sim.msg(), real[1].msg()), ("lb_as_set_weight".into(), "control_ping".into()));
        assert!(sim.is_write() && !real[1].is_write());
    }
}
