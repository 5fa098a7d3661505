//! A hashed timer wheel: O(1) insertion, expiry in tick-sized steps.
//!
//! Time is cut into ticks of fixed length counted from the wheel's origin.
//! An entry due in tick `t` lives in slot `t % slots` together with entries
//! due whole rotations later; expiring a tick takes only the entries of its
//! slot whose tick has come. Entries fire at the first tick boundary at or
//! after their due time, so never early and at most one tick late.
//!
//! The wheel does not read the clock: callers pass `now`, which keeps it
//! deterministic under test.

use std::time::{Duration, Instant};

/// End of a slot's list (or of the free list).
const NIL: u32 = u32::MAX;

/// One scheduled item, linked into its slot's list, or into the free list
/// once expired (`item` is then `None`).
struct Entry<T> {
    tick: u64,
    due: Instant,
    next: u32,
    item: Option<T>,
}

/// Entries live in one slab and each slot holds the head of a list through
/// it: a slot costs 4 bytes whether or not it was ever used, and the slab
/// grows only to the most items ever waiting at once. (A `Vec` per slot kept
/// the capacity of every slot it had ever filled: 4096 slots of four
/// entries, about 0.8 MB, for 1,000 backends.)
pub(crate) struct Wheel<T> {
    origin: Instant,
    tick_nanos: u128,
    heads: Vec<u32>,
    entries: Vec<Entry<T>>,
    free: u32,
    /// The first tick not yet expired.
    next_tick: u64,
    len: usize,
}

impl<T> Wheel<T> {
    /// A wheel of `slots` slots (at least 1) of `tick` each (at least 1 µs),
    /// starting at `origin`.
    pub(crate) fn new(origin: Instant, tick: Duration, slots: usize) -> Wheel<T> {
        let tick_nanos = tick.as_nanos().max(1_000);
        Wheel {
            origin,
            tick_nanos,
            heads: vec![NIL; slots.max(1)],
            entries: Vec::new(),
            free: NIL,
            next_tick: 0,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The tick containing `at` (floor).
    fn tick_of(&self, at: Instant) -> u64 {
        let since = at.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(since / self.tick_nanos).unwrap_or(u64::MAX)
    }

    /// When tick `t` begins.
    fn start_of(&self, t: u64) -> Instant {
        let nanos = self.tick_nanos.saturating_mul(u128::from(t));
        let offset = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        self.origin.checked_add(offset).unwrap_or(self.origin)
    }

    fn slot_of(&self, tick: u64) -> usize {
        (tick % self.heads.len() as u64) as usize
    }

    /// Adds `item`, due at `due`, and returns when its tick starts (when it
    /// fires). An item already due fires at the next expiry.
    pub(crate) fn insert(&mut self, due: Instant, item: T) -> Instant {
        // Fire at the boundary that ends the tick containing `due` (so
        // never before it), but never in a tick already expired.
        let tick =
            if self.start_of(self.tick_of(due)) == due { self.tick_of(due) } else { self.tick_of(due) + 1 };
        let tick = tick.max(self.next_tick);
        let slot = self.slot_of(tick);
        let entry = Entry { tick, due, next: self.heads[slot], item: Some(item) };
        let index = if self.free == NIL {
            self.entries.push(entry);
            // More than 4 billion waiting items cannot be addressed; no
            // configuration comes near (backends are probed once each).
            u32::try_from(self.entries.len() - 1).expect("fewer than 2^32 - 1 items in the wheel")
        } else {
            let index = self.free;
            self.free = self.entries[index as usize].next;
            self.entries[index as usize] = entry;
            index
        };
        self.heads[slot] = index;
        self.len += 1;
        self.start_of(tick)
    }

    /// When the next tick whose slot holds entries starts (they may belong
    /// to a later rotation: then that wakeup finds nothing and the next
    /// call looks further); `None` when the wheel is empty.
    pub(crate) fn next_wakeup(&self) -> Option<Instant> {
        if self.is_empty() {
            return None;
        }
        (self.next_tick..self.next_tick + self.heads.len() as u64)
            .find(|&t| self.heads[self.slot_of(t)] != NIL)
            .map(|t| self.start_of(t))
    }

    /// Removes every entry whose tick has started by `now` and appends it,
    /// with its due time, to `out` in due order.
    pub(crate) fn expire(&mut self, now: Instant, out: &mut Vec<(Instant, T)>) {
        let now_tick = self.tick_of(now);
        if now_tick < self.next_tick {
            return;
        }
        let first_new = out.len();
        let span = now_tick - self.next_tick + 1;
        // Asleep for a whole rotation or more: every slot may hold due entries.
        let first = if span >= self.heads.len() as u64 { 0 } else { self.slot_of(self.next_tick) };
        let count = span.min(self.heads.len() as u64) as usize;
        for k in 0..count {
            let slot = (first + k) % self.heads.len();
            // Walk the list, unlinking due entries; `link` is the index of
            // the entry whose `next` points at `at` (NIL: the slot's head).
            let mut link = NIL;
            let mut at = self.heads[slot];
            while at != NIL {
                let e = &mut self.entries[at as usize];
                let next = e.next;
                if e.tick <= now_tick {
                    if let Some(item) = e.item.take() {
                        out.push((e.due, item));
                    }
                    e.next = self.free;
                    self.free = at;
                    match link {
                        NIL => self.heads[slot] = next,
                        l => self.entries[l as usize].next = next,
                    }
                } else {
                    link = at;
                }
                at = next;
            }
        }
        self.len -= out.len() - first_new;
        self.next_tick = now_tick + 1;
        out[first_new..].sort_by_key(|(due, _)| *due);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(5);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn expired(w: &mut Wheel<u32>, now: Instant) -> Vec<u32> {
        let mut out = Vec::new();
        w.expire(now, &mut out);
        out.into_iter().map(|(_, item)| item).collect()
    }

    #[test]
    fn fires_at_the_first_boundary_not_before_due() {
        let t0 = Instant::now();
        let mut w = Wheel::new(t0, TICK, 8);
        w.insert(t0 + ms(12), 1);
        w.insert(t0 + ms(10), 2);
        assert_eq!(w.len(), 2);
        assert_eq!(expired(&mut w, t0 + ms(9)), Vec::<u32>::new());
        assert_eq!(expired(&mut w, t0 + ms(10)), vec![2]);
        assert_eq!(expired(&mut w, t0 + ms(14)), Vec::<u32>::new(), "12ms fired before its tick boundary");
        assert_eq!(expired(&mut w, t0 + ms(15)), vec![1]);
        assert!(w.is_empty());
        assert_eq!(w.next_wakeup(), None);
    }

    #[test]
    fn insert_returns_when_the_item_fires() {
        let t0 = Instant::now();
        let mut w = Wheel::new(t0, TICK, 8);
        assert_eq!(w.insert(t0 + ms(12), 1), t0 + ms(15));
        assert_eq!(w.insert(t0 + ms(10), 2), t0 + ms(10));
        assert_eq!(expired(&mut w, t0 + ms(20)), vec![2, 1]);
        // Already due: the next tick not yet expired.
        assert_eq!(w.insert(t0 + ms(3), 3), t0 + ms(25));
    }

    #[test]
    fn later_rotations_wait_their_turn() {
        let t0 = Instant::now();
        let mut w = Wheel::new(t0, TICK, 4); // one rotation = 20ms
        w.insert(t0 + ms(5), 1);
        w.insert(t0 + ms(25), 2); // same slot, next rotation
        w.insert(t0 + ms(85), 3); // same slot, four rotations later
        assert_eq!(expired(&mut w, t0 + ms(6)), vec![1]);
        assert_eq!(expired(&mut w, t0 + ms(24)), Vec::<u32>::new());
        assert_eq!(expired(&mut w, t0 + ms(26)), vec![2]);
        assert_eq!(expired(&mut w, t0 + ms(84)), Vec::<u32>::new());
        assert_eq!(expired(&mut w, t0 + ms(86)), vec![3]);
    }

    #[test]
    fn a_long_sleep_releases_everything_due_in_order() {
        let t0 = Instant::now();
        let mut w = Wheel::new(t0, TICK, 4);
        for (i, at) in [70u64, 3, 41, 12, 500].into_iter().enumerate() {
            w.insert(t0 + ms(at), i as u32);
        }
        assert_eq!(expired(&mut w, t0 + ms(100)), vec![1, 3, 2, 0]);
        assert_eq!(w.len(), 1);
        assert_eq!(expired(&mut w, t0 + ms(505)), vec![4]);
    }

    #[test]
    fn past_due_entries_fire_at_the_next_expiry() {
        let t0 = Instant::now();
        let mut w = Wheel::new(t0, TICK, 8);
        assert_eq!(expired(&mut w, t0 + ms(50)), Vec::<u32>::new());
        w.insert(t0 + ms(1), 7); // long past
        assert_eq!(w.next_wakeup(), Some(t0 + ms(55)));
        assert_eq!(expired(&mut w, t0 + ms(55)), vec![7]);
    }

    #[test]
    fn next_wakeup_tracks_the_current_tick() {
        let t0 = Instant::now();
        let mut w = Wheel::new(t0, TICK, 8);
        w.insert(t0 + ms(100), 1); // tick 20, slot 4
                                   // Empty slots are skipped; the slot's earlier rotation is not.
        assert_eq!(w.next_wakeup(), Some(t0 + ms(20)));
        assert_eq!(expired(&mut w, t0 + ms(20)), Vec::<u32>::new());
        assert_eq!(w.next_wakeup(), Some(t0 + ms(60)));
        w.insert(t0 + ms(33), 2);
        assert_eq!(w.next_wakeup(), Some(t0 + ms(35)));
    }

    #[test]
    fn due_entries_leave_a_slot_from_anywhere_in_its_list() {
        let t0 = Instant::now();
        let mut w = Wheel::new(t0, TICK, 4); // one rotation = 20ms
                                             // One slot, rotations interleaved: due ones at the head, the tail
                                             // and in between.
        for (item, at) in [(1, 45u64), (2, 5), (3, 65), (4, 6), (5, 25), (6, 9)] {
            w.insert(t0 + ms(at), item);
        }
        assert_eq!(expired(&mut w, t0 + ms(10)), vec![2, 4, 6]);
        assert_eq!(expired(&mut w, t0 + ms(30)), vec![5]);
        assert_eq!(expired(&mut w, t0 + ms(50)), vec![1]);
        assert_eq!(expired(&mut w, t0 + ms(70)), vec![3]);
        assert!(w.is_empty());
        assert_eq!(w.next_wakeup(), None);
    }

    #[test]
    fn expired_entries_are_reused() {
        let t0 = Instant::now();
        let mut w = Wheel::new(t0, TICK, 64);
        // Ten items at a time, over many rotations.
        for round in 0..1_000u32 {
            let base = 100 * u64::from(round);
            for k in 0..10u32 {
                w.insert(t0 + ms(base + 7 * u64::from(k)), round * 10 + k);
            }
            let want: Vec<u32> = (0..10).map(|k| round * 10 + k).collect();
            assert_eq!(expired(&mut w, t0 + ms(base + 99)), want, "round {round}");
        }
        assert!(w.is_empty());
        assert_eq!(w.entries.len(), 10, "the slab grew beyond the most items waiting at once");
    }
}
