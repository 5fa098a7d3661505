//! What a reader asks for ([`Query`]) and gets back ([`Value`],
//! [`Snapshot`]), and the evaluation of one query against a view.

use std::collections::HashMap;

use super::directory::{RawEntry, Vector, View};
use super::error::StatsError;
use super::layout::EntryType;
use super::segment::Segment;

/// A combined counter value: packets and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Combined {
    pub packets: u64,
    pub bytes: u64,
}

impl Combined {
    pub(crate) fn wrapping_add(self, other: Combined) -> Combined {
        Combined {
            packets: self.packets.wrapping_add(other.packets),
            bytes: self.bytes.wrapping_add(other.bytes),
        }
    }
}

impl From<Combined> for (u64, u64) {
    fn from(c: Combined) -> (u64, u64) {
        (c.packets, c.bytes)
    }
}

/// One item of a batch read ([`StatsClient::read`](super::StatsClient::read)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Query {
    /// A scalar or gauge entry (`/sys/heartbeat`, `/sys/boottime`, ...).
    Scalar(String),
    /// Σ over threads of `entry[thread][index]` of a simple counter.
    SimpleSum { name: String, index: u32 },
    /// Σ over threads of `entry[thread][index]` of a combined counter.
    CombinedSum { name: String, index: u32 },
    /// Whatever the entry holds (see [`Value`]); symlinks are resolved.
    Entry(String),
}

impl Query {
    pub fn scalar(name: impl Into<String>) -> Query {
        Query::Scalar(name.into())
    }
    pub fn simple(name: impl Into<String>, index: u32) -> Query {
        Query::SimpleSum { name: name.into(), index }
    }
    pub fn combined(name: impl Into<String>, index: u32) -> Query {
        Query::CombinedSum { name: name.into(), index }
    }
    pub fn entry(name: impl Into<String>) -> Query {
        Query::Entry(name.into())
    }

    pub fn name(&self) -> &str {
        match self {
            Query::Scalar(n) | Query::Entry(n) => n,
            Query::SimpleSum { name, .. } | Query::CombinedSum { name, .. } => name,
        }
    }
}

/// A value read from the segment. Counter values are summed over threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A scalar or gauge.
    Scalar(u64),
    /// One index of a simple counter (or a symlink to one).
    Counter(u64),
    /// One index of a combined counter (or a symlink to one).
    Combined(Combined),
    /// A whole simple counter vector, per index.
    Counters(Vec<u64>),
    /// A whole combined counter vector, per index.
    CombinedCounters(Vec<Combined>),
    /// A name vector; `None` for unused slots.
    Names(Vec<Option<String>>),
    /// An entry type this reader does not interpret.
    Opaque { type_code: u32 },
}

/// The results of one batch read, all taken under the same epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub(crate) epoch: u64,
    pub(crate) results: Vec<Result<Value, StatsError>>,
}

impl Snapshot {
    /// The segment epoch all values were read under.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Results in query order; entry-level errors (`NotFound`, `WrongType`)
    /// appear here per query.
    pub fn results(&self) -> &[Result<Value, StatsError>] {
        &self.results
    }

    pub fn get(&self, i: usize) -> Option<&Result<Value, StatsError>> {
        self.results.get(i)
    }

    pub fn len(&self) -> usize {
        self.results.len()
    }

    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }

    fn value(&self, i: usize) -> Result<&Value, StatsError> {
        match self.results.get(i) {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(e.clone()),
            None => Err(StatsError::invalid(format!("snapshot has no result {i}"))),
        }
    }

    /// Result `i` as a scalar (from `Query::Scalar`).
    pub fn scalar(&self, i: usize) -> Result<u64, StatsError> {
        match self.value(i)? {
            Value::Scalar(v) | Value::Counter(v) => Ok(*v),
            other => Err(mismatch(i, "scalar", other)),
        }
    }

    /// Result `i` as a summed simple counter (from `Query::SimpleSum`).
    pub fn counter(&self, i: usize) -> Result<u64, StatsError> {
        match self.value(i)? {
            Value::Counter(v) => Ok(*v),
            other => Err(mismatch(i, "simple counter", other)),
        }
    }

    /// Result `i` as a summed combined counter (from `Query::CombinedSum`).
    pub fn combined(&self, i: usize) -> Result<Combined, StatsError> {
        match self.value(i)? {
            Value::Combined(v) => Ok(*v),
            other => Err(mismatch(i, "combined counter", other)),
        }
    }
}

fn mismatch(i: usize, expected: &'static str, found: &Value) -> StatsError {
    StatsError::WrongType { name: format!("result {i}"), expected, found: format!("{found:?}") }
}

/// Name → directory index, valid for one epoch.
#[derive(Debug, Clone, Default)]
pub(crate) struct NameIndex {
    pub epoch: u64,
    pub map: HashMap<String, u32>,
    /// Names in directory order (free slots left out).
    pub entries: Vec<(String, EntryType)>,
}

impl NameIndex {
    pub fn build<S: Segment + ?Sized>(
        view: &View<'_, S>,
        dir: &Vector,
        epoch: u64,
    ) -> Result<NameIndex, StatsError> {
        let mut index = NameIndex { epoch, ..NameIndex::default() };
        for i in 0..dir.len {
            let i =
                u32::try_from(i).map_err(|_| StatsError::corrupt("directory longer than 2^32 entries"))?;
            let entry = view.entry(dir, i)?;
            if matches!(entry.kind, EntryType::Empty | EntryType::Illegal) || entry.name_bytes().is_empty() {
                continue;
            }
            let name = entry.name();
            // VPP refuses duplicate names; keep the first if a writer did not.
            if !index.map.contains_key(&name) {
                index.map.insert(name.clone(), i);
                index.entries.push((name, entry.kind));
            }
        }
        Ok(index)
    }
}

fn lookup<S: Segment + ?Sized>(
    view: &View<'_, S>,
    dir: &Vector,
    names: &NameIndex,
    name: &str,
) -> Result<RawEntry, StatsError> {
    let i = *names.map.get(name).ok_or_else(|| StatsError::NotFound { name: name.into() })?;
    view.entry(dir, i)
}

fn wrong(name: &str, expected: &'static str, kind: EntryType) -> StatsError {
    StatsError::WrongType { name: name.into(), expected, found: kind.describe() }
}

/// Follows a symlink to (target entry, column); symlinks to symlinks are
/// refused (VPP never makes them, and refusing them rules out loops).
fn resolve_symlink<S: Segment + ?Sized>(
    view: &View<'_, S>,
    dir: &Vector,
    name: &str,
    link: &RawEntry,
) -> Result<(RawEntry, usize), StatsError> {
    let (target, column) = link.symlink();
    let entry = view.entry(dir, target)?;
    if entry.kind == EntryType::Symlink {
        return Err(StatsError::corrupt(format!("symlink {name:?} points at another symlink")));
    }
    Ok((entry, column as usize))
}

/// Evaluates one query. Entry-level problems are `NotFound`/`WrongType`;
/// anything else means the attempt must be retried or failed as a whole.
pub(crate) fn eval<S: Segment + ?Sized>(
    view: &View<'_, S>,
    dir: &Vector,
    names: &NameIndex,
    query: &Query,
) -> Result<Value, StatsError> {
    let name = query.name();
    let entry = lookup(view, dir, names, name)?;
    match query {
        Query::Scalar(_) => match entry.kind {
            EntryType::ScalarIndex | EntryType::Gauge => Ok(Value::Scalar(entry.value())),
            other => Err(wrong(name, "scalar", other)),
        },
        Query::SimpleSum { index, .. } => match entry.kind {
            EntryType::CounterVectorSimple => Ok(Value::Counter(view.simple_sum(&entry, *index as usize)?)),
            other => Err(wrong(name, "simple counter", other)),
        },
        Query::CombinedSum { index, .. } => match entry.kind {
            EntryType::CounterVectorCombined => {
                Ok(Value::Combined(view.combined_sum(&entry, *index as usize)?))
            }
            other => Err(wrong(name, "combined counter", other)),
        },
        Query::Entry(_) => match entry.kind {
            EntryType::ScalarIndex | EntryType::Gauge => Ok(Value::Scalar(entry.value())),
            EntryType::CounterVectorSimple => Ok(Value::Counters(view.simple_all(&entry)?)),
            EntryType::CounterVectorCombined => Ok(Value::CombinedCounters(view.combined_all(&entry)?)),
            EntryType::NameVector => Ok(Value::Names(view.names(&entry)?)),
            EntryType::Symlink => {
                let (target, column) = resolve_symlink(view, dir, name, &entry)?;
                match target.kind {
                    EntryType::CounterVectorSimple => Ok(Value::Counter(view.simple_sum(&target, column)?)),
                    EntryType::CounterVectorCombined => {
                        Ok(Value::Combined(view.combined_sum(&target, column)?))
                    }
                    other => Ok(Value::Opaque { type_code: other.code() }),
                }
            }
            other => Ok(Value::Opaque { type_code: other.code() }),
        },
    }
}
