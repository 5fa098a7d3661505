//! maglevd's command line and environment (PRODUCT.md §4). Flags win over
//! the environment.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use log::LevelFilter;

use crate::grpc::tls::GrpcTls;
use crate::logging::parse_level;

pub const USAGE: &str = "\
usage: maglevd [options]

options (environment variable in brackets):
  --config PATH          config file [MAGLEV_CONFIG] (default /etc/vpp-maglev/maglev.yaml)
  --grpc-addr ADDR       gRPC listen address, unix:/path or host:port [MAGLEV_GRPC_ADDR]
                         (default unix:/run/vpp-maglev/maglevd.sock)
  --grpc-socket-group GROUP
                         group that may use the gRPC socket (mode 0660)
                         [MAGLEV_GRPC_SOCKET_GROUP] (default maglevd, if it exists)
  --grpc-tls-cert PATH   TLS certificate chain (PEM) of a TCP listener [MAGLEV_GRPC_TLS_CERT]
  --grpc-tls-key PATH    its private key (PEM) [MAGLEV_GRPC_TLS_KEY]
  --grpc-tls-client-ca PATH
                         CA of the client certificates (PEM): mTLS [MAGLEV_GRPC_TLS_CLIENT_CA]
  --grpc-tls-require-client-cert BOOL
                         refuse clients without such a certificate
                         [MAGLEV_GRPC_TLS_REQUIRE_CLIENT_CERT] (default true with a client CA)
  --grpc-insecure-remote serve gRPC without mTLS on a non-loopback TCP address
                         (refused otherwise) [MAGLEV_GRPC_INSECURE_REMOTE]
  --metrics-addr ADDR    /metrics and status page address; empty disables [MAGLEV_METRICS_ADDR]
                         (default :9091)
  --vpp-api-addr PATH    VPP API socket; empty disables VPP [MAGLEV_VPP_API_ADDR]
                         (default /run/vpp/api.sock)
  --vpp-stats-addr PATH  VPP stats socket [MAGLEV_VPP_STATS_ADDR] (default /run/vpp/stats.sock)
  --log-level LEVEL      error, warn, info, debug or trace [MAGLEV_LOG_LEVEL] (default info)
  --reflection BOOL      serve gRPC server reflection (default true)
  --max-watch-streams N  WatchEvents (and health Watch) streams open at once; one more is refused
                         [MAGLEV_MAX_WATCH_STREAMS] (default 64)
  --check                validate the config and exit: 0 valid, 1 parse error, 2 semantic error
  --version              print version, commit and build date and exit
  --help                 print this help and exit
";

/// The local, permissioned socket (mode 0660, group maglevd).
pub const DEFAULT_GRPC_ADDR: &str = "unix:/run/vpp-maglev/maglevd.sock";

/// The resolved options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub config: PathBuf,
    pub grpc_addr: String,
    /// `None`: the default group, used only when it exists.
    pub grpc_socket_group: Option<String>,
    pub grpc_insecure_remote: bool,
    /// TLS on a TCP gRPC listener.
    pub grpc_tls: Option<GrpcTls>,
    pub metrics_addr: String,
    pub vpp_api_addr: String,
    pub vpp_stats_addr: String,
    pub log_level: LevelFilter,
    pub reflection: bool,
    pub max_watch_streams: usize,
    pub check: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Run(Box<Options>),
    Help,
    Version,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagError(pub String);

impl fmt::Display for FlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Options {
    pub fn vpp_enabled(&self) -> bool {
        !self.vpp_api_addr.is_empty()
    }
}

/// Parses `args` (without the program name), falling back to `env`.
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Action, FlagError> {
    use lexopt::prelude::*;
    let env_or = |key: &str, default: &str| env(key).unwrap_or_else(|| default.to_string());
    let mut config = None;
    let mut grpc_addr = None;
    let mut grpc_socket_group = None;
    let mut grpc_insecure_remote = None;
    let mut tls_cert = None;
    let mut tls_key = None;
    let mut tls_client_ca = None;
    let mut tls_require = None;
    let mut metrics_addr = None;
    let mut vpp_api_addr = None;
    let mut vpp_stats_addr = None;
    let mut log_level = None;
    let mut reflection = true;
    let mut max_watch_streams = None;
    let mut check = false;

    let mut parser = lexopt::Parser::from_args(args);
    let err = |e: lexopt::Error| FlagError(e.to_string());
    while let Some(arg) = parser.next().map_err(err)? {
        match arg {
            Long("config") => config = Some(parser.value().map_err(err)?.string().map_err(err)?),
            Long("grpc-addr") => grpc_addr = Some(parser.value().map_err(err)?.string().map_err(err)?),
            Long("grpc-socket-group") => {
                grpc_socket_group = Some(parser.value().map_err(err)?.string().map_err(err)?)
            }
            Long("grpc-insecure-remote") => grpc_insecure_remote = Some(true),
            Long("grpc-tls-cert") => tls_cert = Some(parser.value().map_err(err)?.string().map_err(err)?),
            Long("grpc-tls-key") => tls_key = Some(parser.value().map_err(err)?.string().map_err(err)?),
            Long("grpc-tls-client-ca") => {
                tls_client_ca = Some(parser.value().map_err(err)?.string().map_err(err)?)
            }
            Long("grpc-tls-require-client-cert") => {
                tls_require = Some(parser.value().map_err(err)?.string().map_err(err)?)
            }
            Long("metrics-addr") => metrics_addr = Some(parser.value().map_err(err)?.string().map_err(err)?),
            Long("vpp-api-addr") => vpp_api_addr = Some(parser.value().map_err(err)?.string().map_err(err)?),
            Long("vpp-stats-addr") => {
                vpp_stats_addr = Some(parser.value().map_err(err)?.string().map_err(err)?)
            }
            Long("log-level") => log_level = Some(parser.value().map_err(err)?.string().map_err(err)?),
            Long("reflection") => {
                let v = parser.value().map_err(err)?.string().map_err(err)?;
                reflection = parse_bool(&v).ok_or_else(|| {
                    FlagError(format!("invalid value {v:?} for --reflection: use true or false"))
                })?;
            }
            Long("max-watch-streams") => {
                max_watch_streams = Some(parser.value().map_err(err)?.string().map_err(err)?)
            }
            Long("check") => check = true,
            Long("version") => return Ok(Action::Version),
            Long("help") | Short('h') => return Ok(Action::Help),
            other => return Err(FlagError(other.unexpected().to_string())),
        }
    }
    let level_str = log_level.unwrap_or_else(|| env_or("MAGLEV_LOG_LEVEL", "info"));
    let log_level = parse_level(&level_str).ok_or_else(|| {
        FlagError(format!("invalid log level {level_str:?}: use error, warn, info, debug or trace"))
    })?;
    let streams_str =
        max_watch_streams.or_else(|| env("MAGLEV_MAX_WATCH_STREAMS")).unwrap_or_else(|| "64".into());
    let max_watch_streams = streams_str.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
        FlagError(format!(
            "invalid value {streams_str:?} for --max-watch-streams: use a whole number above 0"
        ))
    })?;
    let grpc_insecure_remote = match grpc_insecure_remote {
        Some(v) => v,
        None => match env("MAGLEV_GRPC_INSECURE_REMOTE") {
            None => false,
            Some(v) => parse_bool(&v).ok_or_else(|| {
                FlagError(format!("invalid value {v:?} for MAGLEV_GRPC_INSECURE_REMOTE: use true or false"))
            })?,
        },
    };
    let grpc_tls = grpc_tls(
        tls_cert.or_else(|| env("MAGLEV_GRPC_TLS_CERT")).filter(|v| !v.is_empty()),
        tls_key.or_else(|| env("MAGLEV_GRPC_TLS_KEY")).filter(|v| !v.is_empty()),
        tls_client_ca.or_else(|| env("MAGLEV_GRPC_TLS_CLIENT_CA")).filter(|v| !v.is_empty()),
        tls_require.or_else(|| env("MAGLEV_GRPC_TLS_REQUIRE_CLIENT_CERT")).filter(|v| !v.is_empty()),
    )?;
    Ok(Action::Run(Box::new(Options {
        config: PathBuf::from(
            config.unwrap_or_else(|| env_or("MAGLEV_CONFIG", "/etc/vpp-maglev/maglev.yaml")),
        ),
        grpc_addr: grpc_addr.unwrap_or_else(|| env_or("MAGLEV_GRPC_ADDR", DEFAULT_GRPC_ADDR)),
        grpc_socket_group: grpc_socket_group
            .or_else(|| env("MAGLEV_GRPC_SOCKET_GROUP"))
            .filter(|g| !g.is_empty()),
        grpc_insecure_remote,
        grpc_tls,
        metrics_addr: metrics_addr.unwrap_or_else(|| env_or("MAGLEV_METRICS_ADDR", ":9091")),
        vpp_api_addr: vpp_api_addr.unwrap_or_else(|| env_or("MAGLEV_VPP_API_ADDR", "/run/vpp/api.sock")),
        vpp_stats_addr: vpp_stats_addr
            .unwrap_or_else(|| env_or("MAGLEV_VPP_STATS_ADDR", "/run/vpp/stats.sock")),
        log_level,
        reflection,
        max_watch_streams,
        check,
    })))
}

/// The TLS options as one setting: a certificate needs its key, a client
/// CA needs a certificate, and requiring client certificates needs a CA
/// to check them against.
fn grpc_tls(
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    require: Option<String>,
) -> Result<Option<GrpcTls>, FlagError> {
    let require = match require {
        None => None,
        Some(v) => Some(parse_bool(&v).ok_or_else(|| {
            FlagError(format!("invalid value {v:?} for --grpc-tls-require-client-cert: use true or false"))
        })?),
    };
    match (cert, key) {
        (Some(cert), Some(key)) => {
            if require == Some(true) && client_ca.is_none() {
                return Err(FlagError(
                    "--grpc-tls-require-client-cert needs --grpc-tls-client-ca, the CA that signs \
                     the client certificates"
                        .into(),
                ));
            }
            let require_client_cert = require.unwrap_or(client_ca.is_some());
            Ok(Some(GrpcTls {
                cert: cert.into(),
                key: key.into(),
                client_ca: client_ca.map(PathBuf::from),
                require_client_cert,
            }))
        }
        (None, None) if client_ca.is_none() && require.is_none() => Ok(None),
        (None, None) => Err(FlagError(
            "--grpc-tls-client-ca and --grpc-tls-require-client-cert need --grpc-tls-cert and --grpc-tls-key"
                .into(),
        )),
        (Some(_), None) => Err(FlagError("--grpc-tls-cert needs --grpc-tls-key".into())),
        (None, Some(_)) => Err(FlagError("--grpc-tls-key needs --grpc-tls-cert".into())),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], env: &[(&str, &str)]) -> Result<Action, FlagError> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        parse(args.iter().map(OsString::from), move |k| {
            env.iter().find(|(ek, _)| ek == k).map(|(_, v)| v.clone())
        })
    }

    fn opts(args: &[&str], env: &[(&str, &str)]) -> Options {
        match run(args, env) {
            Ok(Action::Run(o)) => *o,
            other => panic!("expected options, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = opts(&[], &[]);
        assert_eq!(o.config, PathBuf::from("/etc/vpp-maglev/maglev.yaml"));
        assert_eq!(o.grpc_addr, "unix:/run/vpp-maglev/maglevd.sock");
        assert_eq!(o.grpc_socket_group, None);
        assert!(!o.grpc_insecure_remote);
        assert_eq!(o.metrics_addr, ":9091");
        assert_eq!(o.vpp_api_addr, "/run/vpp/api.sock");
        assert_eq!(o.vpp_stats_addr, "/run/vpp/stats.sock");
        assert_eq!(o.log_level, LevelFilter::Info);
        assert!(o.reflection && !o.check && o.vpp_enabled());
        assert_eq!(o.max_watch_streams, 64);
    }

    #[test]
    fn flags_win_over_env_and_empty_disables_vpp() {
        let o = opts(
            &["--config", "/tmp/a.yaml", "--vpp-api-addr=", "--reflection=false", "--log-level", "debug"],
            &[("MAGLEV_CONFIG", "/env.yaml"), ("MAGLEV_GRPC_ADDR", "unix:/run/m.sock")],
        );
        assert_eq!(o.config, PathBuf::from("/tmp/a.yaml"));
        assert_eq!(o.grpc_addr, "unix:/run/m.sock");
        assert!(!o.vpp_enabled());
        assert!(!o.reflection);
        assert_eq!(o.log_level, LevelFilter::Debug);
    }

    #[test]
    fn grpc_access_flags_and_env() {
        let o = opts(&["--grpc-socket-group", "ops", "--grpc-insecure-remote"], &[]);
        assert_eq!(o.grpc_socket_group.as_deref(), Some("ops"));
        assert!(o.grpc_insecure_remote);
        let o = opts(&[], &[("MAGLEV_GRPC_SOCKET_GROUP", "netops"), ("MAGLEV_GRPC_INSECURE_REMOTE", "yes")]);
        assert_eq!(o.grpc_socket_group.as_deref(), Some("netops"));
        assert!(o.grpc_insecure_remote);
        assert!(run(&[], &[("MAGLEV_GRPC_INSECURE_REMOTE", "perhaps")]).is_err());
    }

    #[test]
    fn tls_options_make_one_setting() {
        assert_eq!(opts(&[], &[]).grpc_tls, None);
        let o = opts(&["--grpc-tls-cert", "/c.pem", "--grpc-tls-key", "/k.pem"], &[]);
        let tls = o.grpc_tls.expect("tls");
        assert!(tls.client_ca.is_none() && !tls.require_client_cert);
        let o = opts(
            &["--grpc-tls-cert", "/c.pem", "--grpc-tls-client-ca", "/ca.pem"],
            &[("MAGLEV_GRPC_TLS_KEY", "/k.pem")],
        );
        let tls = o.grpc_tls.expect("tls");
        assert_eq!(tls.key, PathBuf::from("/k.pem"));
        assert!(tls.require_client_cert, "on by default with a client CA");
        assert!(tls.authenticates_clients());
        let o = opts(
            &["--grpc-tls-cert=/c", "--grpc-tls-key=/k", "--grpc-tls-client-ca=/ca"],
            &[("MAGLEV_GRPC_TLS_REQUIRE_CLIENT_CERT", "false")],
        );
        assert!(!o.grpc_tls.expect("tls").require_client_cert);
        for bad in [
            &["--grpc-tls-cert", "/c"][..],
            &["--grpc-tls-key", "/k"],
            &["--grpc-tls-client-ca", "/ca"],
            &["--grpc-tls-cert=/c", "--grpc-tls-key=/k", "--grpc-tls-require-client-cert=true"],
            &["--grpc-tls-cert=/c", "--grpc-tls-key=/k", "--grpc-tls-require-client-cert=maybe"],
        ] {
            assert!(run(bad, &[]).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn bad_flags_are_errors() {
        assert!(run(&["--bogus"], &[]).is_err());
        assert!(run(&["--log-level", "loud"], &[]).is_err());
        assert!(run(&["--reflection", "maybe"], &[]).is_err());
        assert!(run(&["--max-watch-streams", "0"], &[]).is_err());
        assert!(run(&[], &[("MAGLEV_MAX_WATCH_STREAMS", "many")]).is_err());
        assert_eq!(opts(&["--max-watch-streams=3"], &[]).max_watch_streams, 3);
        assert!(run(&["--config"], &[]).is_err());
        assert!(run(&[], &[("MAGLEV_LOG_LEVEL", "nope")]).is_err());
        assert_eq!(run(&["--version"], &[]), Ok(Action::Version));
    }
}
