//! mTLS on a TCP listener: certificates made with openssl for the test,
//! Python's grpcio and maglevc as clients. A client without a certificate
//! of the client CA is refused; one with it lists the backends; a
//! plaintext client gets a clear error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use testsupport::pki::{Ca, Issued};
use testsupport::{bin, Maglevd, MaglevdOpts, TempDir};

const CONFIG: &str = "\
maglev:
  backends:
    alpha:
      address: 127.0.0.1
";

struct Pki {
    _dir: TempDir,
    ca: Ca,
    server: Issued,
    client: Issued,
    stranger: Issued,
}

fn pki() -> Pki {
    let dir = TempDir::new("tls");
    let ca = Ca::new(dir.path(), "ops-ca");
    let server = ca.server("maglevd");
    let client = ca.client("operator");
    // Signed by another CA: a valid certificate maglevd must not trust.
    let stranger = Ca::new(dir.path(), "other-ca").client("stranger");
    Pki { _dir: dir, ca, server, client, stranger }
}

/// maglevd on every address (":0"): allowed only because clients must
/// show a certificate of the client CA.
fn start(p: &Pki) -> Maglevd {
    let s = |p: &Path| p.display().to_string();
    Maglevd::start(
        CONFIG,
        MaglevdOpts {
            grpc_addr: Some(":0".into()),
            extra_args: vec![
                "--grpc-tls-cert".into(),
                s(&p.server.cert),
                "--grpc-tls-key".into(),
                s(&p.server.key),
                "--grpc-tls-client-ca".into(),
                s(&p.ca.cert),
            ],
            ..Default::default()
        },
    )
}

fn python() -> PathBuf {
    testsupport::python::venv("grpc-reflection", &["grpcio", "grpcio-reflection"])
}

/// The Python client's one-line outcome.
fn py(addr: &str, ca: Option<&Path>, cert: Option<&Issued>) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls/list_backends.py");
    let arg = |p: Option<&Path>| p.map_or("-".to_string(), |p| p.display().to_string());
    let out = Command::new(python())
        .arg(script)
        .arg(addr)
        .arg(arg(ca))
        .arg(arg(cert.map(|c| c.cert.as_path())))
        .arg(arg(cert.map(|c| c.key.as_path())))
        .output()
        .expect("run the Python client");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
        .trim()
        .to_string()
}

fn maglevc(addr: &str, tls: &[&Path]) -> Output {
    let names = ["--tls-ca", "--tls-cert", "--tls-key"];
    let mut cmd = Command::new(bin("maglevc"));
    cmd.args(["--server", addr]);
    for (name, path) in names.iter().zip(tls) {
        cmd.arg(name).arg(path);
    }
    cmd.args(["show", "backends"]).stdin(Stdio::null()).output().expect("run maglevc")
}

#[test]
fn python_grpcio_needs_a_client_certificate_of_the_client_ca() {
    let p = pki();
    let m = start(&p);
    let ok = py(&m.grpc_addr, Some(&p.ca.cert), Some(&p.client));
    assert_eq!(ok, "ok alpha", "with the operator's certificate");
    let no_cert = py(&m.grpc_addr, Some(&p.ca.cert), None);
    assert!(no_cert.starts_with("error UNAVAILABLE"), "without a client certificate: {no_cert}");
    let stranger = py(&m.grpc_addr, Some(&p.ca.cert), Some(&p.stranger));
    assert!(stranger.starts_with("error UNAVAILABLE"), "with another CA's certificate: {stranger}");
    let plaintext = py(&m.grpc_addr, None, None);
    assert!(plaintext.starts_with("error UNAVAILABLE"), "in plaintext: {plaintext}");
}

#[test]
fn maglevc_over_mtls_and_the_errors_of_the_wrong_clients() {
    let p = pki();
    let m = start(&p);
    let out = maglevc(&m.grpc_addr, &[&p.ca.cert, &p.client.cert, &p.client.key]);
    assert!(out.status.success(), "maglevc over mTLS: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("alpha"));

    // The same through the environment.
    let out = Command::new(bin("maglevc"))
        .args(["show", "backends"])
        .env("MAGLEV_SERVER", &m.grpc_addr)
        .env("MAGLEV_TLS_CA", &p.ca.cert)
        .env("MAGLEV_TLS_CERT", &p.client.cert)
        .env("MAGLEV_TLS_KEY", &p.client.key)
        .output()
        .expect("run maglevc");
    assert!(out.status.success(), "maglevc with MAGLEV_TLS_*: {}", String::from_utf8_lossy(&out.stderr));

    let out = maglevc(&m.grpc_addr, &[&p.ca.cert]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "no client certificate, yet: {}", String::from_utf8_lossy(&out.stdout));
    assert!(err.contains("cannot connect to maglevd at"), "{err}");
    assert!(err.contains("if maglevd requires a client certificate, give --tls-cert"), "{err}");

    let out = maglevc(&m.grpc_addr, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "plaintext, yet: {}", String::from_utf8_lossy(&out.stdout));
    assert!(err.contains("if maglevd serves TLS there, connect with --tls-ca"), "plaintext: {err}");
}

#[test]
fn tls_files_that_cannot_be_used_stop_the_start() {
    let p = pki();
    let dir = TempDir::new("tls-bad");
    let config = dir.write("maglev.yaml", CONFIG);
    let mut d = testsupport::Daemon::start(
        &bin("maglevd"),
        [
            "--config",
            config.to_str().unwrap(),
            "--grpc-addr",
            "127.0.0.1:0",
            "--grpc-tls-cert",
            p.server.cert.to_str().unwrap(),
            "--grpc-tls-key",
            p.server.cert.to_str().unwrap(),
            "--metrics-addr=",
            "--vpp-api-addr=",
        ],
    );
    assert_eq!(d.wait_exit(std::time::Duration::from_secs(10)), Some(1), "{}", d.tail(10));
    let log = d.tail(5);
    assert!(log.contains("no PEM private key") && log.contains("maglevd.pem"), "{log}");
}
