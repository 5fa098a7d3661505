//! Fan-out of log records to subscribers (gRPC WatchEvents), each at its
//! own level, independent of the daemon's `--log-level`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use log::{Level, LevelFilter};
use parking_lot::Mutex;

/// One log line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub time: SystemTime,
    pub level: Level,
    /// The event name: the first word of the line (`backend-transition`).
    pub event: String,
    /// The whole line.
    pub message: String,
    /// The key=value fields, in line order.
    pub fields: Vec<(String, String)>,
}

/// The receiving end of a log subscription.
pub struct LogSubscription {
    pub rx: Receiver<LogRecord>,
    overflowed: Arc<AtomicBool>,
}

impl LogSubscription {
    /// True once the broadcaster dropped this subscriber because its queue
    /// was full. Check it when `rx` reports disconnection.
    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
    }
}

struct Subscriber {
    level: LevelFilter,
    tx: Sender<LogRecord>,
    overflowed: Arc<AtomicBool>,
}

#[derive(Default)]
pub(super) struct Broadcaster {
    subscribers: Mutex<Vec<Subscriber>>,
}

impl Broadcaster {
    pub(super) fn subscribe(&self, level: LevelFilter, capacity: usize) -> LogSubscription {
        let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
        let overflowed = Arc::new(AtomicBool::new(false));
        self.subscribers.lock().push(Subscriber { level, tx, overflowed: overflowed.clone() });
        LogSubscription { rx, overflowed }
    }

    /// The most verbose level any subscriber wants.
    pub(super) fn max_level(&self) -> LevelFilter {
        self.subscribers.lock().iter().map(|s| s.level).max().unwrap_or(LevelFilter::Off)
    }

    /// Never blocks: full subscribers are dropped and flagged. Returns true
    /// when the subscriber set changed (so the caller can recompute levels).
    pub(super) fn publish(&self, level: Level, make: impl FnOnce() -> LogRecord) -> bool {
        let mut subs = self.subscribers.lock();
        if subs.is_empty() {
            return false;
        }
        let before = subs.len();
        let mut record = None;
        let mut make = Some(make);
        subs.retain(|s| {
            if level > s.level {
                // Gone subscribers are pruned on a record they want.
                return true;
            }
            let r = record.get_or_insert_with(|| (make.take().expect("made once"))()).clone();
            match s.tx.try_send(r) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    s.overflowed.store(true, Ordering::Release);
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        });
        subs.len() != before
    }
}
