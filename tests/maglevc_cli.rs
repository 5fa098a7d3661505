//! maglevc's one-shot mode against a running maglevd: output and exit
//! status of each kind of command.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use testsupport::grpc::{client, wait_backend_state};
use testsupport::{bin, Maglevd, MaglevdOpts};

const CONFIG: &str = "\
maglev:
  backends:
    alpha:
      address: 127.0.0.1
    beta:
      address: 127.0.0.2
  frontends:
    web:
      description: the web
      address: 192.0.2.10
      protocol: tcp
      port: 80
      pools:
        - name: primary
          backends:
            alpha: {weight: 40}
        - name: fallback
          backends:
            beta: {}
";

fn maglevc(m: &Maglevd, args: &[&str]) -> Output {
    Command::new(bin("maglevc"))
        .arg("--server")
        .arg(&m.grpc_addr)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run maglevc")
}

fn ok(m: &Maglevd, args: &[&str]) -> String {
    let out = maglevc(m, args);
    assert!(
        out.status.success(),
        "maglevc {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!stdout.contains('\x1b'), "one-shot output is not coloured by default: {stdout:?}");
    stdout
}

fn fails(m: &Maglevd, args: &[&str]) -> (i32, String) {
    let out = maglevc(m, args);
    assert!(!out.status.success(), "maglevc {args:?} succeeded: {}", String::from_utf8_lossy(&out.stdout));
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn show_commands_print_tables_and_details() {
    let m = Maglevd::start(CONFIG, MaglevdOpts::default());
    let c = client(&m.grpc_addr);
    wait_backend_state(&c, "alpha", "up", Duration::from_secs(10));
    wait_backend_state(&c, "beta", "up", Duration::from_secs(10));

    let out = ok(&m, &["show", "backends"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("NAME") && lines[0].contains("STATE"), "{out}");
    assert!(
        lines[1].starts_with("alpha") && lines[1].contains("127.0.0.1") && lines[1].contains(" up "),
        "{out}"
    );
    assert!(lines[2].starts_with("beta"), "{out}");

    let out = ok(&m, &["sh", "fr"]);
    assert!(out.contains("192.0.2.10 ") && !out.contains("/32"), "VIP without /32: {out}");
    let out = ok(&m, &["show", "frontends", "web"]);
    assert!(out.starts_with("frontend web\n"), "{out}");
    assert!(
        out.contains("    primary (active)\n      alpha  up        weight  40  effective  40\n"),
        "{out}"
    );
    assert!(out.contains("    fallback\n      beta   up        weight 100  effective   0\n"), "{out}");

    let out = ok(&m, &["show", "backends", "alpha"]);
    assert!(out.contains("address") && out.contains("transitions"), "{out}");
    let out = ok(&m, &["show", "version"]);
    assert!(out.contains("maglevd") && out.contains("commit"), "{out}");
    let colored = maglevc(&m, &["--color=true", "show", "backends"]);
    assert!(
        String::from_utf8_lossy(&colored.stdout).contains('\x1b'),
        "--color=true colours one-shot output"
    );
}

#[test]
fn actions_and_their_errors() {
    let m = Maglevd::start(CONFIG, MaglevdOpts::default());
    let c = client(&m.grpc_addr);
    wait_backend_state(&c, "alpha", "up", Duration::from_secs(10));

    assert_eq!(ok(&m, &["set", "backend", "alpha", "disable"]), "backend alpha is disabled\n");
    let out = ok(&m, &["show", "frontends", "web"]);
    assert!(out.contains("alpha  disabled  weight  40  effective   0 [disabled]"), "{out}");
    let (code, err) = fails(&m, &["set", "backend", "alpha", "pause"]);
    assert_eq!(code, 1);
    assert!(
        err.starts_with("maglevc: ") && !err.contains("RpcFailure") && !err.contains("FAILED_PRECONDITION"),
        "{err}"
    );
    assert_eq!(ok(&m, &["set", "backend", "alpha", "enable"]).lines().count(), 1);

    let out = ok(&m, &["set", "frontend", "web", "pool", "primary", "backend", "alpha", "weight", "70"]);
    assert!(out.contains("weight  70"), "{out}");

    let (code, err) = fails(&m, &["show", "backends", "nope"]);
    assert_eq!((code, err.as_str()), (1, "maglevc: backend \"nope\" not found\n"));
    let (code, err) = fails(&m, &["s", "backends"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("ambiguous") && err.contains("show") && err.contains("sync") && err.contains("set"),
        "{err}"
    );
    let (code, err) =
        fails(&m, &["set", "frontend", "web", "pool", "primary", "backend", "alpha", "weight", "101"]);
    assert_eq!(code, 2);
    assert!(err.contains("0 to 100"), "{err}");
    let (_, err) = fails(&m, &["show", "vpp", "info"]);
    assert_eq!(err, "maglevc: VPP integration is disabled (maglevd runs with an empty --vpp-api-addr)\n");

    assert!(ok(&m, &["config", "check"]).ends_with(": ok\n"));
    assert!(ok(&m, &["config", "reload"]).starts_with("reloaded: "));
}

#[test]
fn watch_events_prints_json_lines_into_a_pipe() {
    let m = Maglevd::start(CONFIG, MaglevdOpts::default());
    let c = client(&m.grpc_addr);
    wait_backend_state(&c, "alpha", "up", Duration::from_secs(10));
    // stdout is a pipe and stdin is not a terminal: it stops after num.
    let out = ok(&m, &["watch", "events", "num", "3"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for l in &lines {
        assert!(l.starts_with("{\"type\":\"") && l.ends_with('}'), "{l}");
    }
    assert!(lines.iter().any(|l| l.contains("\"backend\":\"alpha\"")), "{out}");
}

#[test]
fn an_unreachable_server_is_a_plain_error() {
    let out = Command::new(bin("maglevc"))
        .args(["--server", "unix:/nonexistent/maglevd.sock", "show", "backends"])
        .output()
        .expect("run maglevc");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("maglevc: ") && err.contains("unix:/nonexistent/maglevd.sock"), "{err}");
}

/// `systemctl reload` runs `maglevc config reload`: a bad file fails it
/// with maglevd's own message (file, YAML path) and the running config
/// stays; a good one is applied, and SIGHUP still reloads too.
#[test]
fn config_reload_reports_maglevd_errors_and_sighup_still_reloads() {
    let m = Maglevd::start(CONFIG, MaglevdOpts::default());
    let broken = CONFIG.replace(
        "maglev:\n  backends:\n",
        "maglev:\n  backends:\n    gamma:\n      address: 127.0.0.3\n      healthcheck: nope\n",
    );
    std::fs::write(&m.config, &broken).expect("write config");
    let (code, err) = fails(&m, &["config", "reload"]);
    assert_eq!(code, 1);
    let file = m.config.display().to_string();
    assert!(err.contains(&file) && err.contains("maglev.backends.gamma.healthcheck"), "{err}");
    let backends = ok(&m, &["show", "backends"]);
    assert!(!backends.contains("gamma"), "the broken config was applied:\n{backends}");

    let grown = CONFIG
        .replace("maglev:\n  backends:\n", "maglev:\n  backends:\n    gamma:\n      address: 127.0.0.3\n");
    let cursor = m.reload_with(&grown);
    m.daemon.wait_for_from(cursor, &["config-reload", "added=1"], Duration::from_secs(10));
    assert!(ok(&m, &["show", "backends"]).contains("gamma"));
}
