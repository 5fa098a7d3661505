//! The gRPC API server (PRODUCT.md §8): the `maglev.Maglev` service, the
//! standard health service and server reflection, on grpcio's C-core server.
//!
//! The daemon starts it with [`start`] once the checker runs, has the VPP
//! thread flip the health status as VPP becomes ready or goes away, and
//! stops it with [`GrpcServer::stop`].

mod background;
pub mod convert;
mod handoff;
pub mod health;
pub mod instrument;
pub mod listen;
pub mod reflection;
pub mod service;
pub mod stream;
pub mod tls;
pub mod vpp;
pub mod watch;

use std::fmt;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use crossbeam_channel::Sender;
use grpcio::{EnvBuilder, Environment, Server, ServerBuilder, ServerCredentials};
use log::info;

use crate::checker::CheckerHandle;
use crate::logging::Value;
use crate::metrics::Metrics;
use crate::reload::ConfigSource;

pub use health::HealthStatus;
pub use service::{AfterReload, VersionInfo};
pub use vpp::VppService;

/// Completion-queue threads. Handlers never wait on other threads (see
/// `service`), so two suffice.
const CQ_THREADS: usize = 2;
/// Calls each completion queue stands ready to accept at the same instant;
/// a matched slot is re-armed at once, and calls beyond wait in C-core's
/// queue until one is. grpcio's default of 1,024 per queue held about
/// 1 MB for a control-plane API that sees a few calls at a time.
const REQUEST_SLOTS_PER_CQ: usize = 32;

pub struct GrpcOptions {
    /// `host:port`, `:port` (all addresses) or `unix:/path`.
    pub addr: String,
    /// The local socket's group; `None`: `maglevd` when it exists.
    pub socket_group: Option<String>,
    /// Serve plaintext on a TCP address that is not a loopback one.
    pub insecure_remote: bool,
    /// TLS (and client certificates) on a TCP listener.
    pub tls: Option<tls::GrpcTls>,
    /// Serve `grpc.reflection.v1` and `v1alpha`.
    pub reflection: bool,
    pub version: VersionInfo,
    /// The daemon's config file, for CheckConfig and ReloadConfig.
    pub config: ConfigSource,
    /// Runs after a successful ReloadConfig, as after SIGHUP.
    pub after_reload: Option<AfterReload>,
    /// `None`: VPP integration is disabled; the VPP RPCs answer UNAVAILABLE.
    pub vpp: Option<Arc<dyn VppService>>,
    /// Where calls are recorded (`grpc_server_*`); `None` records nothing.
    pub metrics: Option<Arc<Metrics>>,
    /// The health status the daemon flips (NOT_SERVING while VPP is not
    /// ready; create it before the VPP thread so its readiness callback can
    /// hold a clone).
    pub health: HealthStatus,
    /// At most this many WatchEvents streams at once (`--max-watch-streams`),
    /// and as many grpc.health Watch streams.
    pub max_watch_streams: usize,
}

#[derive(Debug)]
pub enum GrpcError {
    /// The server could not be built.
    Build(grpcio::Error),
    /// A thread could not be started.
    Thread(std::io::Error),
    /// The listen address could not be bound.
    Bind { addr: String, source: grpcio::Error },
    /// The address is refused, or the socket could not be prepared.
    Listen(listen::ListenError),
    /// A TLS file is missing or wrong.
    Tls(tls::TlsError),
}

impl fmt::Display for GrpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrpcError::Build(e) => write!(f, "cannot build the gRPC server: {e}"),
            GrpcError::Thread(e) => write!(f, "cannot start the gRPC server's background thread: {e}"),
            GrpcError::Bind { addr, source } => write!(
                f,
                "cannot listen for gRPC on {addr}: {source} (is the address in use, or not local? check --grpc-addr)"
            ),
            GrpcError::Listen(e) => write!(f, "{e}"),
            GrpcError::Tls(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for GrpcError {}

/// A running gRPC server.
pub struct GrpcServer {
    server: Server,
    health: HealthStatus,
    /// Dropped on stop: stream threads see the disconnection and end.
    shutdown: Option<Sender<()>>,
    port: u16,
    addr: String,
    _env: Arc<Environment>,
}

/// Fully qualified names of the services this server runs.
fn service_names(reflection: bool) -> Vec<String> {
    let mut names = vec!["maglev.Maglev".to_string(), "grpc.health.v1.Health".to_string()];
    if reflection {
        names.push("grpc.reflection.v1.ServerReflection".to_string());
        names.push("grpc.reflection.v1alpha.ServerReflection".to_string());
    }
    names
}

/// Builds, binds and starts the server.
pub fn start(checker: CheckerHandle, opts: GrpcOptions) -> Result<GrpcServer, GrpcError> {
    let listen_addr = listen::parse(&opts.addr).map_err(GrpcError::Listen)?;
    listen::check_exposure(&listen_addr, &opts.addr, opts.tls.as_ref(), opts.insecure_remote)
        .map_err(GrpcError::Listen)?;
    let credentials = match &opts.tls {
        Some(t) => tls::server_credentials(t).map_err(GrpcError::Tls)?,
        None => ServerCredentials::insecure(),
    };
    let env = Arc::new(EnvBuilder::new().cq_count(CQ_THREADS).name_prefix("grpc-cq").build());
    let (shutdown_tx, shutdown_rx) = crossbeam_channel::bounded::<()>(0);
    let health = opts.health;
    let names = service_names(opts.reflection);
    let instrument = instrument::Instrument(opts.metrics);
    let files = [
        maglev_proto::maglev::file_descriptor(),
        maglev_proto::health_v1::file_descriptor(),
        maglev_proto::reflection_v1::file_descriptor(),
        maglev_proto::reflection_v1alpha::file_descriptor(),
    ];
    instrument.register(&files, &names);

    let maglev = service::MaglevService {
        checker,
        config: opts.config,
        after_reload: opts.after_reload,
        vpp: opts.vpp,
        version: opts.version,
        shutdown: shutdown_rx.clone(),
        instrument: instrument.clone(),
        background: background::Background::start().map_err(GrpcError::Thread)?,
        watch_streams: Arc::new(AtomicUsize::new(0)),
        max_watch_streams: opts.max_watch_streams,
    };
    let mut builder = ServerBuilder::new(env.clone())
        .requests_slot_per_cq(REQUEST_SLOTS_PER_CQ)
        .register_service(maglev_proto::maglev_grpc::create_maglev(maglev))
        .register_service(maglev_proto::health_v1_grpc::create_health(health::HealthService::new(
            health.clone(),
            names.clone(),
            shutdown_rx,
            instrument.clone(),
            opts.max_watch_streams,
        )));
    if opts.reflection {
        let registry = Arc::new(reflection::Registry::new(&files, names));
        builder = builder
            .register_service(maglev_proto::reflection_v1_grpc::create_server_reflection(
                reflection::ReflectionV1::new(registry.clone(), instrument.clone()),
            ))
            .register_service(maglev_proto::reflection_v1alpha_grpc::create_server_reflection(
                reflection::ReflectionV1Alpha::new(registry, instrument),
            ));
    }
    let mut server = builder.build().map_err(GrpcError::Build)?;
    let bind = match &listen_addr {
        listen::ListenAddr::Unix(path) => {
            listen::prepare_socket_dir(path).map_err(GrpcError::Listen)?;
            opts.addr.clone()
        }
        listen::ListenAddr::Tcp { bind, .. } => bind.clone(),
    };
    let port = server
        .add_listening_port(bind, credentials)
        .map_err(|source| GrpcError::Bind { addr: opts.addr.clone(), source })?;
    // Bound but not yet accepting: restrict the socket before anyone can
    // get in.
    if let listen::ListenAddr::Unix(path) = &listen_addr {
        listen::restrict_socket(path, opts.socket_group.as_deref()).map_err(GrpcError::Listen)?;
    }
    server.start();
    let security = match &opts.tls {
        None => "none",
        Some(t) if t.authenticates_clients() => "mtls",
        Some(_) => "tls",
    };
    info!("grpc-listen addr={} port={port} tls={security} reflection={}", Value(&opts.addr), opts.reflection);
    Ok(GrpcServer { server, health, shutdown: Some(shutdown_tx), port, addr: opts.addr, _env: env })
}

impl GrpcServer {
    /// The bound TCP port (useful with port 0); meaningless for `unix:`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address as given.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// A handle to the health status (e.g. for the VPP warmup callback).
    pub fn health(&self) -> HealthStatus {
        self.health.clone()
    }

    /// SERVING or NOT_SERVING in `grpc.health.v1.Health`.
    pub fn set_serving(&self, serving: bool) {
        self.health.set_serving(serving);
    }

    /// Ends every stream, then shuts the server down and waits for it.
    pub fn stop(mut self) {
        drop(self.shutdown.take());
        let shutdown = self.server.shutdown();
        // Shutdown waits for every call to finish; a client holding a
        // reflection or health stream open must not keep maglevd alive.
        self.server.cancel_all_calls();
        let _ = futures_executor::block_on(shutdown);
        info!("grpc-stopped addr={}", Value(&self.addr));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflection_is_listed_only_when_served() {
        assert_eq!(service_names(false), ["maglev.Maglev", "grpc.health.v1.Health"]);
        assert_eq!(service_names(true).len(), 4);
    }
}
