//! Real unprivileged users and groups, made with `useradd`/`groupadd` for
//! one test and deleted when dropped, for checks of who may do what.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::unique_name;

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// A system group, deleted on drop.
pub struct TestGroup {
    pub name: String,
}

impl TestGroup {
    pub fn new(prefix: &str) -> TestGroup {
        let name = unique_name(prefix);
        run("groupadd", &["--system", &name]);
        TestGroup { name }
    }
}

impl Drop for TestGroup {
    fn drop(&mut self) {
        let _ = Command::new("groupdel").arg(&self.name).output();
    }
}

/// A system user without a home or a login shell, deleted on drop.
pub struct TestUser {
    pub name: String,
}

impl TestUser {
    /// A user whose supplementary groups are `groups`.
    pub fn new(prefix: &str, groups: &[&TestGroup]) -> TestUser {
        let name = unique_name(prefix);
        let mut args = vec!["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin"];
        let list = groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(",");
        if !list.is_empty() {
            args.extend(["--groups", &list]);
        }
        args.push(&name);
        run("useradd", &args);
        TestUser { name }
    }

    /// Runs `program` as this user (its own uid, gid and groups, as a login
    /// would give it) and waits for it.
    pub fn output(&self, program: &Path, args: &[&str]) -> Output {
        Command::new("setpriv")
            .args(["--reuid", &self.name, "--regid", &self.name, "--init-groups", "--"])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run setpriv")
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).output();
    }
}
