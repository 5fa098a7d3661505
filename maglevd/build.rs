//! Records the commit and build date for `maglevd --version` and the
//! `starting` log line.

use std::process::Command;

fn main() {
    let commit = std::env::var("MAGLEV_COMMIT").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| {
        Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".to_string())
    });
    // SOURCE_DATE_EPOCH keeps package builds reproducible.
    let mut date_cmd = Command::new("date");
    date_cmd.arg("-u");
    if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
        date_cmd.arg("-d").arg(format!("@{epoch}"));
    }
    let date = date_cmd
        .arg("+%Y-%m-%dT%H:%M:%SZ")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=MAGLEV_COMMIT={commit}");
    println!("cargo:rustc-env=MAGLEV_BUILD_DATE={date}");
    println!("cargo:rerun-if-env-changed=MAGLEV_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
}
