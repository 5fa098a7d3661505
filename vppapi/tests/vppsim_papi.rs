//! VPP's own Python client (`vpp_papi` from PyPI, in a venv this test
//! creates and caches in the target dir) reads vppsim's moving counters and
//! sees a legacy VPP; each script asserts on every value, and its output is
//! shown when it fails. Without PyPI the tests fail (they never skip). The
//! lb life cycle through vpp_papi runs against real VPP and vppsim alike in
//! the workspace's `tests/vpp_papi.rs`.

mod vppsim_support;

mod papi_venv;

use papi_venv::venv_python;
use std::path::Path;
use std::process::Command;

use vppsim_support::VppSim;

#[test]
fn vpp_papi_reads_moving_counters_from_vppsim() {
    let python = venv_python();
    // The heartbeat moves every second here, not every 10 s as VPP's does by default.
    let sim = VppSim::start(&["--traffic", "--stats-update-interval", "1"]);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&python)
        .arg(manifest.join("tests/papi/vppsim_stats.py"))
        .arg(manifest.join("tests/data/apijson"))
        .arg(&sim.api)
        .arg(&sim.stats)
        .output()
        .expect("run python");
    let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "vpp_papi stats script failed:\n{output}");
    assert!(output.contains("ALL OK"), "script did not finish:\n{output}");
}

#[test]
fn vpp_papi_sees_a_legacy_vpp() {
    let python = venv_python();
    let sim = VppSim::start(&["--legacy"]);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&python)
        .arg(manifest.join("tests/papi/vppsim_legacy.py"))
        .arg(manifest.join("tests/data/apijson"))
        .arg(&sim.api)
        .output()
        .expect("run python");
    let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "vpp_papi legacy script failed:\n{output}");
    assert!(output.contains("ALL OK"), "script did not finish:\n{output}");
}
