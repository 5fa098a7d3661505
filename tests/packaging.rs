//! Cheap checks of what the Debian package ships, run with every test:
//! the man pages render without warnings and the maintainer scripts parse.
//! (`make pkg-check` does the full lintian/install/purge cycle as root.)

use std::path::Path;
use std::process::Command;

fn top() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn man_pages_render_without_warnings() {
    for page in ["man/maglevd.8", "man/maglevc.1"] {
        let out = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(top().join(page))
            .output()
            .expect("run groff (Debian package groff-base; `make test-deps` installs it)");
        let warnings =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && warnings.trim().is_empty(), "{page}:\n{warnings}");
    }
}

#[test]
fn maintainer_scripts_parse() {
    let scripts = [
        "debian/postinst",
        "debian/prerm",
        "debian/postrm",
        "debian/build-deb.sh",
        "debian/check-package.sh",
        "tests/demo/demo.sh",
    ];
    for script in scripts {
        let path = top().join(script);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{script}: {e}"));
        // Parse with the interpreter the script asks for: dash is stricter than bash.
        let shell = if text.lines().next().unwrap_or_default().contains("bash") { "bash" } else { "sh" };
        let out = Command::new(shell).arg("-n").arg(&path).output().expect("run the shell");
        assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
