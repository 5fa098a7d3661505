//! Cheap checks of what the Debian package ships, run with every test:
//! the man pages render without warnings and the maintainer scripts parse.
//! (`make pkg-check` does the full lintian/install/purge cycle as root.)

use std::path::Path;
use std::process::Command;

fn top() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn man_pages_render_without_warnings() {
    for page in ["man/maglevd.8", "man/maglevc.1"] {
        let out = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(top().join(page))
            .output()
            .expect("run groff (Debian package groff-base; `make test-deps` installs it)");
        let warnings =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && warnings.trim().is_empty(), "{page}:\n{warnings}");
    }
}

#[test]
fn maintainer_scripts_parse() {
    let scripts = [
        "debian/postinst",
        "debian/prerm",
        "debian/postrm",
        "debian/build-deb.sh",
        "debian/check-package.sh",
        "tests/demo/demo.sh",
    ];
    for script in scripts {
        let path = top().join(script);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{script}: {e}"));
        // Parse with the interpreter the script asks for: dash is stricter than bash.
        let shell = if text.lines().next().unwrap_or_default().contains("bash") { "bash" } else { "sh" };
        let out = Command::new(shell).arg("-n").arg(&path).output().expect("run the shell");
        assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

const UNIT: &str = "debian/vpp-maglevd.service";

/// `systemd-analyze security`'s overall exposure (0 = locked down, 10 =
/// unprotected) for the shipped unit, judged from the file alone.
#[test]
fn unit_exposure_is_at_most_2() {
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(top().join(UNIT))
        .output()
        .expect("run systemd-analyze (Debian package systemd; `make test-deps` installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no overall exposure in:\n{text}{}", String::from_utf8_lossy(&out.stderr)));
    let level: f64 = line
        .split(':')
        .nth(1)
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the level from {line:?}"));
    assert!(level <= 2.0, "exposure {level} > 2.0:\n{text}");
}

/// `systemd-analyze verify` finds nothing wrong with the unit except that
/// the binaries are not installed on the build host.
#[test]
fn unit_verifies_apart_from_absent_binaries() {
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(top().join(UNIT))
        .output()
        .expect("run systemd-analyze (Debian package systemd; `make test-deps` installs it)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let binaries = ["/usr/sbin/maglevd", "/usr/bin/maglevc"];
    let complaints: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            let absent_binary = l.contains("is not executable: No such file or directory")
                && binaries.iter().any(|b| l.contains(b) && !Path::new(b).exists());
            !absent_binary
        })
        .collect();
    assert!(complaints.is_empty(), "systemd-analyze verify:\n{}", complaints.join("\n"));
}
