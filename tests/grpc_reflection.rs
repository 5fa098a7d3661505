//! Server reflection and the health service with a client that is not
//! ours: Python's grpcio and grpcio-reflection (from PyPI, in a venv the
//! test support creates and caches in the target directory) discover maglevd's
//! services and call them without any .proto file.

use std::path::PathBuf;
use std::process::Command;

use testsupport::{Maglevd, MaglevdOpts};

const CONFIG: &str = "\
maglev:
  backends:
    static-a:
      address: 127.0.0.1
    static-b:
      address: ::1
";

fn run_client(m: &Maglevd) -> (bool, String, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reflection/reflection_client.py");
    let out = Command::new(testsupport::python::venv("grpc-reflection", &["grpcio", "grpcio-reflection"]))
        .arg(script)
        .arg(&m.grpc_addr)
        .output()
        .expect("run the reflection client");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn value<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {key:?} line in:\n{stdout}"))
}

#[test]
fn a_foreign_client_lists_services_and_calls_them_through_reflection() {
    let m = Maglevd::start(CONFIG, MaglevdOpts::default());
    let (ok, stdout, stderr) = run_client(&m);
    assert!(ok, "reflection client failed:\n{stderr}\n{stdout}");
    assert_eq!(
        value(&stdout, "services"),
        "grpc.health.v1.Health,grpc.reflection.v1.ServerReflection,grpc.reflection.v1alpha.ServerReflection,maglev.Maglev"
    );
    assert_eq!(value(&stdout, "backends"), "static-a,static-b");
    assert!(value(&stdout, "backend-states").contains("static-a="), "{stdout}");
    // VPP is disabled: serving once started.
    assert_eq!(value(&stdout, "health"), "SERVING");
    assert_eq!(value(&stdout, "v1-services"), value(&stdout, "services"));
    assert_eq!(value(&stdout, "v1-unknown-symbol"), "5", "NOT_FOUND for an unknown symbol");
}

#[test]
fn reflection_can_be_turned_off() {
    let opts = MaglevdOpts { extra_args: vec!["--reflection=false".into()], ..Default::default() };
    let m = Maglevd::start(CONFIG, opts);
    let (ok, stdout, stderr) = run_client(&m);
    assert!(!ok, "reflection answered although it is off:\n{stdout}");
    assert!(stderr.contains("UNIMPLEMENTED") || stderr.contains("Unimplemented"), "{stderr}");
}
