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

use client::{Client, ClientTls};
use format::Style;

/// maglevd's default: a local socket for root and group maglevd.
const DEFAULT_SERVER: &str = "unix:/run/vpp-maglev/maglevd.sock";

const USAGE: &str = "\
usage: maglevc [--server ADDR] [--color[=BOOL]] [COMMAND...]

  --server ADDR   maglevd's gRPC address: unix:/path or host:port
                  (env MAGLEV_SERVER; default unix:/run/vpp-maglev/maglevd.sock,
                  usable by root and the members of group maglevd)
  --tls-ca PATH   TLS to a TCP address: the CA of maglevd's certificate
                  (env MAGLEV_TLS_CA; default the system roots)
  --tls-cert PATH our client certificate (env MAGLEV_TLS_CERT)
  --tls-key PATH  its private key (env MAGLEV_TLS_KEY)
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
    tls: Option<ClientTls>,
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

fn parse_args(argv: Vec<String>, env: impl Fn(&str) -> Option<String>) -> Result<Args, String> {
    use lexopt::prelude::*;
    let env = |key: &str| env(key).filter(|v| !v.is_empty());
    let (mut tls_ca, mut tls_cert, mut tls_key) =
        (env("MAGLEV_TLS_CA"), env("MAGLEV_TLS_CERT"), env("MAGLEV_TLS_KEY"));
    let mut args = Args {
        server: env("MAGLEV_SERVER").unwrap_or_else(|| DEFAULT_SERVER.to_string()),
        tls: None,
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
            Long("tls-ca") => {
                tls_ca = Some(p.value().map_err(|e| e.to_string())?.string().map_err(|e| e.to_string())?)
            }
            Long("tls-cert") => {
                tls_cert = Some(p.value().map_err(|e| e.to_string())?.string().map_err(|e| e.to_string())?)
            }
            Long("tls-key") => {
                tls_key = Some(p.value().map_err(|e| e.to_string())?.string().map_err(|e| e.to_string())?)
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
    args.tls = match (tls_ca, tls_cert, tls_key) {
        (None, None, None) => None,
        (ca, Some(cert), Some(key)) => {
            Some(ClientTls { ca: ca.map(Into::into), cert: Some((cert.into(), key.into())) })
        }
        (ca @ Some(_), None, None) => Some(ClientTls { ca: ca.map(Into::into), cert: None }),
        (_, Some(_), None) => return Err("--tls-cert needs --tls-key".into()),
        (_, None, Some(_)) => return Err("--tls-key needs --tls-cert".into()),
    };
    if args.tls.is_some() && args.server.starts_with("unix:") {
        return Err(format!(
            "--tls-* options are for a TCP address, not {}: give --server host:port",
            args.server
        ));
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1).collect(), |k| std::env::var(k).ok()) {
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
    let client = match Client::connect(&args.server, args.tls.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("maglevc: {e}");
            return ExitCode::from(2);
        }
    };
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
        parse_args(v.iter().map(|s| s.to_string()).collect(), |_| None)
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
        let env = |k: &str| (k == "MAGLEV_SERVER").then(|| "10.0.0.1:1".to_string());
        let a = parse_args(vec![], env).unwrap();
        assert_eq!(a.server, "10.0.0.1:1");
        let a = parse_args(vec!["--server".into(), "x:1".into()], env).unwrap();
        assert_eq!(a.server, "x:1");
    }

    #[test]
    fn tls_options_from_flags_and_env() {
        let a = args(&["--server", "h:1", "--tls-ca", "/ca", "--tls-cert", "/c", "--tls-key", "/k"]).unwrap();
        let tls = a.tls.expect("tls");
        assert_eq!(tls.ca, Some("/ca".into()));
        assert_eq!(tls.cert, Some(("/c".into(), "/k".into())));
        let env = |k: &str| match k {
            "MAGLEV_SERVER" => Some("h:1".to_string()),
            "MAGLEV_TLS_CERT" => Some("/c".to_string()),
            "MAGLEV_TLS_KEY" => Some("/k".to_string()),
            _ => None,
        };
        let tls = parse_args(vec![], env).unwrap().tls.expect("tls from the environment");
        assert_eq!((tls.ca, tls.cert.is_some()), (None, true));
        assert!(args(&["--server", "h:1", "--tls-cert", "/c"]).is_err());
        assert!(args(&["--server", "h:1", "--tls-key", "/k"]).is_err());
        assert!(args(&["--tls-ca", "/ca"]).is_err(), "TLS to the default unix socket");
        assert_eq!(args(&[]).unwrap().tls, None);
    }
}
