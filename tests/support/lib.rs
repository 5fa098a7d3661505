//! Helpers shared by the integration tests in `tests/`: temporary
//! directories, real nginx backends, network namespaces, the VPP under test
//! (real or vppsim), and daemons run as child processes with their log lines
//! captured.
#![forbid(unsafe_code)]

pub mod chromium;
pub mod grpc;
pub mod haproxy;
pub mod maglevd;
pub mod metrics;
pub mod netns;
pub mod nginx;
pub mod pg;
pub mod pki;
pub mod process;
pub mod python;
pub mod scripted;
pub mod tempdir;
pub mod users;
pub mod vpp;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

pub use maglevd::{Maglevd, MaglevdOpts};
pub use netns::{NetNs, VethPair};
pub use nginx::Nginx;
pub use process::{Daemon, LogLine};
pub use tempdir::TempDir;
pub use users::{TestGroup, TestUser};
pub use vpp::{Vpp, VppKind};

/// Path of a binary built from this workspace (`maglevd`, `maglevc`,
/// `vppsim`). `make test` builds them before running the tests.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe.parent().and_then(|d| d.parent()).expect("target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace` or `make test`)",
        path.display()
    );
    path
}

/// A loopback /24 of our own for one test: 127.<a>.<b>.0, distinct per
/// call within a process and unlikely to collide across processes.
pub fn loopback_net() -> [u8; 3] {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    [127, (100 + pid % 150) as u8, (n % 250 + 1) as u8]
}

/// Host `host` of a loopback /24 from [`loopback_net`], as text.
pub fn net_host(net: [u8; 3], host: u8) -> String {
    format!("{}.{}.{}.{host}", net[0], net[1], net[2])
}

/// A unique short name for namespaces and interfaces (<= 15 bytes).
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}{n}", std::process::id() % 10_000)
}
