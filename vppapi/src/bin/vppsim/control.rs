//! `--control-socket PATH`: fault knobs for tests. A unix stream socket,
//! one text command per line; every command is answered with `ok` (for
//! `state`: the state lines first, then `ok`) or `error <reason>`.
//!
//! | command | effect |
//! |---|---|
//! | `drop` | close every API connection now |
//! | `stall MS` | delay every API reply by MS milliseconds (`stall 0` ends it) |
//! | `restart` | like a VPP restart: connections dropped, lb state reset, new boot time, new stats segment |
//! | `traffic on` / `traffic off` | start/stop synthetic traffic |
//! | `gc` | garbage-collect removed ASes and VIPs now, regardless of age |
//! | `gc due` | what VPP's periodic collection would do now: free removed VIPs without ASes, drop ASes removed long enough ago |
//! | `state` | one line per VIP and per AS (see `Sim::state_text`) |
//! | `garble PREFIX` / `garble off` | `show lb vips verbose` prints that VIP's header line with a word no parser knows / prints every line right again |

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::thread;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Drop,
    Stall {
        ms: u64,
    },
    Restart,
    Traffic {
        on: bool,
    },
    /// `force`: every removed AS goes, however recently removed (`gc`);
    /// otherwise what VPP's own collection would do now (`gc due`): free
    /// the removed VIPs without ASes, drop ASes removed long enough ago.
    Gc {
        force: bool,
    },
    State,
    /// `None`: garble nothing any more.
    Garble {
        prefix: Option<String>,
    },
}

pub fn parse(line: &str) -> Result<Command, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["drop"] => Ok(Command::Drop),
        ["stall", ms] => ms
            .parse()
            .map(|ms| Command::Stall { ms })
            .map_err(|_| format!("stall wants milliseconds, got `{ms}'")),
        ["restart"] => Ok(Command::Restart),
        ["traffic", "on"] => Ok(Command::Traffic { on: true }),
        ["traffic", "off"] => Ok(Command::Traffic { on: false }),
        ["gc"] => Ok(Command::Gc { force: true }),
        ["gc", "due"] => Ok(Command::Gc { force: false }),
        ["state"] => Ok(Command::State),
        ["garble", "off"] => Ok(Command::Garble { prefix: None }),
        ["garble", prefix] if prefix.contains('/') => {
            Ok(Command::Garble { prefix: Some(prefix.to_string()) })
        }
        _ => Err(format!(
            "unknown command `{}' (drop, stall MS, restart, traffic on|off, gc [due], state, garble PREFIX|off)",
            line.trim()
        )),
    }
}

/// What runs a command: Ok(text to print before `ok`) or Err(reason).
pub type Handler = Arc<dyn Fn(Command) -> Result<String, String> + Send + Sync>;

/// Accepts control connections forever, one thread per connection.
pub fn serve(listener: UnixListener, handler: Handler) {
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                let handler = Arc::clone(&handler);
                let spawned =
                    thread::Builder::new().name("control".into()).spawn(move || session(stream, &handler));
                if let Err(e) = spawned {
                    log::error!("control socket: cannot start a thread: {e}");
                }
            }
            Err(e) => log::warn!("control socket: accept failed: {e}"),
        }
    }
}

fn session(stream: UnixStream, handler: &Handler) {
    let Ok(mut out) = stream.try_clone() else { return };
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        if line.trim().is_empty() {
            continue;
        }
        let answer = match parse(&line).and_then(|c| handler(c)) {
            Ok(text) if text.is_empty() => "ok\n".to_string(),
            Ok(text) if text.ends_with('\n') => format!("{text}ok\n"),
            Ok(text) => format!("{text}\nok\n"),
            Err(reason) => format!("error {reason}\n"),
        };
        if out.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(parse("drop"), Ok(Command::Drop));
        assert_eq!(parse(" stall 250 "), Ok(Command::Stall { ms: 250 }));
        assert_eq!(parse("traffic off"), Ok(Command::Traffic { on: false }));
        assert_eq!(parse("garble 192.0.2.1/32"), Ok(Command::Garble { prefix: Some("192.0.2.1/32".into()) }));
        assert_eq!(parse("garble off"), Ok(Command::Garble { prefix: None }));
        assert!(parse("stall soon").unwrap_err().contains("milliseconds"));
        assert!(parse("reboot").unwrap_err().starts_with("unknown command `reboot'"));
    }

    #[test]
    fn answers_ok_and_errors() {
        let dir = std::env::temp_dir().join(format!("vppsim-ctl-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let listener = UnixListener::bind(&dir).unwrap();
        let handler: Handler = Arc::new(|c| match c {
            Command::State => Ok("vip 1\nas 2".to_string()),
            Command::Gc { .. } => Err("nothing to collect".to_string()),
            _ => Ok(String::new()),
        });
        thread::spawn(move || serve(listener, handler));
        let mut s = UnixStream::connect(&dir).unwrap();
        s.write_all(b"drop\nstate\ngc\nbogus\n").unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut lines = Vec::new();
        for _ in 0..6 {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            lines.push(l.trim_end().to_string());
        }
        let _ = std::fs::remove_file(&dir);
        assert_eq!(lines[..5], ["ok", "vip 1", "as 2", "ok", "error nothing to collect"]);
        assert!(lines[5].starts_with("error unknown command"));
    }
}
