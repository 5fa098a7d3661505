//! TLS on TCP listeners, with client certificates (mTLS): grpcio's own
//! TLS, built on the system's OpenSSL.
//!
//! The files are read and checked here, at start, so that a wrong path, a
//! key that is not PEM or a CA file without a certificate stops maglevd
//! with the file's name instead of every handshake failing later.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use grpcio::{CertificateRequestType, ServerCredentials, ServerCredentialsBuilder};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The TLS settings of a TCP listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcTls {
    /// The server's certificate chain (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// CAs that sign client certificates (PEM); `None`: no client
    /// certificates are asked for.
    pub client_ca: Option<PathBuf>,
    /// Refuse clients without a certificate signed by `client_ca`. With
    /// `false`, a certificate is verified only when a client shows one.
    pub require_client_cert: bool,
}

impl GrpcTls {
    /// Whether only clients holding a certificate of the client CA get in.
    pub fn authenticates_clients(&self) -> bool {
        self.client_ca.is_some() && self.require_client_cert
    }
}

#[derive(Debug)]
pub enum TlsError {
    Read { what: &'static str, path: PathBuf, source: io::Error },
    Bad { what: &'static str, path: PathBuf, detail: String },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read { what, path, source } => {
                write!(f, "cannot read the gRPC TLS {what} {}: {source}", path.display())
            }
            TlsError::Bad { what, path, detail } => {
                write!(f, "the gRPC TLS {what} {} is not usable: {detail}", path.display())
            }
        }
    }
}

impl std::error::Error for TlsError {}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read { what, path: path.into(), source })?;
    // grpcio hands the PEM text to C as a NUL-terminated string.
    if bytes.contains(&0) {
        return Err(TlsError::Bad {
            what,
            path: path.into(),
            detail: "it holds a NUL byte; expected PEM text".into(),
        });
    }
    Ok(bytes)
}

fn certificates(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let pem = read(what, path)?;
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        cert.map_err(|e| TlsError::Bad { what, path: path.into(), detail: e.to_string() })?;
        count += 1;
    }
    if count == 0 {
        return Err(TlsError::Bad { what, path: path.into(), detail: "no PEM certificate in it".into() });
    }
    Ok(pem)
}

fn private_key(path: &Path) -> Result<Vec<u8>, TlsError> {
    let what = "key";
    let pem = read(what, path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::Bad {
        what,
        path: path.into(),
        detail: format!("no PEM private key in it ({e})"),
    })?;
    Ok(pem)
}

/// Reads and checks the files and builds the listener's credentials.
pub fn server_credentials(tls: &GrpcTls) -> Result<ServerCredentials, TlsError> {
    let cert = certificates("certificate", &tls.cert)?;
    let key = private_key(&tls.key)?;
    let mut builder = ServerCredentialsBuilder::new().add_cert(cert, key);
    if let Some(ca) = &tls.client_ca {
        let request = if tls.require_client_cert {
            CertificateRequestType::RequestAndRequireClientCertificateAndVerify
        } else {
            CertificateRequestType::RequestClientCertificateAndVerify
        };
        builder = builder.root_cert(certificates("client CA", ca)?, request);
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("src/probe/testdata").join(name)
    }

    #[test]
    fn missing_and_wrong_files_name_themselves() {
        let tls = GrpcTls {
            cert: testdata("server.pem"),
            key: "/nonexistent/key.pem".into(),
            client_ca: None,
            require_client_cert: false,
        };
        let err = server_credentials(&tls).err().expect("a missing key fails");
        assert!(err.to_string().contains("key /nonexistent/key.pem"), "{err}");

        // A certificate where the key belongs.
        let tls = GrpcTls { key: testdata("server.pem"), ..tls };
        let err = server_credentials(&tls).err().expect("a certificate is not a key");
        assert!(err.to_string().contains("no PEM private key"), "{err}");

        let tls = GrpcTls { cert: testdata("server.key"), key: testdata("server.key"), ..tls };
        let err = server_credentials(&tls).err().expect("a key is not a certificate");
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn good_files_build_credentials() {
        let tls = GrpcTls {
            cert: testdata("server.pem"),
            key: testdata("server.key"),
            client_ca: Some(testdata("ca.pem")),
            require_client_cert: true,
        };
        assert!(tls.authenticates_clients());
        assert!(server_credentials(&tls).is_ok());
        assert!(!GrpcTls { require_client_cert: false, ..tls }.authenticates_clients());
    }
}
