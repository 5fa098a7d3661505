//! The config corpus: every file under `tests/configs/valid` must load,
//! every file under `tests/configs/invalid` must fail the way its header
//! says:
//!
//! ```yaml
//! # expect-exit: 2                  # 1 = parse error, 2 = semantic error
//! # expect-error: maglev.frontends.web4.pools[1].backends.nginx9: unknown backend
//! # vpp-enabled: false              # optional; default true
//! ```
//!
//! Several `expect-error` lines may be given; each must appear in the
//! error text (`ConfigError`'s Display, what `maglevd --check` prints).
//! The shipped example `debian/maglev.yaml` must be valid as well.

use std::path::{Path, PathBuf};

use maglevd::config::{self, ConfigError, LoadOptions};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `.yaml` files of a corpus directory, sorted so failures are stable.
fn corpus(dir: &str) -> Vec<PathBuf> {
    let dir = repo_root().join("tests/configs").join(dir);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())).path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// What the comment header of a corpus file asks for.
#[derive(Debug, Default)]
struct Expectation {
    exit: Option<i32>,
    errors: Vec<String>,
    vpp_enabled: bool,
}

fn expectation(path: &Path) -> Expectation {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut exp = Expectation { vpp_enabled: true, ..Expectation::default() };
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        let line = line.trim_start_matches('#').trim();
        if let Some(v) = line.strip_prefix("expect-exit:") {
            let code =
                v.trim().parse().unwrap_or_else(|_| panic!("{}: bad expect-exit {v:?}", path.display()));
            exp.exit = Some(code);
        } else if let Some(v) = line.strip_prefix("expect-error:") {
            exp.errors.push(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("vpp-enabled:") {
            exp.vpp_enabled = match v.trim() {
                "true" => true,
                "false" => false,
                other => panic!("{}: bad vpp-enabled {other:?}", path.display()),
            };
        }
    }
    exp
}

#[test]
fn valid_configs_load() {
    let files = corpus("valid");
    assert!(files.len() >= 3, "the valid corpus is too small: {files:?}");
    let mut failures = Vec::new();
    for path in &files {
        let exp = expectation(path);
        if let Err(e) = config::load(path, LoadOptions { vpp_enabled: exp.vpp_enabled }) {
            failures.push(format!("{}: expected valid, got (exit {}):\n{e}", path.display(), e.exit_code()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn invalid_configs_fail_as_expected() {
    let files = corpus("invalid");
    assert!(files.len() >= 30, "the invalid corpus is too small: {} files", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.display();
        let exp = expectation(path);
        let (Some(want_exit), false) = (exp.exit, exp.errors.is_empty()) else {
            failures.push(format!("{name}: header needs `# expect-exit:` and `# expect-error:` lines"));
            continue;
        };
        match config::load(path, LoadOptions { vpp_enabled: exp.vpp_enabled }) {
            Ok(_) => failures.push(format!("{name}: expected exit {want_exit}, but the config is valid")),
            Err(e) => {
                let text = e.to_string();
                if e.exit_code() != want_exit {
                    failures
                        .push(format!("{name}: expected exit {want_exit}, got {}:\n{text}", e.exit_code()));
                }
                for want in &exp.errors {
                    if !text.contains(want.as_str()) {
                        failures.push(format!("{name}: error does not contain {want:?}; it is:\n{text}"));
                    }
                }
                // A file that names one error tests one rule: any other
                // error means the file is broken in more ways than intended.
                if let ConfigError::Semantic { errors, .. } = &e {
                    if exp.errors.len() == 1 && errors.len() != 1 {
                        failures.push(format!("{name}: expected exactly one semantic error, got:\n{text}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} corpus failures:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn shipped_example_is_valid() {
    let path = repo_root().join("debian/maglev.yaml");
    let cfg = config::load(&path, LoadOptions { vpp_enabled: true })
        .unwrap_or_else(|e| panic!("{} is not a valid config:\n{e}", path.display()));
    // It must demonstrate what its comments promise.
    assert!(cfg.frontends.values().any(|f| f.address.is_ipv4()), "no IPv4 frontend");
    assert!(cfg.frontends.values().any(|f| f.address.is_ipv6()), "no IPv6 frontend");
    assert!(cfg.frontends.values().any(|f| f.pools.len() >= 2), "no frontend with a fallback pool");
    let types: std::collections::BTreeSet<&str> =
        cfg.healthchecks.values().map(|h| h.probe.probe_type().as_str()).collect();
    assert_eq!(types.into_iter().collect::<Vec<_>>(), ["http", "https", "icmp", "tcp"]);
    assert!(cfg.vpp.lb.ipv4_src_address.is_some() && cfg.vpp.lb.ipv6_src_address.is_some());
}

/// Every YAML example of the config guide that is a whole file (starts
/// with `maglev:`) must be valid, so the guide cannot drift from the code.
#[test]
fn config_guide_examples_are_valid() {
    let path = repo_root().join("docs/config-guide.md");
    let guide =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut examples = 0;
    let mut rest = guide.as_str();
    while let Some(start) = rest.find("```yaml\n") {
        let body = &rest[start + "```yaml\n".len()..];
        let end = body.find("```").unwrap_or_else(|| panic!("{}: unterminated yaml block", path.display()));
        let block = &body[..end];
        rest = &body[end + 3..];
        if !block.starts_with("maglev:") {
            continue;
        }
        examples += 1;
        if let Err(e) =
            config::parse(block, "docs/config-guide.md example", LoadOptions { vpp_enabled: true })
        {
            panic!("an example of the config guide is not valid:\n{e}\n---\n{block}");
        }
    }
    assert!(examples >= 1, "no complete example found in {}", path.display());
}

#[test]
fn io_error_is_exit_1_and_names_the_file() {
    let path = repo_root().join("tests/configs/does-not-exist.yaml");
    let err = config::load(&path, LoadOptions::default()).expect_err("missing file must fail");
    assert_eq!(err.exit_code(), 1);
    assert!(err.to_string().contains("does-not-exist.yaml: cannot read config"), "{err}");
}
