//! The segment parser: shared header, pointer translation, vectors,
//! directory entries and counter values, all bounds-checked against the
//! segment (PROTOCOL.md section 4). Pure safe code over a [`Segment`].
//!
//! Nothing here knows about the epoch protocol: callers run these reads
//! inside [`read_consistent`](super::protocol::read_consistent) and treat a
//! `Corrupt` error as a possible race until the epoch check says otherwise.

use super::error::StatsError;
use super::layout::*;
use super::query::Combined;
use super::segment::{checked_range, Segment};

/// A vector inside the segment: element 0 at `offset`, `len` elements of
/// `elt` bytes, all inside the segment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vector {
    pub offset: usize,
    pub len: usize,
    pub elt: usize,
}

impl Vector {
    const EMPTY: Vector = Vector { offset: 0, len: 0, elt: 1 };

    /// Offset of element `i`; `i < len` is the caller's check.
    fn at(&self, i: usize) -> usize {
        self.offset + i * self.elt
    }
}

/// One directory entry, copied out of the segment.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    pub kind: EntryType,
    /// The 8-byte union (`value`, `data`, `index1`/`index2`, ...).
    pub union: [u8; 8],
    pub name: [u8; ENTRY_NAME_LEN],
}

impl RawEntry {
    pub fn value(&self) -> u64 {
        u64::from_ne_bytes(self.union)
    }

    /// `index1`, `index2` of a symlink.
    pub fn symlink(&self) -> (u32, u32) {
        let [a, b, c, d, e, f, g, h] = self.union;
        (u32::from_ne_bytes([a, b, c, d]), u32::from_ne_bytes([e, f, g, h]))
    }

    /// The name up to its NUL (all 128 bytes if a writer forgot the NUL).
    pub fn name_bytes(&self) -> &[u8] {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(ENTRY_NAME_LEN);
        &self.name[..end]
    }

    pub fn name(&self) -> String {
        String::from_utf8_lossy(self.name_bytes()).into_owned()
    }
}

/// A validated view of the segment's header; all further reads go through it.
pub(crate) struct View<'s, S: Segment + ?Sized> {
    seg: &'s S,
    base: u64,
}

impl<'s, S: Segment + ?Sized> View<'s, S> {
    pub fn new(seg: &'s S) -> Result<Self, StatsError> {
        let len = seg.len();
        if len < HEADER_LEN {
            return Err(StatsError::TooSmall { len });
        }
        let version = seg.read_u64(HDR_VERSION).ok_or(StatsError::TooSmall { len })?;
        if version != SEGMENT_VERSION {
            return Err(StatsError::BadVersion { found: version });
        }
        let base = seg.read_u64(HDR_BASE).ok_or(StatsError::TooSmall { len })?;
        Ok(View { seg, base })
    }

    fn u64_at(&self, offset: usize, what: &str) -> Result<u64, StatsError> {
        self.seg
            .read_u64(offset)
            .ok_or_else(|| StatsError::corrupt(format!("{what} at offset {offset} is outside the segment")))
    }

    /// Translates a VPP pointer into a segment offset; `None` for a null
    /// pointer.
    pub fn translate(&self, ptr: u64, what: &str) -> Result<Option<usize>, StatsError> {
        if ptr == 0 {
            return Ok(None);
        }
        let off = ptr
            .checked_sub(self.base)
            .and_then(|o| usize::try_from(o).ok())
            .filter(|&o| o > 0 && o < self.seg.len())
            .ok_or_else(|| {
                StatsError::corrupt(format!(
                    "{what} pointer {ptr:#x} is outside the segment (base {:#x}, {} bytes)",
                    self.base,
                    self.seg.len()
                ))
            })?;
        Ok(Some(off))
    }

    /// The vector `ptr` points at, with `elt`-byte elements; `None` for a
    /// null pointer.
    pub fn vector(&self, ptr: u64, elt: usize, what: &str) -> Result<Option<Vector>, StatsError> {
        let Some(offset) = self.translate(ptr, what)? else {
            return Ok(None);
        };
        let len =
            offset.checked_sub(VEC_LEN_OFFSET).and_then(|at| self.seg.read_u32(at)).ok_or_else(|| {
                StatsError::corrupt(format!("{what} vector header at offset {offset} is outside the segment"))
            })?;
        let len = len as usize;
        len.checked_mul(elt).and_then(|bytes| checked_range(offset, bytes, self.seg.len())).ok_or_else(
            || {
                StatsError::corrupt(format!(
                    "{what} vector of {len} elements of {elt} bytes at offset {offset} overruns the segment"
                ))
            },
        )?;
        Ok(Some(Vector { offset, len, elt }))
    }

    /// The directory vector (empty while VPP has not published one).
    pub fn directory(&self) -> Result<Vector, StatsError> {
        let ptr = self.u64_at(HDR_DIRECTORY, "directory pointer")?;
        Ok(self.vector(ptr, ENTRY_SIZE, "directory")?.unwrap_or(Vector::EMPTY))
    }

    pub fn entry(&self, dir: &Vector, index: u32) -> Result<RawEntry, StatsError> {
        let i = index as usize;
        if i >= dir.len {
            return Err(StatsError::corrupt(format!(
                "directory index {index} is beyond the {} entries",
                dir.len
            )));
        }
        let at = dir.at(i);
        let code = self
            .seg
            .read_u32(at + ENTRY_TYPE)
            .ok_or_else(|| StatsError::corrupt(format!("directory entry {index} is outside the segment")))?;
        let mut entry =
            RawEntry { kind: EntryType::from_code(code), union: [0; 8], name: [0; ENTRY_NAME_LEN] };
        if !self.seg.read_bytes(at + ENTRY_UNION, &mut entry.union)
            || !self.seg.read_bytes(at + ENTRY_NAME, &mut entry.name)
        {
            return Err(StatsError::corrupt(format!("directory entry {index} is outside the segment")));
        }
        Ok(entry)
    }

    /// The per-thread pointer vector of a counter entry, each translated
    /// into an optional vector of `elt`-byte elements.
    fn per_thread(&self, entry: &RawEntry, elt: usize) -> Result<Vec<Option<Vector>>, StatsError> {
        let name = entry.name();
        let Some(threads) = self.vector(entry.value(), 8, &name)? else {
            return Ok(Vec::new());
        };
        if threads.len > MAX_THREADS {
            return Err(StatsError::corrupt(format!(
                "{name:?} has {} per-thread vectors (more than {MAX_THREADS})",
                threads.len
            )));
        }
        let mut out = Vec::with_capacity(threads.len);
        let mut total = 0usize;
        for t in 0..threads.len {
            let ptr = self.u64_at(threads.at(t), "per-thread pointer")?;
            let v = self.vector(ptr, elt, &name)?;
            if let Some(v) = &v {
                // Real per-thread vectors are disjoint, so together they fit
                // in the segment; this also bounds the work of a full read.
                total = total.saturating_add(v.len * v.elt);
                if total > self.seg.len() {
                    return Err(StatsError::corrupt(format!(
                        "{name:?}: per-thread vectors add up to more than the segment"
                    )));
                }
            }
            out.push(v);
        }
        Ok(out)
    }

    /// `Σ_thread counter[thread][index]` of a simple counter (a missing
    /// element counts as 0).
    pub fn simple_sum(&self, entry: &RawEntry, index: usize) -> Result<u64, StatsError> {
        let mut sum = 0u64;
        for v in self.per_thread(entry, 8)?.into_iter().flatten() {
            if index < v.len {
                sum = sum.wrapping_add(self.u64_at(v.at(index), "counter")?);
            }
        }
        Ok(sum)
    }

    pub fn combined_sum(&self, entry: &RawEntry, index: usize) -> Result<Combined, StatsError> {
        let mut sum = Combined::default();
        for v in self.per_thread(entry, 16)?.into_iter().flatten() {
            if index < v.len {
                sum = sum.wrapping_add(self.combined_at(v.at(index))?);
            }
        }
        Ok(sum)
    }

    fn combined_at(&self, at: usize) -> Result<Combined, StatsError> {
        Ok(Combined {
            packets: self.u64_at(at, "packet counter")?,
            bytes: self.u64_at(at + 8, "byte counter")?,
        })
    }

    /// Per-index sums over threads of a whole simple counter vector.
    pub fn simple_all(&self, entry: &RawEntry) -> Result<Vec<u64>, StatsError> {
        let threads = self.per_thread(entry, 8)?;
        let n = threads.iter().flatten().map(|v| v.len).max().unwrap_or(0);
        let mut out = vec![0u64; n];
        for v in threads.into_iter().flatten() {
            for (i, slot) in out.iter_mut().enumerate().take(v.len) {
                *slot = slot.wrapping_add(self.u64_at(v.at(i), "counter")?);
            }
        }
        Ok(out)
    }

    pub fn combined_all(&self, entry: &RawEntry) -> Result<Vec<Combined>, StatsError> {
        let threads = self.per_thread(entry, 16)?;
        let n = threads.iter().flatten().map(|v| v.len).max().unwrap_or(0);
        let mut out = vec![Combined::default(); n];
        for v in threads.into_iter().flatten() {
            for (i, slot) in out.iter_mut().enumerate().take(v.len) {
                *slot = slot.wrapping_add(self.combined_at(v.at(i))?);
            }
        }
        Ok(out)
    }

    /// The strings of a name vector; `None` for unused slots.
    pub fn names(&self, entry: &RawEntry) -> Result<Vec<Option<String>>, StatsError> {
        let name = entry.name();
        let Some(outer) = self.vector(entry.value(), 8, &name)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(outer.len);
        let mut total = 0usize;
        for i in 0..outer.len {
            let ptr = self.u64_at(outer.at(i), "name pointer")?;
            let Some(s) = self.vector(ptr, 1, &name)? else {
                out.push(None);
                continue;
            };
            total = total.saturating_add(s.len);
            if total > self.seg.len() {
                return Err(StatsError::corrupt(format!(
                    "{name:?}: strings add up to more than the segment"
                )));
            }
            let mut bytes = vec![0u8; s.len];
            if !self.seg.read_bytes(s.offset, &mut bytes) {
                return Err(StatsError::corrupt(format!("{name:?}: string {i} is outside the segment")));
            }
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            bytes.truncate(end);
            out.push(Some(String::from_utf8_lossy(&bytes).into_owned()));
        }
        Ok(out)
    }
}
