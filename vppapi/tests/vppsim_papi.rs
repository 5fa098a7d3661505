//! VPP's own Python client (`vpp_papi` from PyPI, in a venv this test
//! creates and caches in the target dir) accepts vppsim as a VPP and sees
//! VPP's behaviour: the script `tests/papi/vppsim_lifecycle.py` asserts on
//! every value; its output is shown when it fails. Without PyPI the test
//! fails (it never skips).

mod vppsim_support;

mod papi_venv;

use papi_venv::venv_python;
use std::path::Path;
use std::process::Command;

use vppsim_support::VppSim;

#[test]
fn vpp_papi_drives_vppsim_like_vpp() {
    let python = venv_python();
    let sim = VppSim::start(&["--version-string", "26.10-rc0~374-gb575ec2c56d"]);
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&python)
        .arg(manifest.join("tests/papi/vppsim_lifecycle.py"))
        .arg(manifest.join("tests/data/apijson"))
        .arg(&sim.api)
        .arg("26.10-rc0~374-gb575ec2c56d")
        .output()
        .expect("run python");
    let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "vpp_papi script failed:\n{output}");
    assert!(output.contains("ALL OK"), "script did not finish:\n{output}");

    // vppsim saw the same story.
    let log = sim.request_log_lines();
    assert!(
        log.iter().any(|l| l.contains("\"msg\":\"lb_as_set_weight\"") && l.contains("\"as\":\"10.0.0.3\"")),
        "{log:#?}"
    );
    let state = sim.control("state").join("\n");
    assert!(state.contains("as 10.0.0.3 weight 0 buckets 0"), "{state}");
}

#[test]
fn vpp_papi_reads_moving_counters_from_vppsim() {
    let python = venv_python();
    let sim = VppSim::start(&["--traffic"]);
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
