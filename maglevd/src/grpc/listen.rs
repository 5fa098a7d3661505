//! Where the gRPC server listens and who may connect.
//!
//! The API can change what VPP forwards, so access to it is access to the
//! load balancer. The default is a local socket that only root, maglevd's
//! user and the members of group `maglevd` can open (as birdc's socket).
//! A TCP address that other hosts can reach is served only with mTLS
//! (clients must show a certificate of the client CA) unless the operator
//! accepts an unprotected API explicitly.

use std::fmt;
use std::io;
use std::net::{IpAddr, ToSocketAddrs};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use log::warn;
use nix::unistd::{chown, Group};

use super::tls::GrpcTls;
use crate::logging::Value;

/// The group whose members may use the local socket, when none is given.
pub const DEFAULT_SOCKET_GROUP: &str = "maglevd";

/// Owner and group read-write: connecting to a unix socket needs write
/// permission, so nobody else can connect.
const SOCKET_MODE: u32 = 0o660;

/// A directory created for the socket: traversable by all, so that the
/// socket's own mode decides who connects.
const SOCKET_DIR_MODE: u32 = 0o755;

/// A parsed `--grpc-addr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// `unix:/path`.
    Unix(PathBuf),
    /// What grpc binds: `host:port`, with `[::]` for a bare `:port`.
    Tcp { bind: String, host: String, port: u16 },
}

#[derive(Debug)]
pub enum ListenError {
    /// The address is neither `unix:/path` nor `host:port`.
    BadAddr { addr: String, detail: String },
    /// TCP without client certificates on an address other hosts may reach.
    InsecureRemote { addr: String, tls: bool },
    /// TLS options with a unix socket.
    TlsOnUnix { addr: String },
    /// The socket's directory could not be created.
    SocketDir { dir: PathBuf, source: io::Error },
    /// `--grpc-socket-group` names a group that does not exist.
    NoGroup { group: String },
    /// The socket's mode or group could not be set.
    SocketAccess { path: PathBuf, what: &'static str, source: io::Error },
}

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenError::BadAddr { addr, detail } => {
                write!(f, "invalid --grpc-addr {addr:?}: {detail}; use unix:/path, host:port or :port")
            }
            ListenError::InsecureRemote { addr, tls } => write!(
                f,
                "refusing to serve the gRPC API {} on {addr}, which is not a loopback address: \
                 whoever reaches it could change backends and reload the config. Enable mTLS \
                 (--grpc-tls-cert, --grpc-tls-key and --grpc-tls-client-ca: clients then need a \
                 certificate of that CA), use the local socket (unix:/run/vpp-maglev/maglevd.sock, \
                 the default) or a loopback address, or pass --grpc-insecure-remote to accept an \
                 unprotected API explicitly",
                if *tls { "without client certificates" } else { "in plaintext" }
            ),
            ListenError::TlsOnUnix { addr } => write!(
                f,
                "--grpc-tls-* options are for TCP listeners, not {addr}: a local socket is guarded by \
                 its mode and group"
            ),
            ListenError::SocketDir { dir, source } => {
                write!(f, "cannot create {} for the gRPC socket: {source}", dir.display())
            }
            ListenError::NoGroup { group } => write!(
                f,
                "group {group:?} (--grpc-socket-group) does not exist: create it (addgroup --system \
                 {group}) or name another"
            ),
            ListenError::SocketAccess { path, what, source } => {
                write!(f, "cannot set the {what} of the gRPC socket {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for ListenError {}

/// Parses `unix:/path`, `host:port`, `[v6]:port` or `:port` (every address).
pub fn parse(addr: &str) -> Result<ListenAddr, ListenError> {
    let bad = |detail: &str| ListenError::BadAddr { addr: addr.to_string(), detail: detail.to_string() };
    if let Some(path) = addr.strip_prefix("unix:") {
        if path.is_empty() {
            return Err(bad("the socket path is empty"));
        }
        return Ok(ListenAddr::Unix(PathBuf::from(path)));
    }
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    let port: u16 = port.parse().map_err(|_| bad("the port is not a number from 0 to 65535"))?;
    let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) if v6.parse::<std::net::Ipv6Addr>().is_ok() => v6,
        Some(_) => return Err(bad("only an IPv6 address goes in brackets")),
        None if host.contains(':') => {
            return Err(bad("an IPv6 address must be written in brackets, e.g. [::1]:9090"))
        }
        None => host,
    };
    let bind = match host {
        "" => format!("[::]:{port}"),
        h if h.contains(':') => format!("[{h}]:{port}"),
        h => format!("{h}:{port}"),
    };
    Ok(ListenAddr::Tcp { bind, host: host.to_string(), port })
}

/// Whether only this host can reach `host`: a loopback address, or a name
/// all of whose addresses are loopback ones. An empty host (every address)
/// or a name that does not resolve is not.
pub fn is_loopback(host: &str, port: u16) -> bool {
    if host.is_empty() {
        return false;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    match (host, port).to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())
        }
        Err(_) => false,
    }
}

/// Refuses a TCP listener that other hosts can reach unless it
/// authenticates clients (mTLS) or `insecure_remote` says so, and TLS
/// options on a unix socket.
pub fn check_exposure(
    addr: &ListenAddr,
    given: &str,
    tls: Option<&GrpcTls>,
    insecure_remote: bool,
) -> Result<(), ListenError> {
    match addr {
        ListenAddr::Unix(_) if tls.is_some() => Err(ListenError::TlsOnUnix { addr: given.to_string() }),
        ListenAddr::Tcp { host, port, .. }
            if !insecure_remote
                && !tls.is_some_and(GrpcTls::authenticates_clients)
                && !is_loopback(host, *port) =>
        {
            Err(ListenError::InsecureRemote { addr: given.to_string(), tls: tls.is_some() })
        }
        _ => Ok(()),
    }
}

/// Creates the socket's directory when it is missing (as in development
/// runs; under systemd RuntimeDirectory= makes it).
pub fn prepare_socket_dir(path: &Path) -> Result<(), ListenError> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(SOCKET_DIR_MODE)
        .create(dir)
        .map_err(|source| ListenError::SocketDir { dir: dir.to_path_buf(), source })
}

/// Gives the bound socket mode 0660 and the group. `group` is `None` for
/// the default group, which is used only when it exists: in a development
/// run or a test without group `maglevd` the socket keeps the process's
/// own group, which is no more open than intended. A group named
/// explicitly must exist. Called before the server accepts connections.
pub fn restrict_socket(path: &Path, group: Option<&str>) -> Result<(), ListenError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))
        .map_err(|source| ListenError::SocketAccess { path: path.to_path_buf(), what: "mode", source })?;
    let name = group.unwrap_or(DEFAULT_SOCKET_GROUP);
    let gid = match Group::from_name(name) {
        Ok(Some(g)) => g.gid,
        Ok(None) | Err(_) if group.is_some() => return Err(ListenError::NoGroup { group: name.to_string() }),
        Ok(None) | Err(_) => {
            warn!(
                "grpc-socket-group-missing group={name} socket={} detail={}",
                Value(&path.display().to_string()),
                Value("only maglevd's own user and group can use the socket; create the group or set --grpc-socket-group")
            );
            return Ok(());
        }
    };
    // Under systemd (Group=maglevd) the socket already has the group.
    if std::fs::metadata(path).is_ok_and(|m| m.gid() == gid.as_raw()) {
        return Ok(());
    }
    chown(path, None, Some(gid)).map_err(|e| ListenError::SocketAccess {
        path: path.to_path_buf(),
        what: "group",
        source: io::Error::from(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(bind: &str, host: &str, port: u16) -> ListenAddr {
        ListenAddr::Tcp { bind: bind.into(), host: host.into(), port }
    }

    #[test]
    fn addresses_parse() {
        assert_eq!(parse("unix:/run/m.sock").unwrap(), ListenAddr::Unix("/run/m.sock".into()));
        assert_eq!(parse(":9090").unwrap(), tcp("[::]:9090", "", 9090));
        assert_eq!(parse("localhost:9090").unwrap(), tcp("localhost:9090", "localhost", 9090));
        assert_eq!(parse("[::1]:0").unwrap(), tcp("[::1]:0", "::1", 0));
        assert_eq!(parse("10.0.0.1:9090").unwrap(), tcp("10.0.0.1:9090", "10.0.0.1", 9090));
        for bad in ["unix:", "localhost", "host:http", "::1:9090", "h:70000"] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn only_loopback_is_local() {
        assert!(is_loopback("127.0.0.1", 1) && is_loopback("127.9.9.9", 1) && is_loopback("::1", 1));
        assert!(is_loopback("localhost", 1));
        assert!(!is_loopback("", 1));
        assert!(!is_loopback("0.0.0.0", 1) && !is_loopback("::", 1));
        assert!(!is_loopback("192.0.2.1", 1));
        assert!(!is_loopback("no-such-host.invalid", 1));
    }

    #[test]
    fn a_remote_address_needs_mtls_or_the_override() {
        let any = parse(":9090").unwrap();
        let err = check_exposure(&any, ":9090", None, false).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("in plaintext") && text.contains("--grpc-insecure-remote"), "{text}");
        assert!(text.contains("--grpc-tls-client-ca"), "{text}");
        assert!(check_exposure(&any, ":9090", None, true).is_ok());
        assert!(check_exposure(&parse("127.0.0.1:9090").unwrap(), "", None, false).is_ok());
        assert!(check_exposure(&parse("unix:/x").unwrap(), "", None, false).is_ok());

        let mtls = GrpcTls {
            cert: "/c".into(),
            key: "/k".into(),
            client_ca: Some("/ca".into()),
            require_client_cert: true,
        };
        assert!(check_exposure(&any, ":9090", Some(&mtls), false).is_ok());
        let optional = GrpcTls { require_client_cert: false, ..mtls.clone() };
        let err = check_exposure(&any, ":9090", Some(&optional), false).unwrap_err();
        assert!(err.to_string().contains("without client certificates"), "{err}");
        let err = check_exposure(&parse("unix:/x").unwrap(), "unix:/x", Some(&mtls), false).unwrap_err();
        assert!(err.to_string().contains("for TCP listeners"), "{err}");
    }
}
