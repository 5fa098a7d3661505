//! A maglevd under test: its config file in a temp dir, its gRPC socket
//! there too, VPP and metrics disabled unless a test asks for them.

use std::path::PathBuf;

use crate::{bin, Daemon, TempDir};

pub struct Maglevd {
    pub dir: TempDir,
    pub config: PathBuf,
    pub daemon: Daemon,
    /// `unix:/...` address of the gRPC server.
    pub grpc_addr: String,
}

/// Options for starting a maglevd.
#[derive(Debug, Clone)]
pub struct MaglevdOpts {
    pub log_level: &'static str,
    /// `--vpp-api-addr` ("" disables VPP).
    pub vpp_api_addr: String,
    pub vpp_stats_addr: String,
    /// `--metrics-addr` ("" disables).
    pub metrics_addr: String,
    pub extra_args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// `--grpc-addr`; `None`: a socket in the temp dir. With a TCP port 0
    /// `Maglevd::grpc_addr` becomes 127.0.0.1 and the port bound.
    pub grpc_addr: Option<String>,
}

impl Default for MaglevdOpts {
    fn default() -> Self {
        MaglevdOpts {
            log_level: "info",
            vpp_api_addr: String::new(),
            vpp_stats_addr: String::new(),
            metrics_addr: String::new(),
            extra_args: vec![],
            env: vec![],
            grpc_addr: None,
        }
    }
}

impl Maglevd {
    /// Writes `config_yaml` and starts maglevd on it; waits for `ready`.
    pub fn start(config_yaml: &str, opts: MaglevdOpts) -> Maglevd {
        let dir = TempDir::new("maglevd");
        let config = dir.write("maglev.yaml", config_yaml);
        let grpc_addr =
            opts.grpc_addr.clone().unwrap_or_else(|| format!("unix:{}", dir.join("grpc.sock").display()));
        let mut args: Vec<String> = vec![
            "--config".into(),
            config.display().to_string(),
            "--grpc-addr".into(),
            grpc_addr.clone(),
            "--metrics-addr".into(),
            opts.metrics_addr.clone(),
            "--vpp-api-addr".into(),
            opts.vpp_api_addr.clone(),
            "--vpp-stats-addr".into(),
            opts.vpp_stats_addr.clone(),
            "--log-level".into(),
            opts.log_level.into(),
        ];
        args.extend(opts.extra_args.iter().cloned());
        let env: Vec<(&str, &str)> = opts.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let daemon = Daemon::start_with_env(&bin("maglevd"), &args, &env);
        daemon.wait_for(&["ready"], std::time::Duration::from_secs(20));
        let grpc_addr = if grpc_addr.starts_with("unix:") {
            grpc_addr
        } else {
            let line = daemon.wait_for(&["grpc-listen"], std::time::Duration::from_secs(1));
            let port = line
                .text
                .split_whitespace()
                .find_map(|f| f.strip_prefix("port="))
                .unwrap_or_else(|| panic!("no port in {:?}", line.text));
            format!("127.0.0.1:{port}")
        };
        Maglevd { dir, config, daemon, grpc_addr }
    }

    /// Replaces the config file and sends SIGHUP. Returns the log cursor
    /// from before the signal.
    pub fn reload_with(&self, config_yaml: &str) -> usize {
        std::fs::write(&self.config, config_yaml).expect("write config");
        let cursor = self.daemon.line_count();
        self.daemon.signal(nix::sys::signal::Signal::SIGHUP);
        cursor
    }
}
