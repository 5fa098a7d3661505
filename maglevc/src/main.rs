//! maglevc: the operator's shell and one-shot CLI for maglevd.
//!
//! `maglevc [--server ADDR] [--color[=BOOL]] [COMMAND...]`: with a command
//! it runs it once and exits 0 on success, non-zero with the error on
//! stderr; without one it starts the interactive shell.
#![forbid(unsafe_code)]

mod client;
mod commands;
mod format;
mod shell;
mod tree;
mod watch;

use std::process::ExitCode;

use client::Client;
use format::Style;

/// maglevd's default: a local socket for root and group maglevd.
const DEFAULT_SERVER: &str = "unix:/run/vpp-maglev/maglevd.sock";

const USAGE: &str = "\
usage: maglevc [--server ADDR] [--color[=BOOL]] [COMMAND...]

  --server ADDR   maglevd's gRPC address: unix:/path or host:port
                  (env MAGLEV_SERVER; default unix:/run/vpp-maglev/maglevd.sock,
                  usable by root and the members of group maglevd)
  --color[=BOOL]  colour the output (default: on in the shell, off otherwise)
  -h, --help      this help

Without a command, maglevc starts an interactive shell (? lists the
possible next words, Tab completes). Commands:
  show version
  show frontends [<name>]        show backends [<name>]        show healthchecks [<name>]
  show vpp info                  show vpp lb state             show vpp lb counters
  sync vpp lb state [<frontend>]
  set backend <name> pause|resume|enable|disable
  set frontend <name> pool <pool> backend <name> weight <0-100> [flush]
  watch events [num <n>] [log [level <level>]] [backend] [frontend]
  config check                   config reload
";

#[derive(Debug, PartialEq, Eq)]
struct Args {
    server: String,
    color: Option<bool>,
    command: Vec<String>,
    help: bool,
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!("bad --color value {s:?}: use true or false")),
    }
}

fn parse_args(argv: Vec<String>, env_server: Option<String>) -> Result<Args, String> {
    use lexopt::prelude::*;
    let mut args = Args {
        server: env_server.filter(|s| !s.is_empty()).unwrap_or_else(|| DEFAULT_SERVER.to_string()),
        color: None,
        command: Vec::new(),
        help: false,
    };
    let mut p = lexopt::Parser::from_args(argv);
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Long("server") => {
                args.server = p.value().map_err(|e| e.to_string())?.string().map_err(|e| e.to_string())?
            }
            Long("color") | Long("colour") => {
                args.color = Some(match p.optional_value() {
                    Some(v) => parse_bool(&v.string().map_err(|e| e.to_string())?)?,
                    None => true,
                })
            }
            Short('h') | Long("help") => args.help = true,
            Value(v) => {
                args.command.push(v.string().map_err(|e| e.to_string())?);
                // Everything after the first word belongs to the command.
                for rest in p.raw_args().map_err(|e| e.to_string())? {
                    args.command.push(rest.into_string().map_err(|v| format!("bad argument {v:?}"))?);
                }
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1).collect(), std::env::var("MAGLEV_SERVER").ok()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("maglevc: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let client = Client::connect(&args.server);
    // Kept until the end and never torn down (see `leave_to_exit`): every
    // clone shares one channel.
    let exiting = client.clone();
    let code = run(args, client);
    exiting.leave_to_exit();
    code
}

fn run(args: Args, client: Client) -> ExitCode {
    if args.command.is_empty() {
        let style = Style { color: args.color.unwrap_or(true) };
        return ExitCode::from(u8::try_from(shell::run(client, style)).unwrap_or(1));
    }
    let style = Style { color: args.color.unwrap_or(false) };
    let words: Vec<&str> = args.command.iter().map(String::as_str).collect();
    let parsed = match tree::parse(&words) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("maglevc: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = std::io::stdout();
    match commands::run(&client, &parsed, style, false, &mut out) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("maglevc: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Result<Args, String> {
        parse_args(v.iter().map(|s| s.to_string()).collect(), None)
    }

    #[test]
    fn flags_and_command_words() {
        let a = args(&["--server", "unix:/run/m.sock", "--color=false", "show", "backends"]).unwrap();
        assert_eq!(a.server, "unix:/run/m.sock");
        assert_eq!(a.color, Some(false));
        assert_eq!(a.command, ["show", "backends"]);
        assert_eq!(args(&["--color"]).unwrap().color, Some(true));
        assert_eq!(args(&[]).unwrap().server, DEFAULT_SERVER);
        assert!(args(&["--color=maybe"]).is_err());
        assert!(args(&["--bogus"]).is_err());
    }

    #[test]
    fn env_server_is_the_default_and_the_flag_wins() {
        let a = parse_args(vec![], Some("10.0.0.1:1".into())).unwrap();
        assert_eq!(a.server, "10.0.0.1:1");
        let a = parse_args(vec!["--server".into(), "x:1".into()], Some("10.0.0.1:1".into())).unwrap();
        assert_eq!(a.server, "x:1");
    }
}
