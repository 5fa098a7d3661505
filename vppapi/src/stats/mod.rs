//! VPP's statistics segment (PROTOCOL.md section 4): the reader
//! ([`StatsClient`]), and for vppsim and tests a segment writer
//! ([`SegmentWriter`]) and the stats socket server ([`StatsServer`]).
//!
//! Reading:
//! ```no_run
//! use vppapi::stats::{Query, StatsClient};
//! let mut c = StatsClient::connect("/run/vpp/stats.sock")?;
//! let boot = c.boottime()?;
//! let snap = c.read(&[
//!     Query::simple("first session packet", 1),
//!     Query::combined("/net/route/to", 17),
//! ])?; // both values from the same epoch
//! let first = snap.counter(0)?;
//! let fib = snap.combined(1)?;
//! # Ok::<(), vppapi::stats::StatsError>(())
//! ```
//!
//! Serving (vppsim):
//! ```no_run
//! use vppapi::stats::{SegmentWriter, StatsServer, WriterConfig};
//! let mut w = SegmentWriter::memfd(WriterConfig::default())?;
//! let first = w.add_simple_counter("first session packet", 2)?;
//! let server = StatsServer::start("/tmp/stats.sock", w.handle().expect("memfd"))?;
//! w.add_simple(first, 1, 1, 5)?; // thread 1, VIP index 1, +5
//! w.heartbeat()?;
//! # Ok::<(), vppapi::stats::StatsError>(())
//! ```
//!
//! All `unsafe` code lives in [`mapping`].

mod client;
mod directory;
mod error;
mod heap;
pub mod layout;
pub mod mapping;
mod protocol;
mod query;
mod segment;
mod server;
mod writer;

pub use client::{DumpEntry, StatsClient, DEFAULT_TIMEOUT};
pub use error::StatsError;
pub use layout::EntryType;
pub use mapping::ReadOnlyMapping;
pub use query::{Combined, Query, Snapshot, Value};
pub use segment::{MemorySegment, Segment};
pub use server::StatsServer;
pub use writer::{EntryId, SegmentHandle, SegmentWriter, WriterConfig, DEFAULT_BASE};
