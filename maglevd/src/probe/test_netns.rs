//! Test fixture: a throw-away network namespace (`ip netns add`) that is
//! deleted again when the fixture is dropped, also when a test fails.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A network namespace named `mgpr<pid>n<k>`, with `lo` up.
pub(crate) struct TestNetns {
    name: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("running ip(8) (package iproute2)");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
}

impl TestNetns {
    pub(crate) fn new() -> TestNetns {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!("mgpr{}n{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        ip(&["netns", "add", &name]);
        let ns = TestNetns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <ns> <args>`.
    pub(crate) fn ip(&self, args: &[&str]) {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        ip(&full);
    }

    /// Makes `silent` (an address of prefix `cidr`, e.g. 10.255.0.1/24) a
    /// host that never answers: `cidr` sits on one end of a veth pair whose
    /// other end has no address, and `silent` resolves to a MAC address
    /// nobody owns, so packets to it leave and are dropped on arrival.
    pub(crate) fn add_silent_host(&self, cidr: &str, silent: &str) {
        self.ip(&["link", "add", "mgprhole0", "type", "veth", "peer", "name", "mgprhole1"]);
        self.ip(&["addr", "add", cidr, "dev", "mgprhole0"]);
        self.ip(&["link", "set", "mgprhole0", "up"]);
        self.ip(&["link", "set", "mgprhole1", "up"]);
        self.ip(&[
            "neigh",
            "add",
            silent,
            "lladdr",
            "02:00:5e:00:00:99",
            "dev",
            "mgprhole0",
            "nud",
            "permanent",
        ]);
    }

    /// Writes a sysctl inside the namespace.
    pub(crate) fn sysctl(&self, key: &str, value: &str) {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, "sh", "-c", &format!("echo '{value}' > {path}")])
            .output()
            .expect("running ip netns exec");
        assert!(out.status.success(), "sysctl {key}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "delete", &self.name]).output();
    }
}
