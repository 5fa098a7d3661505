//! `SegmentWriter`: builds and updates a stats segment in VPP's exact
//! layout, for vppsim and for tests.
//!
//! Layout: shared header at 0, heap from 4096, a fake VPP base address in
//! `base` (every stored pointer is `base + offset`), vectors with a 16-byte
//! header (heap pointer at -16, `u32 len` at -8), a directory vector of
//! 144-byte entries whose entries 0/1/2 are `/sys/last_stats_clear`,
//! `/sys/heartbeat` and `/sys/boottime`.
//!
//! Structural changes (adding/removing entries, growing vectors) run under
//! VPP's lock protocol: `in_progress = 1`, change, `epoch += 1`,
//! `in_progress = 0` (release). Counter and scalar values are updated in
//! place with single aligned 64-bit atomic stores and no epoch change.
//!
//! Thread safety: value updates take `&self`, structural changes `&mut
//! self`; share a writer between threads behind a `Mutex`.

use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::StatsError;
use super::heap::{Block, Heap};
use super::layout::*;
use super::mapping::{ReadOnlyMapping, WritableMapping};
use super::segment::{MemorySegment, Segment, WordStore};

/// The address VPP's segment is pretended to be mapped at.
pub const DEFAULT_BASE: u64 = 0x7f00_0000_0000;

/// Bytes of the vector header the writer puts before element 0.
const VEC_HEADER: usize = 16;
const INITIAL_DIRECTORY_CAPACITY: usize = 64;

/// How to build a segment.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Segment size in bytes (rounded up to a page for a memfd).
    pub size: usize,
    /// Number of threads (main + workers): the first dimension of counters.
    pub threads: usize,
    /// `/sys/boottime`, Unix seconds.
    pub boottime: u64,
    /// The fake VPP base address stored in the header.
    pub base: u64,
}

impl Default for WriterConfig {
    /// 8 MiB, 2 threads (main + 1 worker), boottime = now.
    fn default() -> Self {
        WriterConfig {
            size: 8 << 20,
            threads: 2,
            boottime: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            base: DEFAULT_BASE,
        }
    }
}

/// A directory index handed out by the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(pub u32);

impl EntryId {
    pub const LAST_STATS_CLEAR: EntryId = EntryId(INDEX_LAST_STATS_CLEAR);
    pub const HEARTBEAT: EntryId = EntryId(INDEX_HEARTBEAT);
    pub const BOOTTIME: EntryId = EntryId(INDEX_BOOTTIME);

    pub fn index(self) -> u32 {
        self.0
    }
}

/// A memfd holding a segment, to hand to [`StatsServer`](super::StatsServer)
/// or to map read-only in-process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SegmentHandle {
    fd: Arc<OwnedFd>,
}

impl SegmentHandle {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// A read-only mapping of the segment, as a reader gets it from the socket.
    pub fn map_readonly(&self) -> Result<ReadOnlyMapping, StatsError> {
        let dup = self.fd.try_clone().map_err(|e| StatsError::Os {
            op: "dup the segment memfd".into(),
            errno: nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)),
        })?;
        ReadOnlyMapping::from_fd(dup)
    }
}

/// A vector the writer allocated: its block and element 0's offset.
#[derive(Debug, Clone, Copy)]
struct Vec_ {
    block: Block,
    data: usize,
}

#[derive(Debug)]
struct Counter {
    outer: Vec_,
    inner: Vec<Vec_>,
    len: usize,
    /// Words per element: 1 (simple) or 2 (combined).
    words: usize,
}

#[derive(Debug)]
struct Names {
    outer: Vec_,
    strings: Vec<Option<Vec_>>,
}

#[derive(Debug)]
enum Model {
    Scalar,
    Gauge,
    Simple(Counter),
    Combined(Counter),
    Names(Names),
    Symlink,
    Empty,
}

enum Store {
    Memory(Arc<MemorySegment>),
    Memfd { mapping: WritableMapping, fd: Arc<OwnedFd> },
}

impl Store {
    fn words(&self) -> &dyn WordStore {
        match self {
            Store::Memory(m) => m.as_ref(),
            Store::Memfd { mapping, .. } => mapping,
        }
    }
}

/// Builds and updates a stats segment (see the module docs).
pub struct SegmentWriter {
    store: Store,
    heap: Heap,
    base: u64,
    threads: usize,
    size: usize,
    lock_depth: u32,
    directory: Vec_,
    directory_capacity: usize,
    entries: Vec<(String, Model)>,
    free_slots: Vec<u32>,
    by_name: HashMap<String, u32>,
}

impl SegmentWriter {
    /// A segment in a new memfd (named `vpp-stats`), shareable through
    /// [`handle`](Self::handle).
    pub fn memfd(config: WriterConfig) -> Result<SegmentWriter, StatsError> {
        let (fd, mapping) = WritableMapping::create_memfd(c"vpp-stats", config.size)?;
        Self::build(Store::Memfd { mapping, fd: Arc::new(fd) }, config)
    }

    /// A segment in heap memory, readable in-process through
    /// [`memory`](Self::memory) or copied out with [`to_bytes`](Self::to_bytes).
    pub fn in_memory(config: WriterConfig) -> Result<SegmentWriter, StatsError> {
        Self::build(Store::Memory(Arc::new(MemorySegment::new(config.size))), config)
    }

    fn build(store: Store, config: WriterConfig) -> Result<SegmentWriter, StatsError> {
        if config.threads == 0 || config.threads > MAX_THREADS {
            return Err(StatsError::invalid(format!(
                "thread count {} must be between 1 and {MAX_THREADS}",
                config.threads
            )));
        }
        if !config.base.is_multiple_of(4096) || config.base == 0 {
            return Err(StatsError::invalid(format!("base {:#x} must be page aligned", config.base)));
        }
        let size = store.words().word_count() * 8;
        if size <= HEAP_START {
            return Err(StatsError::invalid(format!("segment size {size} leaves no heap")));
        }
        let mut heap = Heap::new(HEAP_START, size);
        let dir_block = heap.alloc(VEC_HEADER + INITIAL_DIRECTORY_CAPACITY * ENTRY_SIZE)?;
        let mut w = SegmentWriter {
            store,
            heap,
            base: config.base,
            threads: config.threads,
            size,
            lock_depth: 0,
            directory: Vec_ { block: dir_block, data: dir_block.offset + VEC_HEADER },
            directory_capacity: (dir_block.size - VEC_HEADER) / ENTRY_SIZE,
            entries: Vec::new(),
            free_slots: Vec::new(),
            by_name: HashMap::new(),
        };
        w.put(HDR_VERSION, SEGMENT_VERSION)?;
        w.put(HDR_BASE, w.base)?;
        w.put(HDR_EPOCH, 0)?;
        w.put(HDR_IN_PROGRESS, 0)?;
        w.write_vec_header(w.directory, 0)?;
        w.put(HDR_DIRECTORY, w.ptr(w.directory.data))?;
        w.add_scalar("/sys/last_stats_clear", 0)?;
        w.add_scalar("/sys/heartbeat", 0)?;
        w.add_scalar("/sys/boottime", config.boottime)?;
        Ok(w)
    }

    /// The memfd of a [`memfd`](Self::memfd) segment.
    pub fn handle(&self) -> Option<SegmentHandle> {
        match &self.store {
            Store::Memfd { fd, .. } => Some(SegmentHandle { fd: fd.clone() }),
            Store::Memory(_) => None,
        }
    }

    /// The memory of an [`in_memory`](Self::in_memory) segment.
    pub fn memory(&self) -> Option<Arc<MemorySegment>> {
        match &self.store {
            Store::Memory(m) => Some(m.clone()),
            Store::Memfd { .. } => None,
        }
    }

    /// A copy of the segment's current bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let words = self.store.words();
        (0..words.word_count())
            .flat_map(|i| words.load_word(i, Ordering::Relaxed).unwrap_or(0).to_ne_bytes())
            .collect()
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub fn base(&self) -> u64 {
        self.base
    }

    pub fn epoch(&self) -> u64 {
        self.get(HDR_EPOCH).unwrap_or(0)
    }

    /// The entry called `name`, if any.
    pub fn find(&self, name: &str) -> Option<EntryId> {
        self.by_name.get(name).copied().map(EntryId)
    }

    /// Runs `f` as one structural change: readers see either none or all
    /// of what `f` does (one epoch increment at the end), including value
    /// stores, which normally bypass the lock.
    pub fn transaction<R>(&mut self, f: impl FnOnce(&mut SegmentWriter) -> R) -> R {
        self.lock();
        let r = f(self);
        self.unlock();
        r
    }

    // ---- structural changes -------------------------------------------

    pub fn add_scalar(&mut self, name: &str, value: u64) -> Result<EntryId, StatsError> {
        self.add_entry(name, EntryType::ScalarIndex, value, Model::Scalar)
    }

    /// A gauge (type 9, VPP >= 26.02).
    pub fn add_gauge(&mut self, name: &str, value: u64) -> Result<EntryId, StatsError> {
        self.add_entry(name, EntryType::Gauge, value, Model::Gauge)
    }

    /// A simple counter `[thread][index]` with `len` zeroed indices per thread.
    pub fn add_simple_counter(&mut self, name: &str, len: usize) -> Result<EntryId, StatsError> {
        self.check_new_name(name)?;
        self.lock();
        let r = self.new_counter(len, 1).and_then(|c| {
            let ptr = self.ptr(c.outer.data);
            self.add_entry(name, EntryType::CounterVectorSimple, ptr, Model::Simple(c))
        });
        self.unlock();
        r
    }

    /// A combined counter `[thread][index]` of (packets, bytes).
    pub fn add_combined_counter(&mut self, name: &str, len: usize) -> Result<EntryId, StatsError> {
        self.check_new_name(name)?;
        self.lock();
        let r = self.new_counter(len, 2).and_then(|c| {
            let ptr = self.ptr(c.outer.data);
            self.add_entry(name, EntryType::CounterVectorCombined, ptr, Model::Combined(c))
        });
        self.unlock();
        r
    }

    /// A name vector (like `/if/names`); `None` leaves a slot unused.
    pub fn add_name_vector(&mut self, name: &str, names: &[Option<&str>]) -> Result<EntryId, StatsError> {
        self.check_new_name(name)?;
        self.lock();
        let r = self.new_names(names).and_then(|n| {
            let ptr = self.ptr(n.outer.data);
            self.add_entry(name, EntryType::NameVector, ptr, Model::Names(n))
        });
        self.unlock();
        r
    }

    /// A symlink to column `column` of counter `target`.
    pub fn add_symlink(&mut self, name: &str, target: EntryId, column: u32) -> Result<EntryId, StatsError> {
        match self.model(target)? {
            Model::Simple(_) | Model::Combined(_) => {}
            _ => {
                return Err(StatsError::invalid(format!(
                    "symlink {name:?}: target {target:?} is not a counter"
                )))
            }
        }
        let mut union = [0u8; 8];
        union[..4].copy_from_slice(&target.0.to_ne_bytes());
        union[4..].copy_from_slice(&column.to_ne_bytes());
        self.add_entry(name, EntryType::Symlink, u64::from_ne_bytes(union), Model::Symlink)
    }

    /// Frees an entry's slot (type EMPTY, as VPP does); the slot is reused by
    /// the next added entry. The three `/sys` entries cannot be removed.
    pub fn remove_entry(&mut self, id: EntryId) -> Result<(), StatsError> {
        if id.0 <= INDEX_BOOTTIME {
            return Err(StatsError::invalid(format!("entry {} is fixed", id.0)));
        }
        self.model(id)?;
        let slot = id.0 as usize;
        let (name, model) = std::mem::replace(&mut self.entries[slot], (String::new(), Model::Empty));
        self.by_name.remove(&name);
        self.lock();
        let next_free = self.free_slots.last().map(|&s| u64::from(s)).unwrap_or(u64::from(u32::MAX));
        let r = self.write_entry(slot, EntryType::Empty, next_free, "");
        self.unlock();
        match model {
            Model::Simple(c) | Model::Combined(c) => {
                c.inner.iter().for_each(|v| self.heap.free(v.block));
                self.heap.free(c.outer.block);
            }
            Model::Names(n) => {
                n.strings.iter().flatten().for_each(|v| self.heap.free(v.block));
                self.heap.free(n.outer.block);
            }
            _ => {}
        }
        self.free_slots.push(id.0);
        r
    }

    /// Makes `index` valid in every thread's vector of a counter, growing
    /// (and moving) the vectors under the lock if needed. New elements are 0.
    /// (VPP: `vlib_validate_simple_counter` / `_combined_counter`.)
    pub fn validate_counter(&mut self, id: EntryId, index: usize) -> Result<(), StatsError> {
        let (len, words) = match self.model(id)? {
            Model::Simple(c) | Model::Combined(c) => (c.len, c.words),
            _ => return Err(self.not_a(id, "counter")),
        };
        if index < len {
            return Ok(());
        }
        let new_len =
            index.checked_add(1).ok_or_else(|| StatsError::invalid(format!("counter index {index}")))?;
        self.lock();
        let r = self.grow_counter(id, len, new_len, words);
        self.unlock();
        r
    }

    fn grow_counter(
        &mut self,
        id: EntryId,
        len: usize,
        new_len: usize,
        words: usize,
    ) -> Result<(), StatsError> {
        let mut old = Vec::with_capacity(self.threads);
        let outer = match self.model(id)? {
            Model::Simple(c) | Model::Combined(c) => {
                old.extend(c.inner.iter().copied());
                c.outer
            }
            _ => return Err(self.not_a(id, "counter")),
        };
        let mut fresh = Vec::with_capacity(self.threads);
        for (t, v) in old.iter().enumerate() {
            let n = self.alloc_vec(new_len, words * 8)?;
            for w in 0..len * words {
                let value = self.get(v.data + w * 8)?;
                self.put(n.data + w * 8, value)?;
            }
            self.put(outer.data + t * 8, self.ptr(n.data))?;
            fresh.push(n);
        }
        for v in old {
            self.heap.free(v.block);
        }
        if let Some(Model::Simple(c) | Model::Combined(c)) =
            self.entries.get_mut(id.0 as usize).map(|e| &mut e.1)
        {
            c.inner = fresh;
            c.len = new_len;
        }
        Ok(())
    }

    /// Sets string `index` of a name vector, growing the vector if needed.
    pub fn set_name(&mut self, id: EntryId, index: usize, value: &str) -> Result<(), StatsError> {
        if !matches!(self.model(id)?, Model::Names(_)) {
            return Err(self.not_a(id, "name vector"));
        }
        self.lock();
        let r = self.set_name_locked(id, index, value);
        self.unlock();
        r
    }

    fn set_name_locked(&mut self, id: EntryId, index: usize, value: &str) -> Result<(), StatsError> {
        let (outer, mut strings) = match self.entries.get_mut(id.0 as usize).map(|e| &mut e.1) {
            Some(Model::Names(n)) => (n.outer, std::mem::take(&mut n.strings)),
            _ => return Err(self.not_a(id, "name vector")),
        };
        let mut outer = outer;
        if index >= strings.len() {
            let new_len = index + 1;
            let grown = self.alloc_vec(new_len, 8)?;
            for (i, s) in strings.iter().enumerate() {
                let p = s.map(|v| self.ptr(v.data)).unwrap_or(0);
                self.put(grown.data + i * 8, p)?;
            }
            strings.resize(new_len, None);
            self.heap.free(outer.block);
            outer = grown;
            self.put_entry_union(id.0 as usize, self.ptr(outer.data))?;
        }
        let s = self.alloc_string(value)?;
        if let Some(old) = strings[index].replace(s) {
            self.heap.free(old.block);
        }
        self.put(outer.data + index * 8, self.ptr(s.data))?;
        if let Some(Model::Names(n)) = self.entries.get_mut(id.0 as usize).map(|e| &mut e.1) {
            n.outer = outer;
            n.strings = strings;
        }
        Ok(())
    }

    // ---- in-place value updates (no epoch change) ---------------------

    /// Sets a scalar or gauge entry.
    pub fn set_scalar(&self, id: EntryId, value: u64) -> Result<(), StatsError> {
        match self.model(id)? {
            Model::Scalar | Model::Gauge => self.put_entry_union(id.0 as usize, value),
            _ => Err(self.not_a(id, "scalar")),
        }
    }

    /// `/sys/heartbeat += 1`; returns the new value.
    pub fn heartbeat(&self) -> Result<u64, StatsError> {
        let at = self.entry_offset(INDEX_HEARTBEAT as usize) + ENTRY_UNION;
        self.add(at, 1).map(|old| old.wrapping_add(1))
    }

    pub fn set_simple(&self, id: EntryId, thread: usize, index: usize, value: u64) -> Result<(), StatsError> {
        let at = self.element(id, thread, index, 1)?;
        self.put(at, value)
    }

    /// Atomically adds `delta` to `[thread][index]` of a simple counter.
    pub fn add_simple(&self, id: EntryId, thread: usize, index: usize, delta: u64) -> Result<(), StatsError> {
        let at = self.element(id, thread, index, 1)?;
        self.add(at, delta).map(drop)
    }

    pub fn set_combined(
        &self,
        id: EntryId,
        thread: usize,
        index: usize,
        packets: u64,
        bytes: u64,
    ) -> Result<(), StatsError> {
        let at = self.element(id, thread, index, 2)?;
        self.put(at, packets)?;
        self.put(at + 8, bytes)
    }

    /// Atomically adds to `[thread][index]` of a combined counter.
    pub fn add_combined(
        &self,
        id: EntryId,
        thread: usize,
        index: usize,
        packets: u64,
        bytes: u64,
    ) -> Result<(), StatsError> {
        let at = self.element(id, thread, index, 2)?;
        self.add(at, packets)?;
        self.add(at + 8, bytes).map(drop)
    }

    /// Zeroes index `index` of a counter in every thread (VPP does this when
    /// an object, e.g. a VIP, is created in a reused slot).
    pub fn zero_counter(&self, id: EntryId, index: usize) -> Result<(), StatsError> {
        let words = match self.model(id)? {
            Model::Simple(c) | Model::Combined(c) => c.words,
            _ => return Err(self.not_a(id, "counter")),
        };
        for t in 0..self.threads {
            let at = self.element(id, t, index, words)?;
            for w in 0..words {
                self.put(at + w * 8, 0)?;
            }
        }
        Ok(())
    }

    /// Length (indices per thread) of a counter.
    pub fn counter_len(&self, id: EntryId) -> Result<usize, StatsError> {
        match self.model(id)? {
            Model::Simple(c) | Model::Combined(c) => Ok(c.len),
            _ => Err(self.not_a(id, "counter")),
        }
    }

    // ---- internals ------------------------------------------------------

    fn lock(&mut self) {
        if self.lock_depth == 0 {
            // Seqlock writer: announce, then make every later store of the
            // change ordered after the announcement.
            self.store().store_word(HDR_IN_PROGRESS / 8, 1, Ordering::Relaxed);
            fence(Ordering::Release);
        }
        self.lock_depth += 1;
    }

    fn unlock(&mut self) {
        self.lock_depth = self.lock_depth.saturating_sub(1);
        if self.lock_depth == 0 {
            let epoch = self.epoch().wrapping_add(1);
            self.store().store_word(HDR_EPOCH / 8, epoch, Ordering::Release);
            self.store().store_word(HDR_IN_PROGRESS / 8, 0, Ordering::Release);
        }
    }

    fn store(&self) -> &dyn WordStore {
        self.store.words()
    }

    fn ptr(&self, offset: usize) -> u64 {
        self.base + offset as u64
    }

    fn put(&self, offset: usize, value: u64) -> Result<(), StatsError> {
        if offset.is_multiple_of(8) && self.store().store_word(offset / 8, value, Ordering::Relaxed) {
            Ok(())
        } else {
            Err(StatsError::invalid(format!("write at offset {offset} outside the segment")))
        }
    }

    fn get(&self, offset: usize) -> Result<u64, StatsError> {
        self.store()
            .load_word(offset / 8, Ordering::Relaxed)
            .filter(|_| offset.is_multiple_of(8))
            .ok_or_else(|| StatsError::invalid(format!("read at offset {offset} outside the segment")))
    }

    fn add(&self, offset: usize, delta: u64) -> Result<u64, StatsError> {
        self.store()
            .fetch_add_word(offset / 8, delta, Ordering::Relaxed)
            .filter(|_| offset.is_multiple_of(8))
            .ok_or_else(|| StatsError::invalid(format!("update at offset {offset} outside the segment")))
    }

    /// Writes `bytes` at the 8-aligned `offset`, zero-padding the last word.
    fn put_bytes(&self, offset: usize, bytes: &[u8]) -> Result<(), StatsError> {
        for (i, chunk) in bytes.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.put(offset + i * 8, u64::from_ne_bytes(w))?;
        }
        Ok(())
    }

    fn write_vec_header(&self, v: Vec_, len: usize) -> Result<(), StatsError> {
        let len = u32::try_from(len).map_err(|_| StatsError::invalid(format!("vector length {len}")))?;
        // -16: the heap the vector lives in; -8: len, hdr_size 2 (16 bytes),
        // log2_align 3, not the default heap.
        self.put(v.data - 16, self.base + HEAP_START as u64)?;
        let [a, b, c, d] = len.to_ne_bytes();
        let hdr = u64::from_ne_bytes([a, b, c, d, 2, 3, 0, 0]);
        self.put(v.data - 8, hdr)
    }

    fn alloc_vec(&mut self, len: usize, elt: usize) -> Result<Vec_, StatsError> {
        let bytes = len
            .checked_mul(elt)
            .and_then(|b| b.checked_add(VEC_HEADER))
            .ok_or(StatsError::SegmentFull { needed: usize::MAX, size: self.size })?;
        let block = self.heap.alloc(bytes)?;
        let v = Vec_ { block, data: block.offset + VEC_HEADER };
        self.write_vec_header(v, len)?;
        for w in 0..(len * elt).div_ceil(8) {
            self.put(v.data + w * 8, 0)?;
        }
        Ok(v)
    }

    fn alloc_string(&mut self, s: &str) -> Result<Vec_, StatsError> {
        let mut bytes = s.as_bytes().to_vec();
        bytes.push(0);
        let v = self.alloc_vec(bytes.len(), 1)?;
        self.put_bytes(v.data, &bytes)?;
        Ok(v)
    }

    fn new_counter(&mut self, len: usize, words: usize) -> Result<Counter, StatsError> {
        let outer = self.alloc_vec(self.threads, 8)?;
        let mut inner = Vec::with_capacity(self.threads);
        for t in 0..self.threads {
            let v = self.alloc_vec(len, words * 8)?;
            self.put(outer.data + t * 8, self.ptr(v.data))?;
            inner.push(v);
        }
        Ok(Counter { outer, inner, len, words })
    }

    fn new_names(&mut self, names: &[Option<&str>]) -> Result<Names, StatsError> {
        let outer = self.alloc_vec(names.len(), 8)?;
        let mut strings = Vec::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            match n {
                Some(s) => {
                    let v = self.alloc_string(s)?;
                    self.put(outer.data + i * 8, self.ptr(v.data))?;
                    strings.push(Some(v));
                }
                None => strings.push(None),
            }
        }
        Ok(Names { outer, strings })
    }

    fn check_new_name(&self, name: &str) -> Result<(), StatsError> {
        if name.is_empty() || name.len() >= ENTRY_NAME_LEN || name.as_bytes().contains(&0) {
            return Err(StatsError::invalid(format!(
                "entry name {name:?} must be 1..{} bytes without NUL",
                ENTRY_NAME_LEN - 1
            )));
        }
        if self.by_name.contains_key(name) {
            return Err(StatsError::invalid(format!("entry {name:?} exists already")));
        }
        Ok(())
    }

    fn entry_offset(&self, slot: usize) -> usize {
        self.directory.data + slot * ENTRY_SIZE
    }

    fn put_entry_union(&self, slot: usize, value: u64) -> Result<(), StatsError> {
        self.put(self.entry_offset(slot) + ENTRY_UNION, value)
    }

    fn write_entry(&self, slot: usize, kind: EntryType, union: u64, name: &str) -> Result<(), StatsError> {
        let at = self.entry_offset(slot);
        self.put(at + ENTRY_TYPE, u64::from(kind.code()))?;
        self.put(at + ENTRY_UNION, union)?;
        let mut field = [0u8; ENTRY_NAME_LEN];
        field[..name.len()].copy_from_slice(name.as_bytes());
        self.put_bytes(at + ENTRY_NAME, &field)
    }

    fn add_entry(
        &mut self,
        name: &str,
        kind: EntryType,
        union: u64,
        model: Model,
    ) -> Result<EntryId, StatsError> {
        self.check_new_name(name)?;
        self.lock();
        let r = self.add_entry_locked(name, kind, union, model);
        self.unlock();
        r
    }

    fn add_entry_locked(
        &mut self,
        name: &str,
        kind: EntryType,
        union: u64,
        model: Model,
    ) -> Result<EntryId, StatsError> {
        let slot = match self.free_slots.pop() {
            Some(s) => s as usize,
            None => {
                let slot = self.entries.len();
                if slot == self.directory_capacity {
                    self.grow_directory()?;
                }
                self.write_vec_header(self.directory, slot + 1)?;
                self.entries.push((String::new(), Model::Empty));
                slot
            }
        };
        self.write_entry(slot, kind, union, name)?;
        let id = u32::try_from(slot).map_err(|_| StatsError::invalid("directory full"))?;
        self.entries[slot] = (name.to_string(), model);
        self.by_name.insert(name.to_string(), id);
        Ok(EntryId(id))
    }

    fn grow_directory(&mut self) -> Result<(), StatsError> {
        let len = self.entries.len();
        let cap = self.directory_capacity * 2;
        let block = self.heap.alloc(VEC_HEADER + cap * ENTRY_SIZE)?;
        let new = Vec_ { block, data: block.offset + VEC_HEADER };
        self.write_vec_header(new, len)?;
        for w in 0..len * ENTRY_SIZE / 8 {
            let v = self.get(self.directory.data + w * 8)?;
            self.put(new.data + w * 8, v)?;
        }
        self.put(HDR_DIRECTORY, self.ptr(new.data))?;
        self.heap.free(self.directory.block);
        self.directory = new;
        self.directory_capacity = (block.size - VEC_HEADER) / ENTRY_SIZE;
        Ok(())
    }

    fn model(&self, id: EntryId) -> Result<&Model, StatsError> {
        match self.entries.get(id.0 as usize) {
            Some((_, Model::Empty)) | None => Err(StatsError::invalid(format!("no entry {}", id.0))),
            Some((_, m)) => Ok(m),
        }
    }

    fn not_a(&self, id: EntryId, what: &str) -> StatsError {
        let name = self.entries.get(id.0 as usize).map(|e| e.0.as_str()).unwrap_or("?");
        StatsError::invalid(format!("entry {} ({name:?}) is not a {what}", id.0))
    }

    /// Offset of `[thread][index]` of a counter with `words` per element.
    fn element(&self, id: EntryId, thread: usize, index: usize, words: usize) -> Result<usize, StatsError> {
        let c = match self.model(id)? {
            Model::Simple(c) if words == 1 => c,
            Model::Combined(c) if words == 2 => c,
            _ => {
                return Err(self.not_a(id, if words == 1 { "simple counter" } else { "combined counter" }));
            }
        };
        let v = c
            .inner
            .get(thread)
            .ok_or_else(|| StatsError::invalid(format!("thread {thread} >= {} threads", self.threads)))?;
        if index >= c.len {
            return Err(StatsError::invalid(format!(
                "index {index} beyond counter length {} (validate_counter first)",
                c.len
            )));
        }
        Ok(v.data + index * words * 8)
    }
}

impl Segment for SegmentWriter {
    fn len(&self) -> usize {
        self.size
    }
    fn read_u64(&self, offset: usize) -> Option<u64> {
        super::segment::words_read_u64(self.store(), offset)
    }
    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> bool {
        super::segment::words_read_bytes(self.store(), offset, out)
    }
}
