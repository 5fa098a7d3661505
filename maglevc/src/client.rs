//! The connection to maglevd and the plain error messages of failed calls.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use grpcio::{CallOption, ChannelBuilder, ChannelCredentialsBuilder, EnvBuilder, Environment};
use maglev_proto::maglev_grpc::MaglevClient;

/// The bundle Debian's ca-certificates maintains: the CA of maglevd's
/// certificate when `--tls-ca` is not given.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// TLS to a TCP address: whom to trust, and our own certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTls {
    /// The CA of maglevd's certificate; `None`: the system roots.
    pub ca: Option<PathBuf>,
    /// Our certificate chain and private key, for maglevd's mTLS.
    pub cert: Option<(PathBuf, PathBuf)>,
}

fn read_pem(what: &str, path: &Path) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))?;
    // grpcio passes PEM text to C as a NUL-terminated string.
    if bytes.contains(&0) || !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(format!("the {what} {} is not a PEM file", path.display()));
    }
    Ok(bytes)
}

/// Unary calls give up after this long.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// A failed call, reduced to what an operator needs to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    pub message: String,
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CallError {}

impl CallError {
    pub fn new(message: impl Into<String>) -> Self {
        CallError { message: message.into() }
    }

    /// The status message only, not the status boilerplate; a connection
    /// failure says where we tried to connect.
    pub fn from_grpc(e: grpcio::Error, server: &str) -> CallError {
        match e {
            grpcio::Error::RpcFailure(s) => {
                let msg = s.message().to_string();
                let handshake = msg.contains("andshake") || msg.contains("SSL") || msg.contains("ssl");
                if s.code() == grpcio::RpcStatusCode::UNAVAILABLE && handshake {
                    CallError::new(format!(
                        "cannot connect to maglevd at {server}: the TLS handshake failed ({}); check \
                         --tls-ca, and that --tls-cert is signed by maglevd's client CA",
                        first_line(&msg)
                    ))
                } else if s.code() == grpcio::RpcStatusCode::UNAVAILABLE && msg.contains("Permission denied")
                {
                    CallError::new(format!(
                        "cannot connect to maglevd at {server}: permission denied (only root and the members \
                         of group maglevd may use its socket: ask for `adduser $USER maglevd`, then log in again)"
                    ))
                } else if s.code() == grpcio::RpcStatusCode::UNAVAILABLE
                    && (msg.is_empty()
                        || msg.contains("failed to connect")
                        || msg.contains("Connection refused"))
                {
                    CallError::new(format!("cannot connect to maglevd at {server}: {}", first_line(&msg)))
                } else if s.code() == grpcio::RpcStatusCode::DEADLINE_EXCEEDED {
                    CallError::new(format!("maglevd at {server} did not answer in time"))
                } else if msg.is_empty() {
                    CallError::new(format!("maglevd answered {:?}", s.code()))
                } else {
                    CallError::new(msg)
                }
            }
            other => CallError::new(other.to_string()),
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// A client of one maglevd.
#[derive(Clone)]
pub struct Client {
    pub api: MaglevClient,
    pub server: String,
    /// Whether the connection uses TLS, and a client certificate (for the
    /// hints of errors).
    pub tls: bool,
    pub client_cert: bool,
    _env: Arc<Environment>,
}

impl Client {
    /// Connects lazily: the first call reports an unreachable server. Fails
    /// only when a TLS file cannot be read.
    pub fn connect(server: &str, tls: Option<&ClientTls>) -> Result<Client, String> {
        let env = Arc::new(EnvBuilder::new().cq_count(1).name_prefix("maglevc-grpc").build());
        let mut builder = ChannelBuilder::new(env.clone());
        if let Some(t) = tls {
            let ca = t.ca.clone().unwrap_or_else(|| PathBuf::from(SYSTEM_ROOTS));
            let mut creds = ChannelCredentialsBuilder::new().root_cert(read_pem("TLS CA", &ca)?);
            if let Some((cert, key)) = &t.cert {
                creds = creds.cert(read_pem("TLS certificate", cert)?, read_pem("TLS key", key)?);
            }
            builder = builder.set_credentials(creds.build());
        }
        let channel = builder.connect(server);
        Ok(Client {
            api: MaglevClient::new(channel),
            server: server.to_string(),
            tls: tls.is_some(),
            client_cert: tls.is_some_and(|t| t.cert.is_some()),
            _env: env,
        })
    }

    /// Leaves the channel and its environment to the process exit instead
    /// of tearing them down; call it last, just before `main` returns.
    ///
    /// gRPC's C core (1.56, in grpcio-sys 0.13) destroys its event engine
    /// with the last channel, and that waits for every thread of the
    /// engine's pool to exit. A thread the pool adds during a burst of work
    /// (connecting is one) first sleeps for up to a second without looking
    /// at the shutdown flag (`OriginalThreadPool::Queue::SleepIfRunning`),
    /// so about one command in ten took a second longer to exit. Nothing is
    /// left to flush at that point; the kernel frees the rest.
    pub fn leave_to_exit(self) {
        std::mem::forget(self);
    }

    pub fn opt(&self) -> CallOption {
        CallOption::default().timeout(CALL_TIMEOUT)
    }

    /// Maps a call's error to a plain message.
    pub fn err(&self, e: grpcio::Error) -> CallError {
        let mut err = CallError::from_grpc(e, &self.server);
        // A plaintext client at a TLS port, or a client without the
        // certificate maglevd requires, sees only a closed connection.
        if !self.server.starts_with("unix:") && err.message.starts_with("cannot connect") {
            if !self.tls {
                err.message.push_str(
                    " (if maglevd serves TLS there, connect with --tls-ca, --tls-cert and --tls-key)",
                );
            } else if !self.client_cert {
                err.message
                    .push_str(" (if maglevd requires a client certificate, give --tls-cert and --tls-key)");
            }
        }
        err
    }
}
