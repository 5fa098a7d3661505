//! Who may use the gRPC API: the local socket is mode 0660 with the socket
//! group, checked with real unprivileged users; plaintext TCP is refused on
//! a non-loopback address unless overridden.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::time::Duration;

use testsupport::{bin, Daemon, Maglevd, MaglevdOpts, TempDir, TestGroup, TestUser};

const CONFIG: &str = "\
maglev:
  backends:
    alpha:
      address: 127.0.0.1
  frontends:
    web:
      address: 192.0.2.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends:
            alpha: {}
";

/// maglevc where every user can run it (the build directory may not be).
fn public_maglevc(dir: &TempDir) -> PathBuf {
    let path = dir.join("maglevc");
    std::fs::copy(bin("maglevc"), &path).expect("copy maglevc");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod maglevc");
    path
}

#[test]
fn the_socket_admits_the_group_and_refuses_everyone_else() {
    let group = TestGroup::new("mgops");
    let member = TestUser::new("mgin", &[&group]);
    let outsider = TestUser::new("mgout", &[]);
    let bin_dir = TempDir::new("access-bin");
    std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let maglevc = public_maglevc(&bin_dir);

    let m = Maglevd::start(
        CONFIG,
        MaglevdOpts {
            extra_args: vec!["--grpc-socket-group".into(), group.name.clone()],
            ..Default::default()
        },
    );
    std::fs::set_permissions(m.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let socket = PathBuf::from(m.grpc_addr.strip_prefix("unix:").expect("unix address"));
    let meta = std::fs::metadata(&socket).expect("stat the socket");
    assert_eq!(meta.mode() & 0o777, 0o660, "socket mode {:o}", meta.mode());
    let gid = nix::unistd::Group::from_name(&group.name).expect("getgrnam").expect("group exists").gid;
    assert_eq!(meta.gid(), gid.as_raw(), "the socket belongs to group {}", group.name);

    let args = ["--server", m.grpc_addr.as_str(), "show", "backends"];
    let out = outsider.output(&maglevc, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an outsider was let in: {}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains("permission denied"), "outsider's error: {stderr}");
    assert!(stderr.contains("group maglevd"), "the error says which group admits: {stderr}");

    let out = member.output(&maglevc, &args);
    assert!(
        out.status.success(),
        "a member of {} was refused: {}",
        group.name,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("alpha"));
}

#[test]
fn a_socket_group_that_does_not_exist_fails_the_start() {
    let dir = TempDir::new("access-nogroup");
    let config = dir.write("maglev.yaml", CONFIG);
    let addr = format!("unix:{}", dir.join("run/maglevd.sock").display());
    let mut d = Daemon::start(
        &bin("maglevd"),
        [
            "--config",
            config.to_str().unwrap(),
            "--grpc-addr",
            &addr,
            "--grpc-socket-group",
            "no-such-group-mg",
            "--metrics-addr=",
            "--vpp-api-addr=",
        ],
    );
    assert_eq!(d.wait_exit(Duration::from_secs(10)), Some(1), "log:\n{}", d.tail(20));
    let log = d.tail(5);
    assert!(log.contains("no-such-group-mg") && log.contains("does not exist"), "{log}");
}

fn start_tcp(dir: &TempDir, addr: &str, extra: &[&str]) -> Daemon {
    let config = dir.write("maglev.yaml", CONFIG);
    let mut args =
        vec!["--config", config.to_str().unwrap(), "--grpc-addr", addr, "--metrics-addr=", "--vpp-api-addr="];
    args.extend_from_slice(extra);
    let args: Vec<String> = args.into_iter().map(String::from).collect();
    Daemon::start(&bin("maglevd"), args)
}

#[test]
fn plaintext_tcp_off_loopback_is_refused_unless_overridden() {
    let dir = TempDir::new("access-tcp");
    for addr in [":0", "0.0.0.0:0"] {
        let mut d = start_tcp(&dir, addr, &[]);
        assert_eq!(d.wait_exit(Duration::from_secs(10)), Some(1), "{addr}: log:\n{}", d.tail(20));
        let log = d.tail(5);
        assert!(log.contains("refusing to serve the gRPC API in plaintext"), "{addr}: {log}");
        assert!(log.contains("--grpc-insecure-remote"), "{addr}: the message names the override: {log}");
    }
    let d = start_tcp(&dir, ":0", &["--grpc-insecure-remote"]);
    d.wait_for(&["ready"], Duration::from_secs(20));
    let d = start_tcp(&dir, "127.0.0.1:0", &[]);
    d.wait_for(&["ready"], Duration::from_secs(20));
}
