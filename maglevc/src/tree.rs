//! The command tree: one description of every command (PRODUCT.md §10) that
//! drives parsing, Tab completion and `?` help alike.
//!
//! Words match by prefix with exact-match priority (`sh ba` = `show
//! backends`). A node marked `loops` (the options of `watch events`) comes
//! back after each option branch, so options may appear in any order.

use std::fmt;
use std::sync::OnceLock;

/// The commands the tree can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandId {
    ShowVersion,
    ShowFrontends,
    ShowBackends,
    ShowHealthChecks,
    ShowVppInfo,
    ShowVppLbState,
    ShowVppLbCounters,
    SyncVppLbState,
    SetBackendPause,
    SetBackendResume,
    SetBackendEnable,
    SetBackendDisable,
    SetFrontendWeight,
    WatchEvents,
    ConfigCheck,
    ConfigReload,
    Quit,
}

/// What an argument position accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    Frontend,
    Backend,
    /// A pool of the frontend named earlier on the line.
    Pool,
    HealthCheck,
    /// 0..=100.
    Weight,
    /// A positive count.
    Count,
    /// A log level.
    Level,
}

pub const LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

impl ArgKind {
    fn placeholder(self) -> &'static str {
        match self {
            ArgKind::Frontend => "<frontend>",
            ArgKind::Backend => "<backend>",
            ArgKind::Pool => "<pool>",
            ArgKind::HealthCheck => "<healthcheck>",
            ArgKind::Weight => "<0-100>",
            ArgKind::Count => "<n>",
            ArgKind::Level => "<level>",
        }
    }

    /// Checks a value that needs no daemon to check.
    fn validate(self, value: &str) -> Result<(), String> {
        match self {
            ArgKind::Weight => match value.parse::<u32>() {
                Ok(w) if w <= 100 => Ok(()),
                _ => Err(format!("bad weight {value:?}: use a number from 0 to 100")),
            },
            ArgKind::Count => match value.parse::<u64>() {
                Ok(n) if n > 0 => Ok(()),
                _ => Err(format!("bad count {value:?}: use a positive number")),
            },
            ArgKind::Level => {
                if LEVELS.contains(&value) {
                    Ok(())
                } else {
                    Err(format!("bad level {value:?}: use one of {}", LEVELS.join(", ")))
                }
            }
            ArgKind::Frontend | ArgKind::Backend | ArgKind::Pool | ArgKind::HealthCheck => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    Keyword(&'static str),
    Arg(ArgKind),
}

#[derive(Debug)]
pub struct Node {
    pub word: Word,
    pub help: &'static str,
    /// Where the matched word or value is stored in the parsed command.
    pub key: Option<&'static str>,
    /// The command this node and its subtree run.
    pub command: Option<CommandId>,
    /// The input may end here.
    pub complete: bool,
    /// Option list: come back here after each child branch.
    pub loops: bool,
    pub children: Vec<Node>,
}

fn kw(word: &'static str, help: &'static str) -> Node {
    Node {
        word: Word::Keyword(word),
        help,
        key: None,
        command: None,
        complete: false,
        loops: false,
        children: vec![],
    }
}

fn arg(kind: ArgKind, key: &'static str, help: &'static str) -> Node {
    Node {
        word: Word::Arg(kind),
        help,
        key: Some(key),
        command: None,
        complete: false,
        loops: false,
        children: vec![],
    }
}

impl Node {
    fn runs(mut self, command: CommandId) -> Node {
        self.command = Some(command);
        self.complete = true;
        self
    }

    fn done(mut self) -> Node {
        self.complete = true;
        self
    }

    fn key(mut self, key: &'static str) -> Node {
        self.key = Some(key);
        self
    }

    fn looping(mut self) -> Node {
        self.loops = true;
        self
    }

    fn with(mut self, children: Vec<Node>) -> Node {
        self.children = children;
        self
    }
}

/// The whole tree; its root has no word of its own.
pub fn root() -> &'static Node {
    static ROOT: OnceLock<Node> = OnceLock::new();
    ROOT.get_or_init(build)
}

fn build() -> Node {
    use ArgKind::*;
    use CommandId::*;
    let backend_action = |word, help, id| kw(word, help).runs(id);
    kw("", "").with(vec![
        kw("show", "show state").with(vec![
            kw("version", "maglevd's version").runs(ShowVersion),
            kw("frontends", "frontends, or one in detail").runs(ShowFrontends).with(vec![arg(
                Frontend,
                "name",
                "a frontend's name",
            )
            .done()]),
            kw("backends", "backends, or one in detail").runs(ShowBackends).with(vec![arg(
                Backend,
                "name",
                "a backend's name",
            )
            .done()]),
            kw("healthchecks", "healthchecks, or one in detail").runs(ShowHealthChecks).with(vec![arg(
                HealthCheck,
                "name",
                "a healthcheck's name",
            )
            .done()]),
            kw("vpp", "VPP's state").with(vec![
                kw("info", "the connected VPP").runs(ShowVppInfo),
                kw("lb", "the lb plugin").with(vec![
                    kw("state", "VIPs and application servers in VPP").runs(ShowVppLbState),
                    kw("counters", "per-VIP packet counters").runs(ShowVppLbCounters),
                ]),
            ]),
        ]),
        kw("sync", "reconcile VPP now").with(vec![kw("vpp", "VPP").with(vec![kw("lb", "the lb plugin")
            .with(vec![kw("state", "all VIPs, or one frontend's").runs(SyncVppLbState).with(vec![arg(
                Frontend,
                "frontend",
                "sync only this frontend's VIP",
            )
            .done()])])])]),
        kw("set", "change state").with(vec![
            kw("backend", "operator actions on a backend").with(vec![arg(
                Backend,
                "name",
                "a backend's name",
            )
            .with(vec![
                backend_action("pause", "stop probing; keep the state", SetBackendPause),
                backend_action("resume", "probe again, from unknown", SetBackendResume),
                backend_action("enable", "take back into service, from unknown", SetBackendEnable),
                backend_action("disable", "weight 0 with flush; stop probing", SetBackendDisable),
            ])]),
            kw("frontend", "a frontend's pool weights").with(vec![arg(
                Frontend,
                "frontend",
                "a frontend's name",
            )
            .with(vec![kw("pool", "a pool of the frontend").with(vec![arg(
                Pool,
                "pool",
                "a pool's name",
            )
            .with(vec![kw("backend", "a backend of the pool").with(vec![arg(
                Backend,
                "backend",
                "a backend's name",
            )
            .with(vec![kw("weight", "set its weight").with(vec![arg(
                Weight,
                "weight",
                "the pool weight",
            )
            .runs(SetFrontendWeight)
            .with(vec![kw("flush", "flush its existing flows").key("flush").done()])])])])])])])]),
        ]),
        kw("watch", "follow live").with(vec![kw("events", "backend, frontend and log events as JSON lines")
            .runs(WatchEvents)
            .looping()
            .with(vec![
                kw("num", "stop after n events").with(vec![arg(Count, "num", "how many events").done()]),
                kw("log", "log events").key("log").done().with(vec![kw("level", "the lowest log level")
                    .with(vec![arg(Level, "level", "error ... trace").done()])]),
                kw("backend", "backend events").key("backend").done(),
                kw("frontend", "frontend events").key("frontend").done(),
            ])]),
        kw("config", "the config file").with(vec![
            kw("check", "validate maglevd's config file").runs(ConfigCheck),
            kw("reload", "reload maglevd's config file").runs(ConfigReload),
        ]),
        kw("quit", "leave the shell").runs(Quit),
        kw("exit", "leave the shell").runs(Quit),
    ])
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub command: CommandId,
    /// (key, value) in line order; flags carry their keyword.
    pub args: Vec<(&'static str, String)>,
}

impl Parsed {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.args.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Empty,
    Unknown { word: String, expected: Vec<String> },
    Ambiguous { word: String, candidates: Vec<String> },
    Incomplete { expected: Vec<String> },
    BadValue(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("no command"),
            ParseError::Unknown { word, expected } => {
                write!(f, "unknown word {word:?}: expected {}", expected.join(", "))
            }
            ParseError::Ambiguous { word, candidates } => {
                write!(f, "ambiguous word {word:?}: could be {}", candidates.join(", "))
            }
            ParseError::Incomplete { expected } => {
                write!(f, "incomplete command: expected {}", expected.join(", "))
            }
            ParseError::BadValue(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for ParseError {}

/// Where a walk over some words ended up.
struct Position<'t> {
    node: &'t Node,
    /// The innermost option list we are inside of.
    options: Option<&'t Node>,
    command: Option<CommandId>,
    args: Vec<(&'static str, String)>,
}

impl<'t> Position<'t> {
    fn start() -> Position<'static> {
        Position { node: root(), options: None, command: None, args: vec![] }
    }

    /// The nodes the next word may match, in tree order.
    fn candidates(&self) -> Vec<&'t Node> {
        let mut out: Vec<&Node> = self.node.children.iter().collect();
        if let Some(opts) = self.options {
            if !std::ptr::eq(opts, self.node) {
                out.extend(opts.children.iter());
            }
        }
        out
    }

    fn complete(&self) -> bool {
        self.node.complete
    }

    fn enter(&mut self, node: &'t Node, word: &str) {
        if let Some(key) = node.key {
            self.args.push((key, word.to_string()));
        }
        if node.command.is_some() {
            self.command = node.command;
        }
        if node.loops {
            self.options = Some(node);
        }
        self.node = node;
    }

    /// Matches one word: an exact keyword, else a unique keyword prefix,
    /// else an argument.
    fn step(&mut self, word: &str) -> Result<(), ParseError> {
        let cands = self.candidates();
        let keywords: Vec<&Node> =
            cands.iter().copied().filter(|n| matches!(n.word, Word::Keyword(_))).collect();
        if let Some(n) = keywords.iter().find(|n| matches!(n.word, Word::Keyword(k) if k == word)) {
            let Word::Keyword(w) = n.word else { unreachable!() };
            self.enter(n, w);
            return Ok(());
        }
        let prefixed: Vec<&Node> = keywords
            .iter()
            .copied()
            .filter(|n| matches!(n.word, Word::Keyword(k) if k.starts_with(word)))
            .collect();
        match prefixed.as_slice() {
            [one] => {
                let Word::Keyword(w) = one.word else { unreachable!() };
                self.enter(one, w);
                return Ok(());
            }
            [] => {}
            many => {
                return Err(ParseError::Ambiguous { word: word.to_string(), candidates: words(many) });
            }
        }
        if let Some(n) = cands.iter().find(|n| matches!(n.word, Word::Arg(_))) {
            if let Word::Arg(kind) = n.word {
                kind.validate(word).map_err(ParseError::BadValue)?;
            }
            self.enter(n, word);
            return Ok(());
        }
        Err(ParseError::Unknown { word: word.to_string(), expected: words(&cands) })
    }
}

fn word_text(n: &Node) -> &'static str {
    match n.word {
        Word::Keyword(k) => k,
        Word::Arg(kind) => kind.placeholder(),
    }
}

fn words(nodes: &[&Node]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in nodes {
        let w = word_text(n).to_string();
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// Splits a line into words (whitespace separated).
pub fn split(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Parses a whole command.
pub fn parse(words_in: &[&str]) -> Result<Parsed, ParseError> {
    if words_in.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut pos = Position::start();
    for w in words_in {
        pos.step(w)?;
    }
    match pos.command {
        Some(command) if pos.complete() => Ok(Parsed { command, args: pos.args }),
        _ => Err(ParseError::Incomplete { expected: words(&pos.candidates()) }),
    }
}

/// A possible next word with its one-line help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpLine {
    pub word: String,
    pub help: String,
}

/// What may follow `line` (the words typed so far; a trailing partial word
/// narrows the list). `<cr>` is listed when the command may end there.
pub fn help(line: &str) -> Result<Vec<HelpLine>, ParseError> {
    let (done, partial) = split_partial(line);
    let pos = walk(&done)?;
    let mut out: Vec<HelpLine> = Vec::new();
    for n in pos.candidates() {
        let word = word_text(n);
        let matches = match n.word {
            Word::Keyword(k) => k.starts_with(partial),
            Word::Arg(_) => true,
        };
        if matches && !out.iter().any(|h| h.word == word) {
            out.push(HelpLine { word: word.to_string(), help: n.help.to_string() });
        }
    }
    if partial.is_empty() && pos.command.is_some() && pos.complete() {
        out.push(HelpLine { word: "<cr>".to_string(), help: "run the command".to_string() });
    }
    Ok(out)
}

/// Renders `help()` the way the shell prints it.
pub fn render_help(lines: &[HelpLine]) -> String {
    let width = lines.iter().map(|h| h.word.len()).max().unwrap_or(0);
    lines.iter().map(|h| format!("  {:width$}  {}\n", h.word, h.help)).collect()
}

/// Live names for completion, fetched from the daemon.
pub trait Names {
    /// `args` are the values parsed so far (e.g. the frontend of a pool).
    fn names(&self, kind: ArgKind, args: &[(&'static str, String)]) -> Vec<String>;
}

/// Completion candidates for the word under the cursor at the end of
/// `line`: (start offset of that word, candidates).
pub fn complete(line: &str, names: &dyn Names) -> (usize, Vec<String>) {
    let (done, partial) = split_partial(line);
    let start = line.len() - partial.len();
    let Ok(pos) = walk(&done) else { return (start, vec![]) };
    let mut out: Vec<String> = Vec::new();
    for n in pos.candidates() {
        let values = match n.word {
            Word::Keyword(k) => vec![k.to_string()],
            Word::Arg(ArgKind::Level) => LEVELS.iter().map(|s| s.to_string()).collect(),
            Word::Arg(kind) => names.names(kind, &pos.args),
        };
        for v in values {
            if v.starts_with(partial) && !out.contains(&v) {
                out.push(v);
            }
        }
    }
    (start, out)
}

/// The complete words of `line` and the partial word at its end ("" when
/// the line ends in whitespace).
fn split_partial(line: &str) -> (Vec<&str>, &str) {
    let mut done = split(line);
    let partial =
        if line.ends_with(char::is_whitespace) || line.is_empty() { "" } else { done.pop().unwrap_or("") };
    (done, partial)
}

fn walk(words_in: &[&str]) -> Result<Position<'static>, ParseError> {
    let mut pos = Position::start();
    for w in words_in {
        pos.step(w)?;
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl Names for Fixed {
        fn names(&self, kind: ArgKind, args: &[(&'static str, String)]) -> Vec<String> {
            match kind {
                ArgKind::Backend => vec!["nginx0-ams".into(), "nginx1-fra".into()],
                ArgKind::Frontend => vec!["web4".into(), "web6".into()],
                ArgKind::Pool => {
                    let fe = args.iter().find(|(k, _)| *k == "frontend").map(|(_, v)| v.as_str());
                    if fe == Some("web4") {
                        vec!["primary".into(), "fallback".into()]
                    } else {
                        vec![]
                    }
                }
                _ => vec![],
            }
        }
    }

    fn p(line: &str) -> Result<Parsed, ParseError> {
        parse(&split(line))
    }

    #[test]
    fn prefixes_match_unique_keywords() {
        assert_eq!(p("sh ba").unwrap(), Parsed { command: CommandId::ShowBackends, args: vec![] });
        assert_eq!(p("show backends nginx0").unwrap().get("name"), Some("nginx0"));
        assert_eq!(p("sh vpp lb co").unwrap().command, CommandId::ShowVppLbCounters);
        assert_eq!(p("conf rel").unwrap().command, CommandId::ConfigReload);
    }

    #[test]
    fn exact_match_wins_over_longer_keywords() {
        // "backend" is exact under `set`, even though nothing else starts with it.
        assert_eq!(p("set backend b1 pause").unwrap().command, CommandId::SetBackendPause);
        // In watch options, `backend` is exact and wins.
        let w = p("watch events backend").unwrap();
        assert!(w.has("backend") && !w.has("frontend"));
    }

    #[test]
    fn ambiguous_and_unknown_words_name_the_candidates() {
        let e = p("s ba").unwrap_err();
        assert_eq!(
            e,
            ParseError::Ambiguous {
                word: "s".into(),
                candidates: vec!["show".into(), "sync".into(), "set".into()]
            }
        );
        assert!(e.to_string().contains("show, sync, set"), "{e}");
        let e = p("show nope").unwrap_err();
        assert!(
            matches!(&e, ParseError::Unknown { word, expected } if word == "nope" && expected.contains(&"backends".to_string()))
        );
        let e = p("show").unwrap_err();
        assert!(matches!(e, ParseError::Incomplete { .. }));
        assert_eq!(p("").unwrap_err(), ParseError::Empty);
    }

    #[test]
    fn set_weight_collects_every_argument() {
        let c = p("set frontend web4 pool primary backend nginx0-ams weight 50 flush").unwrap();
        assert_eq!(c.command, CommandId::SetFrontendWeight);
        assert_eq!(c.get("frontend"), Some("web4"));
        assert_eq!(c.get("pool"), Some("primary"));
        assert_eq!(c.get("backend"), Some("nginx0-ams"));
        assert_eq!(c.get("weight"), Some("50"));
        assert!(c.has("flush"));
        assert!(!p("set frontend web4 pool primary backend x weight 5").unwrap().has("flush"));
        assert!(matches!(
            p("set frontend web4 pool primary backend x weight 101"),
            Err(ParseError::BadValue(_))
        ));
        assert!(matches!(p("set frontend web4 pool primary backend x"), Err(ParseError::Incomplete { .. })));
    }

    #[test]
    fn watch_options_come_in_any_order() {
        let c = p("watch events frontend num 5 log level debug backend").unwrap();
        assert_eq!(c.command, CommandId::WatchEvents);
        assert_eq!(c.get("num"), Some("5"));
        assert_eq!(c.get("level"), Some("debug"));
        assert!(c.has("log") && c.has("backend") && c.has("frontend"));
        let c = p("wa ev log backend").unwrap();
        assert!(c.has("log") && c.has("backend") && c.get("level").is_none());
        assert!(matches!(p("watch events log level"), Err(ParseError::Incomplete { .. })));
        assert!(matches!(p("watch events num 0"), Err(ParseError::BadValue(_))));
        assert!(matches!(p("watch events log level loud"), Err(ParseError::BadValue(_))));
    }

    #[test]
    fn completes_keywords_and_live_names() {
        assert_eq!(complete("sh", &Fixed), (0, vec!["show".to_string()]));
        assert_eq!(complete("show ", &Fixed).1, ["version", "frontends", "backends", "healthchecks", "vpp"]);
        assert_eq!(
            complete("show backends ng", &Fixed),
            (14, vec!["nginx0-ams".to_string(), "nginx1-fra".to_string()])
        );
        assert_eq!(complete("set backend nginx0-ams p", &Fixed).1, ["pause"]);
        assert_eq!(complete("set frontend web4 pool ", &Fixed).1, ["primary", "fallback"]);
        assert_eq!(complete("watch events log level d", &Fixed).1, ["debug"]);
        assert_eq!(complete("watch events log ", &Fixed).1, ["level", "num", "log", "backend", "frontend"]);
        assert_eq!(complete("show nope ", &Fixed).1, Vec::<String>::new());
    }

    #[test]
    fn help_lists_next_words_with_help() {
        let h = help("show ").unwrap();
        let words: Vec<&str> = h.iter().map(|l| l.word.as_str()).collect();
        assert_eq!(words, ["version", "frontends", "backends", "healthchecks", "vpp"]);
        let h = help("show backends ").unwrap();
        let words: Vec<&str> = h.iter().map(|l| l.word.as_str()).collect();
        assert_eq!(words, ["<backend>", "<cr>"]);
        let h = help("sh v").unwrap();
        assert_eq!(h.iter().map(|l| l.word.as_str()).collect::<Vec<_>>(), ["version", "vpp"]);
        let text = render_help(&help("config ").unwrap());
        assert_eq!(
            text,
            "  check   validate maglevd's config file\n  reload  reload maglevd's config file\n"
        );
        assert!(help("show nope ").is_err());
    }
}
