//! "A segment": the bounds-checked read interface the parser works on, so
//! the same parser runs on VPP's shared mapping, on the writer's memory and
//! on plain bytes (tests, fuzzing).
//!
//! Every read copies into a local and returns `None` when it would leave the
//! segment; nothing hands out references into memory another party mutates.

use std::sync::atomic::{fence, AtomicU64, Ordering};
use std::sync::Arc;

/// Bounds-checked reads of a stats segment in VPP's host byte order.
///
/// Implementations over shared memory must use atomic (or volatile) loads:
/// the writer changes the memory concurrently.
pub trait Segment {
    /// Size of the segment in bytes.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The u64 at `offset` (any alignment; never torn when 8-aligned), or
    /// `None` if it does not lie entirely inside the segment.
    fn read_u64(&self, offset: usize) -> Option<u64>;

    /// Copies `out.len()` bytes from `offset`; false (and `out` unspecified)
    /// if the range leaves the segment.
    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> bool;

    fn read_u32(&self, offset: usize) -> Option<u32> {
        let mut b = [0u8; 4];
        self.read_bytes(offset, &mut b).then(|| u32::from_ne_bytes(b))
    }

    /// `read_u64` followed by an acquire fence: later reads see at least
    /// what the writer published before the value read here.
    fn read_u64_acquire(&self, offset: usize) -> Option<u64> {
        let v = self.read_u64(offset);
        fence(Ordering::Acquire);
        v
    }
}

/// `offset..offset+n` as a range inside a segment of `len` bytes.
pub(crate) fn checked_range(offset: usize, n: usize, len: usize) -> Option<usize> {
    let end = offset.checked_add(n)?;
    (end <= len).then_some(end)
}

impl Segment for [u8] {
    fn len(&self) -> usize {
        <[u8]>::len(self)
    }

    fn read_u64(&self, offset: usize) -> Option<u64> {
        let end = checked_range(offset, 8, self.len())?;
        let bytes: [u8; 8] = self.get(offset..end)?.try_into().ok()?;
        Some(u64::from_ne_bytes(bytes))
    }

    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> bool {
        match checked_range(offset, out.len(), self.len()).and_then(|end| self.get(offset..end)) {
            Some(src) => {
                out.copy_from_slice(src);
                true
            }
            None => false,
        }
    }
}

impl Segment for Vec<u8> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn read_u64(&self, offset: usize) -> Option<u64> {
        self.as_slice().read_u64(offset)
    }
    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> bool {
        self.as_slice().read_bytes(offset, out)
    }
}

impl<S: Segment + ?Sized> Segment for &S {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn read_u64(&self, offset: usize) -> Option<u64> {
        (**self).read_u64(offset)
    }
    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> bool {
        (**self).read_bytes(offset, out)
    }
    fn read_u32(&self, offset: usize) -> Option<u32> {
        (**self).read_u32(offset)
    }
    fn read_u64_acquire(&self, offset: usize) -> Option<u64> {
        (**self).read_u64_acquire(offset)
    }
}

impl<S: Segment + ?Sized> Segment for Arc<S> {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn read_u64(&self, offset: usize) -> Option<u64> {
        (**self).read_u64(offset)
    }
    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> bool {
        (**self).read_bytes(offset, out)
    }
    fn read_u32(&self, offset: usize) -> Option<u32> {
        (**self).read_u32(offset)
    }
    fn read_u64_acquire(&self, offset: usize) -> Option<u64> {
        (**self).read_u64_acquire(offset)
    }
}

/// Memory the writer owns, as aligned 64-bit words accessed atomically.
/// Implemented by [`MemorySegment`] and by the writable memfd mapping.
pub(crate) trait WordStore: Send + Sync {
    fn word_count(&self) -> usize;
    fn load_word(&self, index: usize, order: Ordering) -> Option<u64>;
    /// False if `index` is outside the store (nothing is written).
    fn store_word(&self, index: usize, value: u64, order: Ordering) -> bool;
    /// Atomic add; `None` if `index` is outside the store.
    fn fetch_add_word(&self, index: usize, delta: u64, order: Ordering) -> Option<u64>;
}

/// `Segment::read_u64` for a word store.
pub(crate) fn words_read_u64<W: WordStore + ?Sized>(w: &W, offset: usize) -> Option<u64> {
    checked_range(offset, 8, w.word_count() * 8)?;
    if offset.is_multiple_of(8) {
        return w.load_word(offset / 8, Ordering::Relaxed);
    }
    let mut b = [0u8; 8];
    words_read_bytes(w, offset, &mut b).then(|| u64::from_ne_bytes(b))
}

/// `Segment::read_bytes` for a word store: whole words are loaded
/// atomically and the wanted bytes copied out of them.
pub(crate) fn words_read_bytes<W: WordStore + ?Sized>(w: &W, offset: usize, out: &mut [u8]) -> bool {
    if checked_range(offset, out.len(), w.word_count() * 8).is_none() {
        return false;
    }
    let mut pos = 0;
    while pos < out.len() {
        let at = offset + pos;
        let Some(word) = w.load_word(at / 8, Ordering::Relaxed) else {
            return false;
        };
        let bytes = word.to_ne_bytes();
        let skip = at % 8;
        let n = (8 - skip).min(out.len() - pos);
        out[pos..pos + n].copy_from_slice(&bytes[skip..skip + n]);
        pos += n;
    }
    true
}

/// A segment in ordinary heap memory, written by [`SegmentWriter`] and
/// readable concurrently by a [`StatsClient`] in the same process (all
/// accesses are atomic).
///
/// [`SegmentWriter`]: super::writer::SegmentWriter
/// [`StatsClient`]: super::client::StatsClient
pub struct MemorySegment {
    words: Box<[AtomicU64]>,
}

impl MemorySegment {
    /// A zeroed segment of `len` bytes (rounded up to a multiple of 8).
    pub fn new(len: usize) -> MemorySegment {
        let words = len.div_ceil(8);
        MemorySegment { words: (0..words).map(|_| AtomicU64::new(0)).collect() }
    }

    /// A copy of the current contents.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.words.len() * 8);
        for w in self.words.iter() {
            out.extend_from_slice(&w.load(Ordering::Relaxed).to_ne_bytes());
        }
        out
    }
}

impl WordStore for MemorySegment {
    fn word_count(&self) -> usize {
        self.words.len()
    }
    fn load_word(&self, index: usize, order: Ordering) -> Option<u64> {
        self.words.get(index).map(|w| w.load(order))
    }
    fn store_word(&self, index: usize, value: u64, order: Ordering) -> bool {
        match self.words.get(index) {
            Some(w) => {
                w.store(value, order);
                true
            }
            None => false,
        }
    }
    fn fetch_add_word(&self, index: usize, delta: u64, order: Ordering) -> Option<u64> {
        self.words.get(index).map(|w| w.fetch_add(delta, order))
    }
}

impl Segment for MemorySegment {
    fn len(&self) -> usize {
        self.words.len() * 8
    }
    fn read_u64(&self, offset: usize) -> Option<u64> {
        words_read_u64(self, offset)
    }
    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> bool {
        words_read_bytes(self, offset, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_reads_are_bounds_checked() {
        let seg: Vec<u8> = (0u8..16).collect();
        assert_eq!(seg.read_u64(8), Some(u64::from_ne_bytes([8, 9, 10, 11, 12, 13, 14, 15])));
        assert_eq!(seg.read_u64(9), None);
        assert_eq!(seg.read_u64(usize::MAX - 3), None);
        assert_eq!(seg.read_u32(12), Some(u32::from_ne_bytes([12, 13, 14, 15])));
        let mut out = [0u8; 3];
        assert!(!seg.read_bytes(14, &mut out));
        assert!(seg.read_bytes(13, &mut out));
        assert_eq!(out, [13, 14, 15]);
    }

    #[test]
    fn memory_segment_reads_match_its_bytes() {
        let m = MemorySegment::new(20);
        assert_eq!(Segment::len(&m), 24);
        assert!(m.store_word(1, u64::from_ne_bytes([1, 2, 3, 4, 5, 6, 7, 8]), Ordering::Relaxed));
        assert!(m.store_word(2, u64::from_ne_bytes([9, 10, 11, 12, 13, 14, 15, 16]), Ordering::Relaxed));
        assert!(!m.store_word(3, 1, Ordering::Relaxed));
        let bytes = m.to_bytes();
        for off in 0..30 {
            assert_eq!(m.read_u64(off), bytes.read_u64(off), "offset {off}");
            let mut a = [0u8; 5];
            let mut b = [0u8; 5];
            assert_eq!(m.read_bytes(off, &mut a), bytes.read_bytes(off, &mut b));
            if off + 5 <= 24 {
                assert_eq!(a, b);
            }
        }
    }
}
