//! The systemd watchdog and status line: a thread that, every half
//! watchdog interval, asks the checker loop and the probe wheel for a sign
//! of life and sends `WATCHDOG=1` only when both answered in time, and
//! that keeps `STATUS=` current.
//!
//! A liveness ping goes through the same queue as the real work of each
//! loop, so a loop that is stuck (a deadlock, an endless computation, a
//! blocking call where none belongs) stops the pings, and systemd restarts
//! maglevd after `WatchdogSec=`. A process that merely stays alive does not.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use log::{info, warn};

use crate::checker::Liveness;
use crate::logging::Value;
use crate::notify::{status_line, Notifier};

/// How often `STATUS=` is refreshed when there is no watchdog.
const STATUS_PERIOD: Duration = Duration::from_secs(2);

/// The text of `STATUS=`, computed when it is sent.
pub type StatusFn = Box<dyn Fn() -> String + Send>;

/// The running watchdog thread; stopped when dropped.
pub struct Watchdog {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts the thread when `notifier` is active; `interval` is
    /// `WatchdogSec=` (none: only the status is kept current).
    pub fn start(
        notifier: Arc<Notifier>,
        interval: Option<Duration>,
        liveness: Liveness,
        status: StatusFn,
    ) -> std::io::Result<Watchdog> {
        if !notifier.is_active() {
            return Ok(Watchdog { stop: None, thread: None });
        }
        let (stop, stopped) = crossbeam_channel::bounded(0);
        let thread = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || run(&notifier, interval, &liveness, &status, &stopped))?;
        if let Some(i) = interval {
            info!("watchdog-enabled interval={}ms", i.as_millis());
        }
        Ok(Watchdog { stop: Some(stop), thread: Some(thread) })
    }

    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

fn run(
    notifier: &Notifier,
    interval: Option<Duration>,
    liveness: &Liveness,
    status: &StatusFn,
    stopped: &Receiver<()>,
) {
    // systemd's advice: ping at half the interval.
    let period = interval.map_or(STATUS_PERIOD, |i| i / 2);
    let mut last_status = String::new();
    let mut stuck: Option<&'static str> = None;
    loop {
        let deadline = Instant::now() + period;
        if interval.is_some() {
            let (checker, wheel) = liveness.ping();
            let now_stuck = if checker.recv_deadline(deadline).is_err() {
                Some("checker")
            } else if wheel.recv_deadline(deadline).is_err() {
                Some("probe-wheel")
            } else {
                None
            };
            match (now_stuck, stuck) {
                (None, _) => send(notifier, "WATCHDOG=1"),
                (Some(what), None) => warn!(
                    "watchdog-withheld loop={what} detail={}",
                    Value(
                        "no answer within half the watchdog interval; systemd restarts maglevd if this lasts"
                    )
                ),
                (Some(_), Some(_)) => {}
            }
            if now_stuck.is_none() && stuck.is_some() {
                info!("watchdog-resumed");
            }
            stuck = now_stuck;
        }
        let text = status();
        if text != last_status {
            send(notifier, &status_line(&text));
            last_status = text;
        }
        match stopped.recv_deadline(deadline) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
}

fn send(notifier: &Notifier, state: &str) {
    if let Err(e) = notifier.send(state) {
        warn!("notify-failed state={} error={}", Value(state), Value(&e.to_string()));
    }
}
