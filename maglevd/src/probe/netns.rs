//! Creating sockets inside a named network namespace.
//!
//! A socket belongs to the namespace its creator was in at `socket()` time
//! and stays there; only creation needs the switch. `setns` changes the
//! calling thread alone, so a pool worker enters the namespace, creates the
//! socket and switches back before it touches anything else. The switch
//! back happens in a guard's `Drop`, so even a panic in between cannot leave
//! a worker stranded in a foreign namespace.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::PathBuf;

use nix::sched::{setns, CloneFlags};

/// Where `ip netns add` puts its namespace handles.
const NETNS_RUN_DIR: &str = "/run/netns";
/// The calling thread's own network namespace.
const THREAD_NETNS: &str = "/proc/thread-self/ns/net";

/// Why a namespace could not be entered.
#[derive(Debug)]
pub(crate) enum NetnsError {
    /// The name cannot be a handle under /run/netns ("", "..", "a/b").
    InvalidName(String),
    /// /run/netns/<name> could not be opened (usually: it does not exist).
    Open { name: String, source: io::Error },
    /// The thread's current namespace could not be opened.
    Current(io::Error),
    /// `setns` into the namespace failed (not a namespace, no CAP_SYS_ADMIN).
    Enter { name: String, source: io::Error },
}

impl fmt::Display for NetnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetnsError::InvalidName(name) => write!(f, "network namespace {name:?}: invalid name"),
            NetnsError::Open { name, source } => {
                write!(f, "network namespace {name:?}: {}", crate::probe::socket::io_detail(source))
            }
            NetnsError::Current(source) => {
                write!(f, "opening {THREAD_NETNS}: {}", crate::probe::socket::io_detail(source))
            }
            NetnsError::Enter { name, source } => {
                write!(f, "entering network namespace {name:?}: {}", crate::probe::socket::io_detail(source))
            }
        }
    }
}

/// Switches the thread back to the namespace it came from when dropped.
struct Restore {
    home: File,
    name: String,
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Err(e) = setns(&self.home, CloneFlags::CLONE_NEWNET) {
            // Practically impossible (we hold a handle on the original
            // namespace), but if it happens the thread is in the wrong
            // namespace and every later probe on it would be wrong too.
            log::error!(
                "netns-restore-failed namespace={:?} error=\"{}\"; probes on this thread may run in the wrong namespace",
                self.name,
                e.desc()
            );
        }
    }
}

fn handle_path(name: &str) -> Result<PathBuf, NetnsError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(NetnsError::InvalidName(name.to_string()));
    }
    Ok(PathBuf::from(NETNS_RUN_DIR).join(name))
}

/// Runs `create` inside network namespace `name` (or right here when
/// `None`) and returns to the thread's own namespace afterwards.
pub(crate) fn within<T>(name: Option<&str>, create: impl FnOnce() -> T) -> Result<T, NetnsError> {
    let Some(name) = name else {
        return Ok(create());
    };
    let target = File::open(handle_path(name)?)
        .map_err(|source| NetnsError::Open { name: name.to_string(), source })?;
    let home = File::open(THREAD_NETNS).map_err(NetnsError::Current)?;
    setns(&target, CloneFlags::CLONE_NEWNET)
        .map_err(|e| NetnsError::Enter { name: name.to_string(), source: io::Error::from(e) })?;
    let _restore = Restore { home, name: name.to_string() };
    Ok(create())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::test_netns::TestNetns;

    fn current_netns_inode() -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(THREAD_NETNS).expect("stat own netns").ino()
    }

    #[test]
    fn missing_namespace_is_a_clear_error() {
        let err = within(Some("mgpr-does-not-exist"), || ()).expect_err("namespace must be missing");
        assert_eq!(err.to_string(), "network namespace \"mgpr-does-not-exist\": No such file or directory",);
    }

    #[test]
    fn path_like_names_are_refused() {
        for name in ["", "..", "a/b", "../../proc/1/ns/net"] {
            let err = within(Some(name), || ()).expect_err("name must be refused");
            assert!(matches!(err, NetnsError::InvalidName(_)), "{name:?}: {err}");
        }
    }

    #[test]
    fn enters_and_returns() {
        let ns = TestNetns::new();
        let before = current_netns_inode();
        let inside = within(Some(ns.name()), current_netns_inode).expect("enter test namespace");
        assert_ne!(inside, before, "closure did not run in the other namespace");
        assert_eq!(current_netns_inode(), before, "thread did not return to its namespace");
    }

    #[test]
    fn returns_even_when_the_closure_panics() {
        let ns = TestNetns::new();
        let before = current_netns_inode();
        let caught = std::panic::catch_unwind(|| within(Some(ns.name()), || panic!("boom")));
        assert!(caught.is_err());
        assert_eq!(current_netns_inode(), before, "panic left the thread in the namespace");
    }
}
