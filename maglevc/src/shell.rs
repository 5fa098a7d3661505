//! The interactive shell: rustyline line editing and history, Tab
//! completion of keywords and live names, `?` help that leaves the line as
//! it was.

use std::io::Write;
use std::time::{Duration, Instant};

use grpcio::CallOption;
use maglev_proto::maglev as pb;
use parking_lot::Mutex;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, ConditionalEventHandler, Context, Editor, Event, EventContext, EventHandler, Helper, KeyCode,
    KeyEvent, Modifiers, RepeatCount,
};

use crate::client::Client;
use crate::commands::{self, Outcome};
use crate::format::Style;
use crate::tree::{self, ArgKind, Names};

const PROMPT: &str = "maglev> ";

/// Names older than this are fetched again.
const NAMES_TTL: Duration = Duration::from_secs(2);

/// Completion must not hang the shell on an unreachable daemon.
const NAMES_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Default, Clone)]
struct NameCache {
    frontends: Vec<pb::FrontendInfo>,
    backends: Vec<String>,
    healthchecks: Vec<String>,
}

/// Frontends, pools, backends and healthchecks fetched from the daemon.
struct LiveNames {
    client: Client,
    cache: Mutex<Option<(Instant, NameCache)>>,
}

impl LiveNames {
    fn fetch(&self) -> NameCache {
        let opt = || CallOption::default().timeout(NAMES_TIMEOUT);
        let api = &self.client.api;
        NameCache {
            frontends: api
                .list_frontends_opt(&pb::ListFrontendsRequest::new(), opt())
                .map(|r| r.frontends)
                .unwrap_or_default(),
            backends: api
                .list_backends_opt(&pb::ListBackendsRequest::new(), opt())
                .map(|r| r.backends.into_iter().map(|b| b.name).collect())
                .unwrap_or_default(),
            healthchecks: api
                .list_health_checks_opt(&pb::ListHealthChecksRequest::new(), opt())
                .map(|r| r.healthchecks.into_iter().map(|h| h.name).collect())
                .unwrap_or_default(),
        }
    }

    fn current(&self) -> NameCache {
        let mut guard = self.cache.lock();
        match guard.as_ref() {
            Some((at, cache)) if at.elapsed() < NAMES_TTL => cache.clone(),
            _ => {
                let cache = self.fetch();
                *guard = Some((Instant::now(), cache.clone()));
                cache
            }
        }
    }
}

impl Names for LiveNames {
    fn names(&self, kind: ArgKind, args: &[(&'static str, String)]) -> Vec<String> {
        let cache = self.current();
        match kind {
            ArgKind::Frontend => cache.frontends.iter().map(|f| f.name.clone()).collect(),
            ArgKind::Backend => cache.backends,
            ArgKind::HealthCheck => cache.healthchecks,
            ArgKind::Pool => {
                let frontend = args.iter().find(|(k, _)| *k == "frontend").map(|(_, v)| v.as_str());
                cache
                    .frontends
                    .iter()
                    .filter(|f| Some(f.name.as_str()) == frontend)
                    .flat_map(|f| f.pools.iter().map(|p| p.name.clone()))
                    .collect()
            }
            ArgKind::Weight | ArgKind::Count | ArgKind::Level => vec![],
        }
    }
}

struct ShellHelper {
    names: LiveNames,
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, words) = tree::complete(&line[..pos], &self.names);
        let single = words.len() == 1;
        let pairs = words
            .into_iter()
            .map(|w| Pair { display: w.clone(), replacement: if single { format!("{w} ") } else { w } })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Validator for ShellHelper {}

impl Helper for ShellHelper {}

/// `?`: print what may come next, then redraw the untouched line.
struct HelpKey;

impl ConditionalEventHandler for HelpKey {
    fn handle(&self, _evt: &Event, _n: RepeatCount, _positive: bool, ctx: &EventContext) -> Option<Cmd> {
        let before = &ctx.line()[..ctx.pos()];
        let text = match tree::help(before) {
            Ok(lines) if lines.is_empty() => "  (nothing can follow)\n".to_string(),
            Ok(lines) => tree::render_help(&lines),
            Err(e) => format!("  {e}\n"),
        };
        // The terminal is in raw mode: lines need a carriage return.
        let mut out = std::io::stdout();
        let _ = write!(out, "?\r\n{}", text.replace('\n', "\r\n"));
        let _ = out.flush();
        Some(Cmd::Repaint)
    }
}

fn history_path() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".maglevc_history"))
}

/// Runs the shell until quit/exit or end of input; returns the exit status.
pub fn run(client: Client, style: Style) -> i32 {
    let mut out = std::io::stdout();
    let _ = commands::run(
        &client,
        &tree::Parsed { command: tree::CommandId::ShowVersion, args: vec![] },
        style,
        true,
        &mut out,
    )
    .map_err(|e| eprintln!("maglevc: {e}"));
    println!("Type ? for help, Tab to complete.");
    let mut rl: Editor<ShellHelper, DefaultHistory> = match Editor::new() {
        Ok(rl) => rl,
        Err(e) => {
            eprintln!("maglevc: cannot start the shell: {e}");
            return 1;
        }
    };
    rl.set_helper(Some(ShellHelper { names: LiveNames { client: client.clone(), cache: Mutex::new(None) } }));
    rl.bind_sequence(
        KeyEvent(KeyCode::Char('?'), Modifiers::NONE),
        EventHandler::Conditional(Box::new(HelpKey)),
    );
    let history = history_path();
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    loop {
        match rl.readline(PROMPT) {
            Ok(line) => {
                let words = tree::split(&line);
                if words.is_empty() {
                    continue;
                }
                let _ = rl.add_history_entry(line.as_str());
                let parsed = match tree::parse(&words) {
                    Ok(p) => p,
                    Err(e) => {
                        eprintln!("error: {e}");
                        continue;
                    }
                };
                match commands::run(&client, &parsed, style, true, &mut out) {
                    Ok(Outcome::Quit) => break,
                    Ok(Outcome::Continue) => {}
                    Err(e) => eprintln!("error: {e}"),
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("maglevc: {e}");
                break;
            }
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    0
}
