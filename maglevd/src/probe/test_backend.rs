//! Test fixture: a scripted backend on loopback. It accepts connections
//! (optionally over TLS with the certificates in `testdata/`), reads one
//! request, reports what it saw, sends a canned reply and, if asked, keeps
//! the connection open without finishing until the fixture is dropped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

/// What the backend does after reading the request.
#[derive(Clone)]
pub(crate) enum Reply {
    /// Send these bytes and close.
    Close(Vec<u8>),
    /// Send these bytes, then hold the connection open until dropped.
    Stall(Vec<u8>),
    /// Send these bytes as soon as the connection is accepted (before any
    /// TLS), then close. Nothing is reported.
    Greet(Vec<u8>),
}

/// One connection as the backend saw it.
#[derive(Debug)]
pub(crate) struct Seen {
    pub(crate) peer: SocketAddr,
    pub(crate) request: String,
    /// TLS only: the SNI the client sent.
    pub(crate) sni: Option<String>,
}

pub(crate) struct TestBackend {
    addr: SocketAddr,
    seen: Receiver<Seen>,
    stopping: Arc<AtomicBool>,
    /// Dropping it releases stalled connections.
    _release: Sender<()>,
    acceptor: Option<JoinHandle<()>>,
}

/// A TLS server configuration with the test certificate.
pub(crate) fn tls_config() -> Arc<ServerConfig> {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(include_bytes!("testdata/server.pem"))
            .collect::<Result<_, _>>()
            .expect("test cert");
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("testdata/server.key")).expect("test key");
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    Arc::new(config)
}

fn read_request(stream: &mut dyn Read) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn serve(
    mut tcp: TcpStream,
    peer: SocketAddr,
    tls: Option<Arc<ServerConfig>>,
    reply: Reply,
    seen: Sender<Seen>,
    release: Receiver<()>,
) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    if let Reply::Greet(bytes) = &reply {
        let _ = tcp.write_all(bytes);
        return;
    }
    let hold = |release: Receiver<()>| {
        // Bounded so that a test that forgets to drop the fixture cannot hang.
        let _ = release.recv_timeout(Duration::from_secs(30));
    };
    match tls {
        None => {
            let request = read_request(&mut tcp);
            let _ = seen.send(Seen { peer, request, sni: None });
            match reply {
                Reply::Close(bytes) => {
                    let _ = tcp.write_all(&bytes);
                }
                Reply::Stall(bytes) => {
                    let _ = tcp.write_all(&bytes);
                    hold(release);
                }
                Reply::Greet(_) => {}
            }
        }
        Some(config) => {
            let Ok(mut conn) = ServerConnection::new(config) else { return };
            while conn.is_handshaking() {
                if conn.complete_io(&mut tcp).is_err() {
                    return;
                }
            }
            let sni = conn.server_name().map(str::to_string);
            let mut stream = rustls::StreamOwned::new(conn, tcp);
            let request = read_request(&mut stream);
            let _ = seen.send(Seen { peer, request, sni });
            let (bytes, stall) = match reply {
                Reply::Close(b) | Reply::Greet(b) => (b, false),
                Reply::Stall(b) => (b, true),
            };
            let _ = stream.write_all(&bytes).and_then(|()| stream.flush());
            if stall {
                hold(release);
            } else {
                stream.conn.send_close_notify();
                let _ = stream.flush();
            }
        }
    }
}

impl TestBackend {
    /// A backend on `bind` ("127.0.0.1:0", "[::1]:0", "127.0.0.1:0" in a
    /// namespace...) answering every connection with `reply`.
    pub(crate) fn start(bind: &str, tls: Option<Arc<ServerConfig>>, reply: Reply) -> TestBackend {
        let listener = TcpListener::bind(bind).expect("bind test backend");
        Self::from_listener(listener, tls, reply)
    }

    pub(crate) fn from_listener(
        listener: TcpListener,
        tls: Option<Arc<ServerConfig>>,
        reply: Reply,
    ) -> TestBackend {
        let addr = listener.local_addr().expect("test backend address");
        let (seen_tx, seen) = crossbeam_channel::unbounded();
        let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(0);
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = stopping.clone();
        let acceptor = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                let Ok(tcp) = conn else { continue };
                let Ok(peer) = tcp.peer_addr() else { continue };
                let (tls, reply, seen, release) =
                    (tls.clone(), reply.clone(), seen_tx.clone(), release_rx.clone());
                std::thread::spawn(move || serve(tcp, peer, tls, reply, seen, release));
            }
        });
        TestBackend { addr, seen, stopping, _release: release_tx, acceptor: Some(acceptor) }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next connection's request (waits up to 5 s).
    pub(crate) fn next_seen(&self) -> Seen {
        self.seen.recv_timeout(Duration::from_secs(5)).expect("the backend saw no request within 5s")
    }
}

impl Drop for TestBackend {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        // Wake the blocking accept so that the acceptor notices.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}
