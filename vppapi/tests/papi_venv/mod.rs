//! The Python venv with VPP's own client (`vpp_papi` from PyPI) that the
//! interoperability tests of this crate share. It is created once per test
//! process and cached in the target dir; without PyPI the tests fail (they
//! never skip).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const VPP_PAPI: &str = "vpp_papi==2.4.2";

/// The venv's python, with vpp_papi (and its stats reader) importable.
pub fn venv_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(create_venv).clone()
}

fn create_venv() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vpp-papi-2.4.2-venv");
    let python = venv.join("bin/python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import vpp_papi, vpp_papi.vpp_stats"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready() {
        return python;
    }
    let out = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .output()
        .expect("run python3 -m venv (install python3-venv)");
    assert!(
        out.status.success(),
        "python3 -m venv failed (install python3-venv): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "--timeout", "30", VPP_PAPI])
        .output()
        .expect("run pip");
    assert!(
        out.status.success(),
        "pip install {VPP_PAPI} failed; this test needs PyPI:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ready(), "vpp_papi installed but `import vpp_papi.vpp_stats` fails");
    python
}
