//! The simulated VPP as a whole: lb state, message table, version, client
//! registrations, stats segment. One `Sim` lives behind a mutex; API
//! handlers, the ticker and the control socket all go through it.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use vppapi::stats::{StatsError, StatsServer};

use crate::cli::VersionInfo;
use crate::ip46::format_prefix;
use crate::lb::LbState;
use crate::msgtable::MessageTable;
use crate::stats_publish::StatsPublisher;
use crate::traffic;
use crate::wire_forms::Mode;

/// `SOCK_API_REG_HANDLE_BIT`: socket client handles have bit 31 set.
const HANDLE_BIT: u32 = 0x8000_0000;

/// Seconds between garbage-collection passes (VPP master's lb GC period).
const GC_INTERVAL_S: u64 = 60;

/// Socket registrations: a pool whose slot 0 is the listening socket, so
/// the first client is `0x80000001`; freed slots are reused.
#[derive(Debug, Default)]
struct Registrations {
    used: Vec<bool>,
}

impl Registrations {
    fn alloc(&mut self) -> u32 {
        if self.used.is_empty() {
            self.used.push(true);
        }
        let slot = match self.used.iter().position(|u| !u) {
            Some(slot) => {
                self.used[slot] = true;
                slot
            }
            None => {
                self.used.push(true);
                self.used.len() - 1
            }
        };
        HANDLE_BIT | slot as u32
    }

    fn free(&mut self, handle: u32) {
        let slot = (handle & !HANDLE_BIT) as usize;
        if handle & HANDLE_BIT != 0 && slot != 0 {
            if let Some(u) = self.used.get_mut(slot) {
                *u = false;
            }
        }
    }

    fn is_registered(&self, handle: u32) -> bool {
        let slot = (handle & !HANDLE_BIT) as usize;
        handle & HANDLE_BIT != 0 && slot != 0 && self.used.get(slot).copied().unwrap_or(false)
    }
}

pub struct Sim {
    pub lb: LbState,
    pub mode: Mode,
    pub table: MessageTable,
    pub version: VersionInfo,
    pub pid: u32,
    pub boottime: u64,
    pub traffic: bool,
    /// VIP prefixes (`192.0.2.1/32`) whose `show lb vips verbose` header
    /// line is garbled, so that a parser cannot read it (control `garble`).
    pub garbled: Vec<String>,
    /// Bumped by every restart; connections of an older generation close.
    pub generation: u64,
    /// Ticker second of the last garbage collection.
    last_gc: u64,
    registrations: Registrations,
    stats: StatsPublisher,
    stats_server: StatsServer,
    rng: fastrand::Rng,
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl Sim {
    pub fn new(
        mode: Mode,
        version: VersionInfo,
        traffic: bool,
        stats_socket: &std::path::Path,
    ) -> Result<Self, StatsError> {
        let boottime = unix_now();
        let stats = StatsPublisher::new(boottime)?;
        let handle = stats
            .handle()
            .ok_or_else(|| StatsError::InvalidArgument { what: "stats segment has no memfd".into() })?;
        let stats_server = StatsServer::start(stats_socket, handle)?;
        Ok(Sim {
            lb: LbState::default(),
            mode,
            table: MessageTable::new(mode == Mode::Legacy),
            version,
            pid: std::process::id(),
            boottime,
            traffic,
            garbled: Vec::new(),
            generation: 0,
            last_gc: 0,
            registrations: Registrations::default(),
            stats,
            stats_server,
            rng: fastrand::Rng::with_seed(0x5eed),
        })
    }

    pub fn register_client(&mut self) -> u32 {
        self.registrations.alloc()
    }

    pub fn unregister_client(&mut self, handle: u32) {
        self.registrations.free(handle);
    }

    pub fn is_registered(&self, handle: u32) -> bool {
        self.registrations.is_registered(handle)
    }

    /// Copies the counters into the stats segment; a failure (segment full)
    /// is logged, the API keeps working.
    pub fn publish_stats(&mut self) {
        if let Err(e) = self.stats.publish(&self.lb) {
            log::error!("stats segment update failed: {e}");
        }
    }

    /// Once per second: traffic, (every minute, as VPP master does)
    /// garbage collection, and with `heartbeat` (every stats update
    /// interval) the heartbeat.
    pub fn tick(&mut self, seconds: u64, heartbeat: bool) {
        if heartbeat {
            if let Err(e) = self.stats.heartbeat() {
                log::error!("stats heartbeat failed: {e}");
            }
        }
        if self.traffic {
            traffic::tick(&mut self.lb, &mut self.rng);
        }
        // Legacy VPPs collect only at the end of lb CLI commands.
        if self.mode == Mode::Master && seconds >= self.last_gc + GC_INTERVAL_S {
            self.last_gc = seconds;
            self.lb.collect_garbage(false);
        }
        self.publish_stats();
    }

    /// Forgets every client registration: called when all connections are
    /// closed at once. Their threads see a new generation and neither
    /// answer nor free slots that new clients may already hold.
    pub fn forget_clients(&mut self) {
        self.registrations = Registrations::default();
        self.generation += 1;
    }

    /// A VPP restart: empty lb state, no clients, a new boot time and a new
    /// stats segment (readers of the old one see it frozen).
    pub fn restart(&mut self) -> Result<(), StatsError> {
        let boottime = unix_now().max(self.boottime + 1);
        let stats = StatsPublisher::new(boottime)?;
        let handle = stats
            .handle()
            .ok_or_else(|| StatsError::InvalidArgument { what: "stats segment has no memfd".into() })?;
        self.stats_server.replace_segment(handle);
        self.stats = stats;
        self.boottime = boottime;
        self.lb = LbState::default();
        self.forget_clients();
        // The new VPP's stats collector runs at once.
        if let Err(e) = self.stats.heartbeat() {
            log::error!("stats heartbeat failed: {e}");
        }
        self.publish_stats();
        Ok(())
    }

    /// Compact state for tests: one line per VIP, one per AS under it.
    ///
    /// `vip 1 192.0.2.1/32 proto 6 port 80 ip4-gre4 used table 1024 sticky 0 flushes 0`
    /// `  as 10.0.0.2 weight 100 buckets 512 flows 0 used 1 flushes 0`
    pub fn state_text(&self) -> String {
        let mut out = String::new();
        let c = &self.lb.conf;
        let _ = writeln!(
            out,
            "conf ip4 {} ip6 {} sticky {} timeout {}",
            std::net::Ipv4Addr::from(c.ip4_src_address),
            std::net::Ipv6Addr::from(c.ip6_src_address),
            c.sticky_buckets_per_core,
            c.flow_timeout
        );
        for (index, vip) in self.lb.vip_slots() {
            let _ = writeln!(
                out,
                "vip {} {} proto {} port {} {} {} table {} sticky {} flushes {}",
                index,
                format_prefix(&vip.key.prefix, vip.key.plen),
                vip.key.protocol,
                vip.key.port,
                vip.vtype.name(),
                if vip.used { "used" } else { "removed" },
                vip.new_flows_table_length,
                u8::from(vip.src_ip_sticky),
                vip.flushes
            );
            for (a, buckets) in vip.ases_for_display() {
                let _ = writeln!(
                    out,
                    "  as {} weight {} buckets {} flows {} used {} flushes {}",
                    a.address,
                    a.weight,
                    buckets,
                    a.flows,
                    u8::from(a.used),
                    a.flushes
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_start_at_one_and_reuse_slots() {
        let mut r = Registrations::default();
        let a = r.alloc();
        let b = r.alloc();
        assert_eq!((a, b), (0x8000_0001, 0x8000_0002));
        assert!(r.is_registered(a));
        r.free(a);
        assert!(!r.is_registered(a));
        assert!(!r.is_registered(0));
        assert!(!r.is_registered(0x8000_0000));
        assert_eq!(r.alloc(), 0x8000_0001);
    }
}
