//! Python venvs with clients that are not ours (grpcio, grpcio-reflection,
//! …) from PyPI, created once and cached in the target directory.
//!
//! Tests run on parallel threads and test binaries may run side by side,
//! so creation is serialised twice: a per-process lock, and an exclusive
//! lock on a file beside the venv for other processes. A venv counts as
//! ready only once its marker file (the package list) is written after pip
//! succeeded, so a run interrupted half-way, or a changed package list, is
//! rebuilt from scratch (`venv --clear`).

use std::fs::File;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// The python of the venv `name`, with `packages` installed.
pub fn venv(name: &str, packages: &[&str]) -> PathBuf {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let _guard = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());

    let root = target_dir().join("test-venvs");
    std::fs::create_dir_all(&root).expect("create the test venv directory");
    let dir = root.join(name);
    let python = dir.join("bin").join("python3");
    let ready = dir.join(".installed");

    let lock = File::create(root.join(format!("{name}.lock"))).expect("create the venv lock file");
    lock.lock().expect("lock the venv lock file");
    let wanted = packages.join("\n");
    if std::fs::read_to_string(&ready).is_ok_and(|have| have == wanted) {
        return python;
    }
    let out = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir)
        .output()
        .expect("run python3 -m venv (install python3-venv: `make test-deps`)");
    assert!(
        out.status.success(),
        "python3 -m venv {} failed (install python3-venv: `make test-deps`):\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--timeout", "30"])
        .args(packages)
        .output()
        .expect("run pip");
    assert!(
        out.status.success(),
        "pip install {} failed; this test needs PyPI:\n{}{}",
        packages.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&ready, wanted).expect("mark the venv ready");
    python
}

/// target/ (or CARGO_TARGET_DIR) of the running test binary, which lives in
/// target/<profile>/deps/.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.ancestors().nth(3).expect("target directory").to_path_buf()
}
