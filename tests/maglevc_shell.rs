//! maglevc's interactive shell driven in tmux: Tab completion of keywords
//! and live names, `?` help that keeps the line, prefix matching, and the
//! error for an ambiguous word.

use std::process::Command;
use std::time::{Duration, Instant};

use testsupport::grpc::{client, wait_backend_state};
use testsupport::{bin, unique_name, Maglevd, MaglevdOpts, TempDir};

const CONFIG: &str = "\
maglev:
  backends:
    nginx-alpha:
      address: 127.0.0.1
    other:
      address: 127.0.0.2
";

/// A tmux session running one maglevc shell; killed on drop.
struct Tmux {
    name: String,
    _home: TempDir,
}

impl Tmux {
    fn start(server: &str) -> Tmux {
        let name = unique_name("mgsh");
        let home = TempDir::new("maglevc-home");
        let cmd = format!("{} --server {server} --color=false", bin("maglevc").display());
        let ok = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", "160", "-y", "50"])
            .arg("-e")
            .arg(format!("HOME={}", home.path().display()))
            .arg(cmd)
            .status()
            .expect("run tmux (install it: `make test-deps`)");
        assert!(ok.success(), "tmux new-session failed");
        Tmux { name, _home: home }
    }

    fn keys(&self, keys: &[&str]) {
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .expect("send-keys");
        assert!(ok.success());
    }

    /// Types literal text (no key-name interpretation).
    fn type_text(&self, text: &str) {
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.name, "-l", text])
            .status()
            .expect("send-keys");
        assert!(ok.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The last non-empty line of the screen.
    fn last_line(&self) -> String {
        self.screen().lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").to_string()
    }

    fn wait(&self, what: &str, mut check: impl FnMut(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.screen();
            if check(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{s}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_prompt_line(&self, expected: &str) {
        self.wait(&format!("prompt line {expected:?}"), |_| self.last_line().trim_end() == expected);
    }

    /// Clears the current input line (Ctrl-U) and waits for a bare prompt.
    fn clear_line(&self) {
        self.keys(&["C-u"]);
        self.wait_prompt_line("maglev>");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.name]).status();
    }
}

#[test]
fn the_shell_completes_helps_and_matches_prefixes() {
    let m = Maglevd::start(CONFIG, MaglevdOpts::default());
    wait_backend_state(&client(&m.grpc_addr), "nginx-alpha", "up", Duration::from_secs(10));
    let t = Tmux::start(&m.grpc_addr);
    // The banner: the version, then a prompt.
    t.wait("the banner", |s| s.contains("maglevd") && s.contains("maglev>"));

    // Tab completes a keyword...
    t.type_text("sh");
    t.keys(&["Tab"]);
    t.wait_prompt_line("maglev> show");
    // ...and a live backend name.
    t.type_text("backends ngi");
    t.keys(&["Tab"]);
    t.wait_prompt_line("maglev> show backends nginx-alpha");
    t.clear_line();

    // `?` lists the next words and leaves the line as it was.
    t.type_text("show ");
    t.type_text("?");
    let s = t.wait("help after ?", |s| s.contains("healthchecks") && s.contains("frontends"));
    for word in ["version", "frontends", "backends", "healthchecks", "vpp"] {
        assert!(s.contains(word), "{word} missing from help:\n{s}");
    }
    t.wait_prompt_line("maglev> show");
    t.type_text("version");
    t.keys(&["Enter"]);
    t.wait("show version output", |s| s.contains("build-date"));

    // `sh ba` runs `show backends`.
    t.type_text("sh ba");
    t.keys(&["Enter"]);
    t.wait("the backends table", |s| {
        s.contains("NAME") && s.contains("nginx-alpha") && s.contains("127.0.0.2")
    });

    // An ambiguous word names the candidates.
    t.type_text("s ba");
    t.keys(&["Enter"]);
    t.wait("the ambiguity error", |s| s.contains("ambiguous word \"s\": could be show, sync, set"));

    // `watch events` prints JSON lines until any key, then the prompt returns.
    t.clear_line();
    t.type_text("watch events");
    t.keys(&["Enter"]);
    t.wait("a JSON event line", |s| s.contains("{\"type\":\"backend\""));
    t.type_text("x");
    t.wait_prompt_line("maglev>");
    t.type_text("show version");
    t.keys(&["Enter"]);
    t.wait("the shell still works after a watch", |s| s.matches("build-date").count() >= 3);

    t.type_text("quit");
    t.keys(&["Enter"]);
}
