//! TLS for https probes: client configurations (cached), the server name
//! (SNI and verification identity) and the handshake.
//!
//! A `ClientConfig` is built once per (verify, CA file) and shared by every
//! probe using it: parsing the system bundle takes milliseconds and a probe
//! must not re-read it every time. The cache notices a changed CA file by
//! its modification time and size (one `stat` per probe), so replacing the
//! file takes effect without a restart; `clear_cache` forgets everything.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use parking_lot::Mutex;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::socket::io_detail;
use crate::config::{HttpCheck, TlsCheck};

/// The bundle Debian's ca-certificates maintains: the system roots.
pub(crate) const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Why no client configuration could be built: a local problem (SOCKERR).
#[derive(Debug)]
pub(crate) enum TlsSetupError {
    ReadCa { path: PathBuf, source: io::Error },
    ParseCa { path: PathBuf, detail: String },
    NoCertificates { path: PathBuf },
    Rustls(rustls::Error),
    ServerName(String),
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsSetupError::ReadCa { path, source } => {
                write!(f, "reading CA file {}: {}", path.display(), io_detail(source))
            }
            TlsSetupError::ParseCa { path, detail } => {
                write!(f, "parsing CA file {}: {detail}", path.display())
            }
            TlsSetupError::NoCertificates { path } => {
                write!(f, "CA file {} holds no usable certificate", path.display())
            }
            TlsSetupError::Rustls(e) => write!(f, "TLS setup: {e}"),
            TlsSetupError::ServerName(name) => {
                write!(f, "tls server-name {name:?} is not a valid DNS name or IP address")
            }
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())).clone()
}

/// `verify: false`: any certificate is accepted, but the handshake
/// signatures are still checked, so the peer must hold the key of the
/// certificate it presented.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn load_roots(path: &Path) -> Result<RootCertStore, TlsSetupError> {
    let pem = std::fs::read(path).map_err(|source| TlsSetupError::ReadCa { path: path.into(), source })?;
    let mut roots = RootCertStore::empty();
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        certs.push(cert.map_err(|e| TlsSetupError::ParseCa { path: path.into(), detail: e.to_string() })?);
    }
    // Like every TLS client with a system bundle: skip the odd certificate
    // webpki cannot use rather than refusing the whole file.
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(TlsSetupError::NoCertificates { path: path.into() });
    }
    Ok(roots)
}

/// Reads and parses a CA file exactly as a probe would, so that the config
/// check (`maglevd --check`, reloads) refuses a file the probes could not
/// use instead of every probe failing later.
pub(crate) fn check_ca_file(path: &Path) -> Result<(), TlsSetupError> {
    load_roots(path).map(|_| ())
}

fn build(verify: bool, ca_path: &Path) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsSetupError::Rustls)?;
    let mut config = if verify {
        builder.with_root_certificates(load_roots(ca_path)?).with_no_client_auth()
    } else {
        let verifier = AcceptAnyCertificate { algorithms: provider.signature_verification_algorithms };
        builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth()
    };
    // Every probe does a full handshake, so that it tests what a new
    // client would see (certificate, key) rather than a resumed session.
    config.resumption = Resumption::disabled();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// What identifies the CA file's content without reading it.
type FileStamp = (Option<SystemTime>, u64);

fn stamp(path: &Path) -> Result<FileStamp, TlsSetupError> {
    let meta =
        std::fs::metadata(path).map_err(|source| TlsSetupError::ReadCa { path: path.into(), source })?;
    Ok((meta.modified().ok(), meta.len()))
}

type CacheKey = (bool, PathBuf);
type Cache = Mutex<HashMap<CacheKey, (FileStamp, Arc<ClientConfig>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The client configuration for `tls`, from the cache when the CA file is
/// unchanged. Failures are not cached: the next probe tries again.
pub(crate) fn client_config(tls: &TlsCheck) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let ca_path = match (&tls.ca_file, tls.verify) {
        (_, false) => PathBuf::new(),
        (Some(path), true) => path.clone(),
        (None, true) => PathBuf::from(SYSTEM_ROOTS),
    };
    let current = if tls.verify { stamp(&ca_path)? } else { (None, 0) };
    let key = (tls.verify, ca_path);
    let mut cache = cache().lock();
    if let Some((cached_stamp, config)) = cache.get(&key) {
        if *cached_stamp == current {
            return Ok(config.clone());
        }
    }
    let config = build(tls.verify, &key.1)?;
    cache.insert(key, (current, config.clone()));
    Ok(config)
}

/// Forgets every cached configuration (e.g. on reload); the next probe of
/// each kind rebuilds its own.
pub fn clear_cache() {
    cache().lock().clear();
}

/// The name the handshake uses for SNI and verification: `tls.server_name`,
/// else `http.host` (without a port) when it is a DNS name, else the
/// backend's IP address (no SNI is sent; the certificate must name the IP).
pub(crate) fn server_name(
    tls: &TlsCheck,
    http: &HttpCheck,
    address: IpAddr,
) -> Result<ServerName<'static>, TlsSetupError> {
    if let Some(name) = &tls.server_name {
        return ServerName::try_from(name.clone()).map_err(|_| TlsSetupError::ServerName(name.clone()));
    }
    if let Some(host) = &http.host {
        let bare = strip_port(host);
        if let Ok(name @ ServerName::DnsName(_)) = ServerName::try_from(bare.to_string()) {
            return Ok(name);
        }
    }
    Ok(ServerName::IpAddress(address.into()))
}

/// "example.com:8080" -> "example.com"; "[2001:db8::1]:443" -> "2001:db8::1".
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// A client connection for one probe.
pub(crate) fn connection(
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
) -> Result<ClientConnection, TlsSetupError> {
    ClientConnection::new(config, name).map_err(TlsSetupError::Rustls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HttpMethod, StatusMatcher};

    fn http(host: Option<&str>) -> HttpCheck {
        HttpCheck {
            method: HttpMethod::Get,
            path: "/".into(),
            host: host.map(str::to_string),
            headers: vec![],
            expect_status: StatusMatcher { ranges: vec![(200, 399)] },
            expect_body: None,
        }
    }

    fn tls(server_name: Option<&str>) -> TlsCheck {
        TlsCheck { server_name: server_name.map(str::to_string), verify: false, ca_file: None }
    }

    #[test]
    fn server_name_choice() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let dns = |s: &str| ServerName::try_from(s.to_string()).unwrap();
        assert_eq!(
            server_name(&tls(Some("sni.test")), &http(Some("host.test")), ip).unwrap(),
            dns("sni.test")
        );
        assert_eq!(server_name(&tls(None), &http(Some("host.test")), ip).unwrap(), dns("host.test"));
        assert_eq!(server_name(&tls(None), &http(Some("host.test:8443")), ip).unwrap(), dns("host.test"));
        assert_eq!(
            server_name(&tls(None), &http(Some("10.0.0.1")), ip).unwrap(),
            ServerName::IpAddress(ip.into())
        );
        assert_eq!(
            server_name(&tls(None), &http(Some("[2001:db8::1]:443")), ip).unwrap(),
            ServerName::IpAddress(ip.into())
        );
        assert_eq!(server_name(&tls(None), &http(None), ip).unwrap(), ServerName::IpAddress(ip.into()));
        assert!(server_name(&tls(Some("bad name!")), &http(None), ip).is_err());
    }

    #[test]
    fn configs_are_cached_and_follow_the_ca_file() {
        let dir = std::env::temp_dir().join(format!("maglevd-tls-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, include_str!("testdata/ca.pem")).unwrap();
        let check = TlsCheck { server_name: None, verify: true, ca_file: Some(ca.clone()) };
        let a = client_config(&check).expect("config from the test CA");
        let b = client_config(&check).expect("cached config");
        assert!(Arc::ptr_eq(&a, &b), "second call did not use the cache");

        // A changed file (different size) is noticed without a reload.
        std::fs::write(&ca, format!("{}\n", include_str!("testdata/ca.pem"))).unwrap();
        let c = client_config(&check).expect("rebuilt config");
        assert!(!Arc::ptr_eq(&a, &c), "changed CA file was not reloaded");

        std::fs::write(&ca, "not a certificate").unwrap();
        let err = client_config(&check).expect_err("garbage CA file");
        assert!(err.to_string().contains("holds no usable certificate"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
        let err = client_config(&check).expect_err("missing CA file");
        assert!(err.to_string().ends_with("No such file or directory"), "{err}");
    }
}
