//! The connection to maglevd and the plain error messages of failed calls.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use grpcio::{CallOption, ChannelBuilder, EnvBuilder, Environment};
use maglev_proto::maglev_grpc::MaglevClient;

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
                if s.code() == grpcio::RpcStatusCode::UNAVAILABLE && msg.contains("Permission denied") {
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
    _env: Arc<Environment>,
}

impl Client {
    /// Connects lazily: the first call reports an unreachable server.
    pub fn connect(server: &str) -> Client {
        let env = Arc::new(EnvBuilder::new().cq_count(1).name_prefix("maglevc-grpc").build());
        let channel = ChannelBuilder::new(env.clone()).connect(server);
        Client { api: MaglevClient::new(channel), server: server.to_string(), _env: env }
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
        CallError::from_grpc(e, &self.server)
    }
}
