//! The HTTP listener of `--metrics-addr`: `/metrics`, the status page and
//! its event stream.
//!
//! Our own small server rather than tiny_http: tiny_http starts a thread
//! per connection (tiny-http issue #221), so idle connections could grow
//! maglevd's threads without bound. Here a poller thread holds connections
//! until their request arrives and a fixed set of threads answers them
//! (`server`); each connection carries one GET or HEAD (`message`).

mod message;
mod routes;
mod server;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use crossbeam_channel::Receiver;
use socket2::{Domain, Socket, Type};

use crate::metrics::MetricsError;

pub use message::{stream_head, BadRequest, Method, Request, Response, MAX_HEAD, TEXT};
pub use routes::Routes;
pub use server::{serve_on, HttpServer, Limits};

/// What the listener serves. Called on a worker thread; must answer
/// quickly (read snapshots, never wait for another thread's work).
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, req: &Request) -> Reply;
}

pub enum Reply {
    Full(Response),
    /// A 200 answer whose body `write` produces on the worker thread, in
    /// pieces, ending when the connection closes (no Content-Length): for
    /// bodies too large to hold in memory at once (`/metrics`).
    Written {
        content_type: &'static str,
        write: BodyWriter,
    },
    /// A reply that lasts (Server-Sent Events): runs on a thread of its
    /// own, within [`Limits::streams`]. It writes its own head
    /// ([`stream_head`]).
    Stream(Box<dyn FnOnce(StreamCtx) + Send>),
}

/// Writes a [`Reply::Written`] body to the client's socket.
pub type BodyWriter = Box<dyn FnOnce(&mut dyn io::Write) -> io::Result<()> + Send>;

/// What a stream gets: the client's socket (blocking, with the write
/// timeout set) and a channel that disconnects when the server stops.
pub struct StreamCtx {
    pub socket: std::net::TcpStream,
    pub shutdown: Receiver<()>,
}

/// Listens on `addr` (`:9091` for every interface, `host:port`,
/// `[::1]:9091`) and serves `handler` within `limits`.
pub fn serve(addr: &str, handler: Arc<dyn Handler>, limits: Limits) -> Result<HttpServer, MetricsError> {
    serve_on(bind(addr)?, handler, limits)
}

/// Parses and binds the address.
fn bind(addr: &str) -> Result<TcpListener, MetricsError> {
    let bad = |reason: &str| MetricsError::BadAddress { addr: addr.to_string(), reason: reason.to_string() };
    let (host, port) = addr.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    let port: u16 = port.parse().map_err(|_| bad("the port is not a number in 0..65535"))?;
    let bind_err = |source: io::Error| MetricsError::Bind { addr: addr.to_string(), source };
    if host.is_empty() {
        return bind_any(port).map_err(bind_err);
    }
    if host.starts_with('[') != host.ends_with(']') {
        return Err(bad("unbalanced brackets around the IPv6 address"));
    }
    TcpListener::bind(addr).map_err(bind_err)
}

/// `:port`: every interface, IPv6 and IPv4 on one dual-stack socket when
/// the host has IPv6, else IPv4 only.
fn bind_any(port: u16) -> io::Result<TcpListener> {
    let dual = || -> io::Result<TcpListener> {
        let s = Socket::new(Domain::IPV6, Type::STREAM, None)?;
        s.set_only_v6(false)?;
        s.set_reuse_address(true)?;
        s.bind(&SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port)).into())?;
        s.listen(1024)?;
        Ok(s.into())
    };
    match dual() {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => Err(e),
        Err(_) => TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, port)),
    }
}

#[cfg(test)]
mod tests;
