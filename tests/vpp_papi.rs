//! VPP's own Python client (`vpp_papi` from PyPI, in a venv created and
//! cached in the target dir) drives the lb plugin of the VPP under test:
//! the script `vppapi/tests/papi/lb_lifecycle.py` asserts on every value
//! (return codes, bucket counts, dumps, the CLI, routes) and passes against
//! real VPP and vppsim alike. Without PyPI the test fails (it never skips).

#[path = "../vppapi/tests/papi_venv/mod.rs"]
mod papi_venv;

use std::path::Path;
use std::process::Command;

use testsupport::Vpp;

#[test]
fn vpp_papi_drives_the_lb_plugin() {
    let python = papi_venv::venv_python();
    let vpp = Vpp::start();
    let version = vpp.connect().show_version().expect("show_version").version;
    let vppapi = Path::new(env!("CARGO_MANIFEST_DIR")).join("vppapi");
    let out = Command::new(&python)
        .arg(vppapi.join("tests/papi/lb_lifecycle.py"))
        .arg(vppapi.join("tests/data/apijson"))
        .arg(&vpp.api_socket)
        .arg(&version)
        .output()
        .expect("run python");
    let output = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "vpp_papi script failed:\n{output}");
    assert!(output.contains("ALL OK"), "script did not finish:\n{output}");

    // VPP's own record agrees: the weight change was received, and the AS
    // holds weight 0 and no buckets.
    let set_weight = vpp.requests().into_iter().find(|r| r.msg() == "lb_as_set_weight");
    let set_weight = set_weight.expect("lb_as_set_weight received");
    assert_eq!(set_weight.get("as").as_deref(), Some("10.0.0.3"), "{set_weight:?}");
    let vips = vpp.lb_vips();
    let zero = Vpp::ases(&vips, "192.0.2.1/32").into_iter().find(|a| a.address.to_string() == "10.0.0.3");
    let zero = zero.expect("10.0.0.3 listed");
    assert_eq!((zero.weight, zero.buckets), (Some(0), Some(0)), "{vips:?}");
}
