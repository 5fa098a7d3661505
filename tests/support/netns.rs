//! Network namespaces (as `ip netns` creates them) standing in for other
//! hosts. Everything created here is removed on drop.

use std::process::Command;

/// Runs `ip` with `args`, panicking with its stderr on failure.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip (package iproute2)");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
}

/// A named network namespace with its loopback up.
pub struct NetNs {
    pub name: String,
}

impl NetNs {
    pub fn new(name: &str) -> NetNs {
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        ip(&["netns", "add", name]);
        ip(&["-n", name, "link", "set", "lo", "up"]);
        NetNs { name: name.to_string() }
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, args: &[&str]) {
        let mut full = vec!["netns", "exec", &self.name];
        full.extend_from_slice(args);
        ip(&full);
    }

    /// A `Command` that starts `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    pub fn add_addr(&self, cidr: &str, dev: &str) {
        ip(&["-n", &self.name, "addr", "add", cidr, "dev", dev]);
    }

    pub fn del_addr(&self, cidr: &str, dev: &str) {
        ip(&["-n", &self.name, "addr", "del", cidr, "dev", dev]);
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

/// A veth pair joining two namespaces, with one address on each end and a
/// permanent neighbour entry on `a` for `b`'s address, so that when `b`
/// loses its address packets are silently dropped (a timeout, not an ARP
/// failure).
pub struct VethPair {
    pub a_dev: String,
    pub b_dev: String,
}

impl VethPair {
    pub fn new(a: &NetNs, a_cidr: &str, b: &NetNs, b_cidr: &str) -> VethPair {
        let a_dev = crate::unique_name("mgva");
        let b_dev = crate::unique_name("mgvb");
        ip(&[
            "link", "add", &a_dev, "netns", &a.name, "type", "veth", "peer", "name", &b_dev, "netns", &b.name,
        ]);
        a.add_addr(a_cidr, &a_dev);
        b.add_addr(b_cidr, &b_dev);
        ip(&["-n", &a.name, "link", "set", &a_dev, "up"]);
        ip(&["-n", &b.name, "link", "set", &b_dev, "up"]);
        let mac = link_mac(&b.name, &b_dev);
        let b_addr = b_cidr.split('/').next().unwrap_or(b_cidr);
        ip(&["-n", &a.name, "neigh", "replace", b_addr, "lladdr", &mac, "dev", &a_dev, "nud", "permanent"]);
        VethPair { a_dev, b_dev }
    }
}

fn link_mac(ns: &str, dev: &str) -> String {
    let out = Command::new("ip").args(["-n", ns, "-o", "link", "show", dev]).output().expect("ip link show");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    while let Some(w) = words.next() {
        if w == "link/ether" {
            return words.next().unwrap_or_default().to_string();
        }
    }
    panic!("no MAC address for {dev} in {ns}: {text}");
}
