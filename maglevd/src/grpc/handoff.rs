//! A one-shot hand-off of a call's answer from the thread that computed it
//! (the checker, the VPP thread, the background thread) to the task that
//! completes the call on a completion-queue thread. The CQ thread never
//! waits: the task sleeps until [`Giver::give`] wakes it. (grpcio cancels
//! a call whose sink's send is dropped before it completes, so the sink
//! itself must stay with a task grpcio polls.)

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    /// The giver is gone (given or dropped).
    closed: bool,
}

/// The sending half; dropping it without giving ends the wait with `None`.
pub struct Giver<T>(Arc<Mutex<Slot<T>>>);

/// The receiving half: a future of the value, `None` if none was given.
pub struct Taker<T>(Arc<Mutex<Slot<T>>>);

pub fn handoff<T>() -> (Giver<T>, Taker<T>) {
    let slot = Arc::new(Mutex::new(Slot { value: None, waker: None, closed: false }));
    (Giver(slot.clone()), Taker(slot))
}

impl<T> Giver<T> {
    pub fn give(self, value: T) {
        self.0.lock().value = Some(value);
        // Drop wakes the taker.
    }
}

impl<T> Drop for Giver<T> {
    fn drop(&mut self) {
        let waker = {
            let mut s = self.0.lock();
            s.closed = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Future for Taker<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut s = self.0.lock();
        if let Some(v) = s.value.take() {
            return Poll::Ready(Some(v));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_crosses_threads_and_a_dropped_giver_ends_the_wait() {
        let (giver, taker) = handoff();
        let t = std::thread::spawn(move || giver.give(42));
        assert_eq!(futures_executor::block_on(taker), Some(42));
        t.join().expect("giver thread");
        let (giver, taker) = handoff::<u8>();
        drop(giver);
        assert_eq!(futures_executor::block_on(taker), None);
    }
}
