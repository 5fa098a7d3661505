//! VPP's lock-free read protocol (PROTOCOL.md 4.5): note the epoch, wait
//! for `in_progress == 0`, read and copy out, then check that neither the
//! epoch nor `in_progress` changed; otherwise retry, within a time limit.

use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

use super::directory::View;
use super::error::StatsError;
use super::layout::{HDR_EPOCH, HDR_IN_PROGRESS};
use super::segment::Segment;

/// Runs `read` against a consistent state of the segment and returns its
/// result with the epoch it was valid for.
///
/// A `Corrupt` result is retried like any other attempt that raced with the
/// writer; it is returned only when the epoch was stable around it. With a
/// zero `timeout` exactly one attempt is made.
pub(crate) fn read_consistent<S, T, F>(
    seg: &S,
    timeout: Duration,
    mut read: F,
) -> Result<(T, u64), StatsError>
where
    S: Segment + ?Sized,
    F: FnMut(&View<'_, S>, u64) -> Result<T, StatsError>,
{
    let start = Instant::now();
    let len = seg.len();
    let mut attempts = 0u32;
    loop {
        attempts = attempts.saturating_add(1);
        let epoch = seg.read_u64_acquire(HDR_EPOCH).ok_or(StatsError::TooSmall { len })?;
        let busy = seg.read_u64_acquire(HDR_IN_PROGRESS).ok_or(StatsError::TooSmall { len })?;
        if busy != 0 {
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(StatsError::Busy { waited });
            }
            backoff(attempts);
            continue;
        }
        let result = View::new(seg).and_then(|view| read(&view, epoch));
        // Order the reads above before the re-check below (seqlock reader).
        fence(Ordering::Acquire);
        // `in_progress` first, with acquire: if it shows the writer's final
        // `0`, the epoch store that precedes it (release) is visible too, so
        // a change that started and ended during the attempt cannot hide.
        let busy_after = seg.read_u64_acquire(HDR_IN_PROGRESS).ok_or(StatsError::TooSmall { len })?;
        let epoch_after = seg.read_u64(HDR_EPOCH).ok_or(StatsError::TooSmall { len })?;
        if epoch_after == epoch && busy_after == 0 {
            return result.map(|t| (t, epoch));
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(StatsError::Unstable { attempts, waited });
        }
        backoff(attempts);
    }
}

/// Spin briefly (a structural change in VPP takes microseconds), then sleep
/// with a growing pause so a stuck writer does not burn a core.
fn backoff(attempt: u32) {
    if attempt < 8 {
        std::hint::spin_loop();
    } else if attempt < 16 {
        std::thread::yield_now();
    } else {
        let micros = 10u64 << (attempt - 16).min(7);
        std::thread::sleep(Duration::from_micros(micros));
    }
}
