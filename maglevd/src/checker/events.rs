//! Transition events and their fan-out to subscribers over bounded
//! channels. A subscriber that does not keep up is cut off (its channel is
//! closed and `Subscription::overflowed` turns true); the checker never
//! blocks on a subscriber. The bus also keeps the last [`RECENT`] events
//! for readers that arrive later (the status page).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use parking_lot::Mutex;

use crate::health::{BackendState, FrontendState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Backend(BackendEvent),
    Frontend(FrontendEvent),
    Weight(WeightEvent),
    Reload(ReloadEvent),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendEvent {
    pub backend: String,
    pub address: IpAddr,
    pub from: BackendState,
    pub to: BackendState,
    /// See `Transition::code`.
    pub code: String,
    pub detail: String,
    pub at: SystemTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendEvent {
    pub frontend: String,
    pub from: FrontendState,
    pub to: FrontendState,
    pub at: SystemTime,
}

/// An operator set a backend's weight in a frontend's pool (PRODUCT.md
/// §7.5): the VPP thread syncs that frontend at once and, with `flush`,
/// flushes the AS's flows on its write. Not a state transition, so
/// WatchEvents does not stream it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightEvent {
    pub frontend: String,
    pub pool: String,
    pub backend: String,
    pub address: IpAddr,
    pub weight: u8,
    pub flush: bool,
    pub at: SystemTime,
}

/// A reload is being applied; sent before the transitions it causes. The
/// VPP thread holds `frontends` (those with a backend the reload made
/// `unknown`: new, readdressed or enabled) like the startup warmup
/// (PRODUCT.md §5.7). Not streamed by WatchEvents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadEvent {
    pub frontends: Vec<String>,
    pub at: SystemTime,
}

/// The receiving end of a subscription.
pub struct Subscription {
    pub rx: Receiver<Event>,
    overflowed: Arc<AtomicBool>,
}

impl Subscription {
    /// True once the bus dropped this subscriber because its queue was full.
    /// Check it when `rx` reports disconnection.
    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
    }
}

struct Subscriber {
    tx: Sender<Event>,
    overflowed: Arc<AtomicBool>,
}

/// How many published transitions (backend and frontend events)
/// [`EventBus::recent`] keeps.
pub const RECENT: usize = 50;

/// Fan-out of events to any number of bounded subscribers.
#[derive(Default)]
pub struct EventBus {
    subscribers: Mutex<Vec<Subscriber>>,
    recent: Mutex<VecDeque<Event>>,
}

impl EventBus {
    pub fn new() -> Self {
        EventBus::default()
    }

    /// A new subscriber with a queue of `capacity` events. `initial` events
    /// are queued first (they count against the capacity).
    pub fn subscribe(&self, capacity: usize, initial: Vec<Event>) -> Subscription {
        let (tx, rx) = crossbeam_channel::bounded(capacity.max(initial.len()).max(1));
        for ev in initial {
            // Cannot fail: the queue was sized to hold them.
            let _ = tx.try_send(ev);
        }
        let overflowed = Arc::new(AtomicBool::new(false));
        self.subscribers.lock().push(Subscriber { tx, overflowed: overflowed.clone() });
        Subscription { rx, overflowed }
    }

    /// Delivers `ev` to every subscriber without blocking. Subscribers whose
    /// queue is full are dropped and flagged; gone subscribers are removed.
    /// Returns how many were dropped for overflow.
    pub fn publish(&self, ev: &Event) -> usize {
        if matches!(ev, Event::Backend(_) | Event::Frontend(_)) {
            let mut recent = self.recent.lock();
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back(ev.clone());
        }
        let mut dropped = 0;
        self.subscribers.lock().retain(|s| match s.tx.try_send(ev.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                s.overflowed.store(true, Ordering::Release);
                dropped += 1;
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        });
        dropped
    }

    /// The last [`RECENT`] published transitions, newest first.
    pub fn recent(&self) -> Vec<Event> {
        self.recent.lock().iter().rev().cloned().collect()
    }

    pub fn subscriber_count(&self) -> usize {
        self.subscribers.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: usize) -> Event {
        Event::Frontend(FrontendEvent {
            frontend: format!("f{i}"),
            from: FrontendState::Unknown,
            to: FrontendState::Up,
            at: SystemTime::UNIX_EPOCH,
        })
    }

    #[test]
    fn the_bus_keeps_the_last_events_newest_first() {
        let bus = EventBus::new();
        assert!(bus.recent().is_empty());
        for i in 0..RECENT + 7 {
            bus.publish(&ev(i));
        }
        let recent = bus.recent();
        assert_eq!(recent.len(), RECENT);
        assert_eq!(recent.first(), Some(&ev(RECENT + 6)));
        assert_eq!(recent.last(), Some(&ev(7)));
    }
}
