//! Mirrors the simulator's counters into a stats segment in VPP's layout
//! (the crate's `SegmentWriter`): `/sys/boottime`, `/sys/heartbeat`, the
//! four lb counters (registered lazily with the first VIP, under their
//! literal names) indexed `[thread][VIP index]`, and `/net/route/to`
//! indexed `[thread][load-balance index]`. Growing a vector is a structural
//! change under the epoch protocol; values are stored in place.

use vppapi::stats::{EntryId, SegmentHandle, SegmentWriter, StatsError, WriterConfig};

use crate::lb::{LbState, N_THREADS, VIP_COUNTER_NAMES};

pub struct StatsPublisher {
    writer: SegmentWriter,
    lb_counters: Option<[EntryId; 4]>,
    route_to: EntryId,
}

impl StatsPublisher {
    /// A fresh segment in a new memfd, as VPP creates at start.
    pub fn new(boottime: u64) -> Result<Self, StatsError> {
        let config = WriterConfig { threads: N_THREADS, boottime, ..WriterConfig::default() };
        let mut writer = SegmentWriter::memfd(config)?;
        let route_to = writer.add_combined_counter("/net/route/to", 1)?;
        writer.add_gauge("/sys/vector_rate", 0)?;
        Ok(StatsPublisher { writer, lb_counters: None, route_to })
    }

    /// The memfd to hand to stats-socket clients.
    pub fn handle(&self) -> Option<SegmentHandle> {
        self.writer.handle()
    }

    pub fn heartbeat(&self) -> Result<u64, StatsError> {
        self.writer.heartbeat()
    }

    /// Copies every counter of `lb` into the segment.
    pub fn publish(&mut self, lb: &LbState) -> Result<(), StatsError> {
        if self.lb_counters.is_none() && lb.pool_len() > 1 {
            let len = lb.pool_len();
            let ids = self.writer.transaction(|w| -> Result<[EntryId; 4], StatsError> {
                Ok([
                    w.add_simple_counter(VIP_COUNTER_NAMES[0], len)?,
                    w.add_simple_counter(VIP_COUNTER_NAMES[1], len)?,
                    w.add_simple_counter(VIP_COUNTER_NAMES[2], len)?,
                    w.add_simple_counter(VIP_COUNTER_NAMES[3], len)?,
                ])
            })?;
            self.lb_counters = Some(ids);
        }
        if let Some(ids) = self.lb_counters {
            let counters = lb.vip_counters();
            for (k, id) in ids.iter().enumerate() {
                if !counters.is_empty() {
                    self.writer.validate_counter(*id, counters.len() - 1)?;
                }
                for (index, per_thread) in counters.iter().enumerate() {
                    for (thread, row) in per_thread.iter().enumerate() {
                        self.writer.set_simple(*id, thread, index, row[k])?;
                    }
                }
            }
        }
        let routes = lb.fib.to_counters();
        if !routes.is_empty() {
            self.writer.validate_counter(self.route_to, routes.len() - 1)?;
        }
        for (index, per_thread) in routes.iter().enumerate() {
            for (thread, c) in per_thread.iter().enumerate() {
                self.writer.set_combined(self.route_to, thread, index, c.packets, c.bytes)?;
            }
        }
        Ok(())
    }
}
