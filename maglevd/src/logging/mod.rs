//! Logging: one line per event, the event name first, then key=value
//! fields (see [`fields`]). Lines go to stderr, formatted for journald
//! (`<N>` syslog priority prefix, no timestamp) when `JOURNAL_STREAM` is set
//! and with an RFC 3339 timestamp and level otherwise. Every record is also
//! offered to log subscribers at their own level.

mod broadcast;
pub mod fields;
mod timestamp;

use std::io::Write;
use std::sync::OnceLock;
use std::time::SystemTime;

use log::{Level, LevelFilter, Log, Metadata, Record};

pub use broadcast::{LogRecord, LogSubscription};
pub use fields::Value;
pub use timestamp::rfc3339;

use broadcast::Broadcaster;

struct DaemonLogger {
    stderr_level: LevelFilter,
    /// `None` when only subscribers are served (no `init` yet).
    stderr: Option<env_logger::Logger>,
    broadcaster: Broadcaster,
}

static LOGGER: OnceLock<DaemonLogger> = OnceLock::new();

/// Parses a `--log-level` value.
pub fn parse_level(s: &str) -> Option<LevelFilter> {
    match s.to_ascii_lowercase().as_str() {
        "error" => Some(LevelFilter::Error),
        "warn" | "warning" => Some(LevelFilter::Warn),
        "info" => Some(LevelFilter::Info),
        "debug" => Some(LevelFilter::Debug),
        "trace" => Some(LevelFilter::Trace),
        "off" => Some(LevelFilter::Off),
        _ => None,
    }
}

/// Installs the daemon's logger. `journal`: format for journald. Calling it
/// twice keeps the first logger (tests may run several daemons in one process).
pub fn init(level: LevelFilter, journal: bool) {
    let logger = LOGGER.get_or_init(|| DaemonLogger {
        stderr_level: level,
        stderr: Some(stderr_logger(level, journal)),
        broadcaster: Broadcaster::default(),
    });
    if log::set_logger(logger).is_ok() {
        update_max_level();
    }
}

/// Whether stderr is a journald stream (systemd sets `JOURNAL_STREAM`).
pub fn journal_from_env() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some_and(|v| !v.is_empty())
}

/// Subscribes to log records at `level`, whatever the daemon's own level.
/// Without an installed logger the subscription never receives anything.
pub fn subscribe_logs(level: LevelFilter, capacity: usize) -> LogSubscription {
    let logger = LOGGER.get_or_init(|| DaemonLogger {
        stderr_level: LevelFilter::Off,
        stderr: None,
        broadcaster: Broadcaster::default(),
    });
    let sub = logger.broadcaster.subscribe(level, capacity);
    update_max_level();
    sub
}

/// env_logger writes each line with one write, so concurrent lines never
/// interleave.
fn stderr_logger(level: LevelFilter, journal: bool) -> env_logger::Logger {
    env_logger::Builder::new()
        .filter_level(level)
        .target(env_logger::Target::Stderr)
        .format(move |buf, record| {
            if journal {
                writeln!(buf, "<{}>{}", syslog_priority(record.level()), record.args())
            } else {
                writeln!(buf, "{} {:<5} {}", rfc3339(SystemTime::now()), record.level(), record.args())
            }
        })
        .build()
}

fn update_max_level() {
    if let Some(l) = LOGGER.get() {
        log::set_max_level(l.stderr_level.max(l.broadcaster.max_level()));
    }
}

fn syslog_priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

impl Log for DaemonLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        let level = record.level();
        // Library chatter (rustls, grpcio) only at debug and below.
        let ours = record.target().starts_with("maglev") || record.target().starts_with("vppapi");
        if !ours && level > Level::Warn && self.stderr_level < LevelFilter::Debug {
            return;
        }
        if let Some(stderr) = &self.stderr {
            if level <= self.stderr_level {
                stderr.log(record);
            }
        }
        let changed = self.broadcaster.publish(level, || {
            let message = record.args().to_string();
            let (event, fields) = fields::parse(&message);
            LogRecord { time: SystemTime::now(), level, event, message, fields }
        });
        if changed {
            update_max_level();
        }
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}
