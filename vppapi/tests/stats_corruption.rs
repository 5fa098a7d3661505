//! Corrupt, truncated and changing segments: the reader must return
//! `StatsError` within a bounded time and never panic or hang.

use std::cell::Cell;
use std::time::{Duration, Instant};

use vppapi::stats::layout::{HDR_DIRECTORY, HDR_EPOCH, HDR_IN_PROGRESS, HEAP_START};
use vppapi::stats::{Query, Segment, SegmentWriter, StatsClient, StatsError, Value, WriterConfig};

/// Small under Miri, which interprets every byte access.
const SEGMENT_SIZE: usize = if cfg!(miri) { 32 << 10 } else { 64 << 10 };

fn valid_segment() -> (Vec<u8>, u64) {
    let mut w = SegmentWriter::in_memory(WriterConfig {
        size: SEGMENT_SIZE,
        threads: 2,
        boottime: 77,
        ..WriterConfig::default()
    })
    .unwrap();
    let first = w.add_simple_counter("first session packet", 4).unwrap();
    let route = w.add_combined_counter("/net/route/to", 3).unwrap();
    w.add_name_vector("/if/names", &[Some("local0"), None, Some("tap0")]).unwrap();
    w.add_gauge("/sys/vector_rate", 1).unwrap();
    w.add_symlink("/err/x", first, 1).unwrap();
    for t in 0..2 {
        for i in 0..4 {
            w.set_simple(first, t, i, (t * 10 + i) as u64).unwrap();
        }
        w.set_combined(route, t, 2, 5, 500).unwrap();
    }
    (w.to_bytes(), w.base())
}

/// Everything a reader may do with a segment; errors are fine, panics not.
fn full_read<S: Segment>(seg: S) -> Result<usize, StatsError> {
    let mut c = StatsClient::from_segment(seg)?;
    c.set_timeout(Duration::ZERO);
    let dump = c.dump()?;
    let _ = c.read(&[
        Query::scalar("/sys/boottime"),
        Query::simple("first session packet", 3),
        Query::simple("first session packet", u32::MAX),
        Query::combined("/net/route/to", 2),
        Query::entry("/err/x"),
    ])?;
    Ok(dump.len())
}

#[test]
fn the_valid_segment_reads_fully() {
    let (seg, _) = valid_segment();
    assert_eq!(full_read(seg.clone()).unwrap(), 8);
    let mut c = StatsClient::from_segment(seg).unwrap();
    assert_eq!(c.read_entry("/err/x").unwrap(), Value::Counter(12));
}

#[test]
#[cfg_attr(
    miri,
    ignore = "hundreds of full reads are too slow interpreted; the stats_parse fuzz target covers this"
)]
fn truncated_segments_give_errors() {
    let (seg, _) = valid_segment();
    assert!(matches!(full_read(Vec::new()), Err(StatsError::TooSmall { len: 0 })));
    assert!(matches!(full_read(seg[..39].to_vec()), Err(StatsError::TooSmall { .. })));
    let mut errors = 0;
    for cut in (40..seg.len()).step_by(if cfg!(miri) { 1021 } else { 97 }).chain([
        HEAP_START,
        HEAP_START + 8,
        seg.len() - 1,
    ]) {
        if full_read(&seg[..cut]).is_err() {
            errors += 1;
        }
    }
    assert!(errors >= 5, "truncation must be noticed, got {errors} errors");
}

#[test]
fn wrong_version_is_refused() {
    let (mut seg, _) = valid_segment();
    seg[0] = 1;
    assert!(matches!(StatsClient::from_segment(seg), Err(StatsError::BadVersion { found: 1 })));
}

fn put(seg: &mut [u8], at: usize, v: u64) {
    if let Some(dst) = seg.get_mut(at..at + 8) {
        dst.copy_from_slice(&v.to_ne_bytes());
    }
}

#[test]
fn pointers_outside_the_segment_are_corrupt() {
    let (seg, base) = valid_segment();
    for bad in [1, base - 8, base, base + 1, base + seg.len() as u64, u64::MAX, base + 4] {
        let mut s = seg.clone();
        put(&mut s, HDR_DIRECTORY, bad);
        let r = full_read(s);
        assert!(matches!(r, Err(StatsError::Corrupt { .. })), "directory {bad:#x}: {r:?}");
    }
    // A directory whose length does not fit the segment.
    let mut s = seg.clone();
    let dir = (u64::from_ne_bytes(seg[HDR_DIRECTORY..HDR_DIRECTORY + 8].try_into().unwrap()) - base) as usize;
    s[dir - 8..dir - 4].copy_from_slice(&u32::MAX.to_ne_bytes());
    assert!(matches!(full_read(s), Err(StatsError::Corrupt { .. })));
}

#[test]
#[cfg_attr(miri, ignore = "the sleeping retry loop does not finish in reasonable time interpreted")]
fn stuck_in_progress_is_busy_within_the_timeout() {
    let (mut seg, _) = valid_segment();
    put(&mut seg, HDR_IN_PROGRESS, 1);
    let mut c = StatsClient::from_segment(seg).unwrap();
    c.set_timeout(Duration::from_millis(50));
    let start = Instant::now();
    assert!(matches!(c.boottime(), Err(StatsError::Busy { .. })));
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
}

/// A segment whose epoch changes on every read: never stable.
struct Restless {
    bytes: Vec<u8>,
    epoch: Cell<u64>,
}

impl Segment for Restless {
    fn len(&self) -> usize {
        self.bytes.len()
    }
    fn read_u64(&self, offset: usize) -> Option<u64> {
        if offset == HDR_EPOCH {
            self.epoch.set(self.epoch.get() + 1);
            return Some(self.epoch.get());
        }
        self.bytes.read_u64(offset)
    }
    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> bool {
        self.bytes.read_bytes(offset, out)
    }
}

#[test]
#[cfg_attr(miri, ignore = "the sleeping retry loop does not finish in reasonable time interpreted")]
fn an_ever_changing_epoch_is_unstable_within_the_timeout() {
    let (bytes, _) = valid_segment();
    let mut c = StatsClient::from_segment(Restless { bytes, epoch: Cell::new(0) }).unwrap();
    c.set_timeout(Duration::from_millis(50));
    let start = Instant::now();
    assert!(matches!(c.boottime(), Err(StatsError::Unstable { .. })));
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// Serves image `a` mixed with image `b` during the first attempt (as if
/// the writer restructured the segment mid-read), then `b` at epoch 2.
struct ChangesOnce {
    a: Vec<u8>,
    b: Vec<u8>,
    epoch_reads: Cell<u32>,
    data_reads: Cell<u32>,
}

impl ChangesOnce {
    fn image(&self) -> &Vec<u8> {
        if self.epoch_reads.get() >= 2 {
            return &self.b;
        }
        // First attempt: alternate between the images, a torn read.
        self.data_reads.set(self.data_reads.get() + 1);
        if self.data_reads.get().is_multiple_of(2) {
            &self.a
        } else {
            &self.b
        }
    }
}

impl Segment for ChangesOnce {
    fn len(&self) -> usize {
        self.a.len()
    }
    fn read_u64(&self, offset: usize) -> Option<u64> {
        if offset == HDR_EPOCH {
            self.epoch_reads.set(self.epoch_reads.get() + 1);
            return Some(if self.epoch_reads.get() == 1 { 1 } else { 2 });
        }
        self.image().read_u64(offset)
    }
    fn read_bytes(&self, offset: usize, out: &mut [u8]) -> bool {
        self.image().read_bytes(offset, out)
    }
}

#[test]
fn a_read_torn_by_a_structural_change_is_retried() {
    let build = |len: usize, value: u64| {
        let mut w = SegmentWriter::in_memory(WriterConfig {
            size: SEGMENT_SIZE,
            threads: 2,
            boottime: 1,
            ..WriterConfig::default()
        })
        .unwrap();
        let id = w.add_simple_counter("c", len).unwrap();
        for t in 0..2 {
            for i in 0..len {
                w.set_simple(id, t, i, value).unwrap();
            }
        }
        w.to_bytes()
    };
    let seg =
        ChangesOnce { a: build(2, 1), b: build(9, 5), epoch_reads: Cell::new(0), data_reads: Cell::new(0) };
    let mut c = StatsClient::from_segment(seg).unwrap();
    let snap = c.read(&[Query::entry("c")]).unwrap();
    assert_eq!(snap.epoch(), 2);
    assert_eq!(snap.get(0), Some(&Ok(Value::Counters(vec![10; 9]))));
    assert!(c.segment().epoch_reads.get() >= 3, "the torn attempt was retried");
}

/// Many seeded random mutations of a valid segment. Each mutated segment is
/// read fully; any outcome but a panic or a long stall is acceptable, and
/// both outcomes must occur (the mutations do hit structure).
#[test]
#[cfg_attr(
    miri,
    ignore = "hundreds of full reads are too slow interpreted; the stats_parse fuzz target covers this"
)]
fn random_mutations_never_panic_or_hang() {
    let (seg, base) = valid_segment();
    // Only the first pages are in use; aim mutations there.
    let used = seg.iter().rposition(|&b| b != 0).unwrap_or(0) + 8;
    let mut rng = fastrand::Rng::with_seed(0x5eed_57a7);
    let (mut ok, mut failed) = (0u32, 0u32);
    let mut slowest = Duration::ZERO;
    let rounds = if cfg!(miri) { 40 } else { 4000 };
    for round in 0..rounds {
        let mut s = seg.clone();
        for _ in 0..rng.usize(1..6) {
            // The header, or the heap part in use (the rest is zero padding).
            let at = if rng.u8(0..5) == 0 { rng.usize(0..40) } else { rng.usize(HEAP_START..used) };
            let at = if rng.bool() { at & !7 } else { at };
            let value = match rng.u8(0..9) {
                0 => 0,
                1 => u64::MAX,
                2 => base + rng.u64(0..(seg.len() as u64 + 64)),
                3 => base.wrapping_sub(rng.u64(0..64)),
                4 => rng.u64(0..16),
                5 => u64::from(rng.u32(..)),
                6 => rng.u64(..),
                7 => {
                    // Just one byte.
                    s[at] = rng.u8(..);
                    continue;
                }
                _ => {
                    // A vector length: the u32 before an 8-aligned spot.
                    let at = at & !7;
                    if at >= 8 {
                        s[at - 8..at - 4].copy_from_slice(&rng.u32(..).to_ne_bytes());
                    }
                    continue;
                }
            };
            put(&mut s, at, value);
        }
        let start = Instant::now();
        match full_read(s) {
            Ok(8) => ok += 1,
            _ => failed += 1,
        }
        let took = start.elapsed();
        slowest = slowest.max(took);
        assert!(cfg!(miri) || took < Duration::from_secs(2), "round {round} took {took:?}");
    }
    assert!(ok > rounds / 40 && failed > rounds / 40, "ok {ok}, failed {failed}");
    eprintln!("mutations: {ok} read, {failed} refused, slowest {slowest:?}");
}
