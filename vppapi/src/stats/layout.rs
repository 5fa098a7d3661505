//! VPP's stats-segment layout (`src/vlib/stats/shared.h`, VPP >= 22.06):
//! offsets, sizes and the directory entry types.

/// `STAT_SEGMENT_VERSION`.
pub const SEGMENT_VERSION: u64 = 2;

/// Offsets of the shared header words (`vlib_stats_shared_header_t`).
pub const HDR_VERSION: usize = 0;
pub const HDR_BASE: usize = 8;
pub const HDR_EPOCH: usize = 16;
pub const HDR_IN_PROGRESS: usize = 24;
pub const HDR_DIRECTORY: usize = 32;
/// Bytes of the shared header a reader needs.
pub const HEADER_LEN: usize = 40;

/// VPP's allocation heap starts one page into the segment.
pub const HEAP_START: usize = 4096;

/// Size of one `vlib_stats_entry_t`.
pub const ENTRY_SIZE: usize = 144;
/// Offsets inside a directory entry.
pub const ENTRY_TYPE: usize = 0;
pub const ENTRY_UNION: usize = 8;
pub const ENTRY_NAME: usize = 16;
/// `char name[128]`, NUL-terminated, so at most 127 name bytes.
pub const ENTRY_NAME_LEN: usize = 128;

/// The `u32 len` of a vector sits this many bytes before element 0.
pub const VEC_LEN_OFFSET: usize = 8;

/// Directory indices VPP fixes at start-up (`STAT_COUNTER_*`).
pub const INDEX_LAST_STATS_CLEAR: u32 = 0;
pub const INDEX_HEARTBEAT: u32 = 1;
pub const INDEX_BOOTTIME: u32 = 2;

/// No VPP runs anywhere near this many threads; a larger per-thread vector
/// means the segment is corrupt (and bounds the work of one read).
pub const MAX_THREADS: usize = 1024;

/// `stat_directory_type_t` (numbering of VPP >= 22.06).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryType {
    Illegal,
    ScalarIndex,
    CounterVectorSimple,
    CounterVectorCombined,
    NameVector,
    Empty,
    Symlink,
    HistogramLog2,
    RingBuffer,
    Gauge,
    /// A type this reader does not know; treated as opaque.
    Unknown(u32),
}

impl EntryType {
    pub fn from_code(code: u32) -> EntryType {
        match code {
            0 => EntryType::Illegal,
            1 => EntryType::ScalarIndex,
            2 => EntryType::CounterVectorSimple,
            3 => EntryType::CounterVectorCombined,
            4 => EntryType::NameVector,
            5 => EntryType::Empty,
            6 => EntryType::Symlink,
            7 => EntryType::HistogramLog2,
            8 => EntryType::RingBuffer,
            9 => EntryType::Gauge,
            other => EntryType::Unknown(other),
        }
    }

    pub fn code(self) -> u32 {
        match self {
            EntryType::Illegal => 0,
            EntryType::ScalarIndex => 1,
            EntryType::CounterVectorSimple => 2,
            EntryType::CounterVectorCombined => 3,
            EntryType::NameVector => 4,
            EntryType::Empty => 5,
            EntryType::Symlink => 6,
            EntryType::HistogramLog2 => 7,
            EntryType::RingBuffer => 8,
            EntryType::Gauge => 9,
            EntryType::Unknown(code) => code,
        }
    }

    /// A short human name, used in error messages.
    pub fn describe(self) -> String {
        match self {
            EntryType::Illegal => "illegal entry".into(),
            EntryType::ScalarIndex => "scalar".into(),
            EntryType::CounterVectorSimple => "simple counter".into(),
            EntryType::CounterVectorCombined => "combined counter".into(),
            EntryType::NameVector => "name vector".into(),
            EntryType::Empty => "free slot".into(),
            EntryType::Symlink => "symlink".into(),
            EntryType::HistogramLog2 => "log2 histogram".into(),
            EntryType::RingBuffer => "ring buffer".into(),
            EntryType::Gauge => "gauge".into(),
            EntryType::Unknown(code) => format!("entry of unknown type {code}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_codes_round_trip() {
        for code in 0..12 {
            assert_eq!(EntryType::from_code(code).code(), code);
        }
        assert_eq!(EntryType::from_code(9), EntryType::Gauge);
        assert_eq!(EntryType::from_code(6), EntryType::Symlink);
    }
}
