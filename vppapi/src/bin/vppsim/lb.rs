//! The lb plugin's control-plane state and rules (VPP's `lb.c` and the API
//! handlers in `api.c`): global conf, VIPs in a pool whose slot 0 is a
//! hidden placeholder, application servers (ASes) per VIP with weights, the
//! Maglev new-flow table, per-VIP counters and the VIP routes.
//!
//! Addresses and prefix lengths here are VPP-internal (`Ip46`, IPv4 prefix
//! length + 96); the API handlers translate the wire forms.

use std::fmt;
use std::time::Instant;

use crate::ip46::{prefix_is_ip4, Ip46};
use crate::maglev::{self, Candidate};
use crate::routes::Fib;

/// Threads VPP would count on (main + one worker): the counter vectors
/// in the stats segment have this many rows.
pub const N_THREADS: usize = 2;

/// The four per-VIP counters, in VPP's order, with their stats-segment
/// names (literal, no leading slash).
pub const VIP_COUNTER_NAMES: [&str; 4] =
    ["packet from existing sessions", "first session packet", "untracked packet", "no server configured"];
pub const COUNTER_NEXT_PACKET: usize = 0;
pub const COUNTER_FIRST_PACKET: usize = 1;
pub const COUNTER_UNTRACKED_PACKET: usize = 2;
pub const COUNTER_NO_SERVER: usize = 3;

/// `LB_CONCURRENCY_TIMEOUT`: a removed AS is collected only more than this
/// many seconds after its removal.
pub const AS_GC_DELAY_S: u32 = 10;

/// `LB_GARBAGE_RUN`: a VIP's ASes are examined at most this often.
pub const VIP_GC_INTERVAL_S: u32 = 60;

/// Largest new-flow table vppsim builds. VPP would try to allocate any
/// power of two; a stand-in refuses absurd sizes (-70, as VPP does when the
/// allocation cannot be made) instead of exhausting memory.
pub const MAX_NEW_FLOW_TABLE: u32 = 1 << 22;

/// `[thread][counter]` for one VIP slot.
pub type VipCounters = [[u64; 4]; N_THREADS];

/// VPP's API error codes (`src/vnet/error.h`) the lb handlers return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbError {
    /// VIP or AS not found.
    NoSuchEntry,
    /// Deleting the placeholder VIP.
    InvalidValue,
    /// A table length or sticky bucket count that is not a power of two.
    InvalidMemorySize,
    /// Per-port VIPs of one prefix with different encaps.
    InvalidArgument,
    /// Duplicate VIP/AS, or an all-port/per-port conflict.
    ValueExist,
    /// Address family does not fit the VIP's encap.
    InvalidAddressFamily,
}

impl LbError {
    pub fn retval(self) -> i32 {
        match self {
            LbError::NoSuchEntry => -6,
            LbError::InvalidValue => -7,
            LbError::InvalidMemorySize => -70,
            LbError::InvalidArgument => -73,
            LbError::ValueExist => -81,
            LbError::InvalidAddressFamily => -97,
        }
    }
}

impl fmt::Display for LbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            LbError::NoSuchEntry => "no such entry",
            LbError::InvalidValue => "invalid value",
            LbError::InvalidMemorySize => "invalid memory size (not a power of two)",
            LbError::InvalidArgument => "invalid argument",
            LbError::ValueExist => "value already exists",
            LbError::InvalidAddressFamily => "invalid address family",
        };
        write!(f, "{text} ({})", self.retval())
    }
}

/// The API's `vl_api_lb_encap_type_t`.
pub mod encap {
    pub const GRE4: u32 = 0;
    pub const GRE6: u32 = 1;
    pub const L3DSR: u32 = 2;
    pub const NAT4: u32 = 3;
    pub const NAT6: u32 = 4;
}

/// VPP's internal `lb_vip_type_t` (legacy VPPs report it in
/// `lb_vip_details.encap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VipType {
    Ip6Gre6 = 0,
    Ip6Gre4 = 1,
    Ip4Gre6 = 2,
    Ip4Gre4 = 3,
    Ip4L3dsr = 4,
    Ip4Nat4 = 5,
    Ip6Nat6 = 6,
}

impl VipType {
    /// The handler's mapping from (VIP family, API encap) to the type;
    /// combinations it does not know leave the type at 0 (IP6_GRE6).
    pub fn from_encap(vip_is_ip4: bool, api_encap: u32) -> VipType {
        match (vip_is_ip4, api_encap) {
            (true, encap::GRE4) => VipType::Ip4Gre4,
            (true, encap::GRE6) => VipType::Ip4Gre6,
            (true, encap::L3DSR) => VipType::Ip4L3dsr,
            (true, encap::NAT4) => VipType::Ip4Nat4,
            (false, encap::GRE4) => VipType::Ip6Gre4,
            (false, encap::GRE6) => VipType::Ip6Gre6,
            (false, encap::NAT6) => VipType::Ip6Nat6,
            _ => VipType::Ip6Gre6,
        }
    }

    /// As `format_lb_vip_type` prints it.
    pub fn name(self) -> &'static str {
        match self {
            VipType::Ip6Gre6 => "ip6-gre6",
            VipType::Ip6Gre4 => "ip6-gre4",
            VipType::Ip4Gre6 => "ip4-gre6",
            VipType::Ip4Gre4 => "ip4-gre4",
            VipType::Ip4L3dsr => "ip4-l3dsr",
            VipType::Ip4Nat4 => "ip4-nat4",
            VipType::Ip6Nat6 => "ip6-nat6",
        }
    }

    /// The API encap enum value (master's `lb_vip_details.encap`).
    pub fn api_encap(self) -> u32 {
        match self {
            VipType::Ip6Gre4 | VipType::Ip4Gre4 => encap::GRE4,
            VipType::Ip6Gre6 | VipType::Ip4Gre6 => encap::GRE6,
            VipType::Ip4L3dsr => encap::L3DSR,
            VipType::Ip4Nat4 => encap::NAT4,
            VipType::Ip6Nat6 => encap::NAT6,
        }
    }

    fn is_ip4_vip(self) -> bool {
        matches!(self, VipType::Ip4Gre6 | VipType::Ip4Gre4 | VipType::Ip4L3dsr | VipType::Ip4Nat4)
    }

    /// `lb_encap_is_ip4`: whether the ASes must be IPv4.
    pub fn wants_ip4_ases(self) -> bool {
        matches!(self, VipType::Ip6Gre4 | VipType::Ip4Gre4 | VipType::Ip4L3dsr | VipType::Ip4Nat4)
    }

    pub fn is_nat(self) -> bool {
        matches!(self, VipType::Ip4Nat4 | VipType::Ip6Nat6)
    }
}

/// Global lb configuration (`lb_conf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LbConf {
    pub ip4_src_address: [u8; 4],
    pub ip6_src_address: [u8; 16],
    pub sticky_buckets_per_core: u32,
    pub flow_timeout: u32,
}

impl Default for LbConf {
    /// `lb_init`'s values: all-ones source addresses, 1024 sticky buckets
    /// per core, 40 s flow timeout.
    fn default() -> Self {
        LbConf {
            ip4_src_address: [0xff; 4],
            ip6_src_address: [0xff; 16],
            sticky_buckets_per_core: 1024,
            flow_timeout: 40,
        }
    }
}

/// A VIP's identity: prefix (normalized, internal length), protocol, port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VipKey {
    pub prefix: Ip46,
    pub plen: u8,
    pub protocol: u8,
    pub port: u16,
}

impl VipKey {
    /// As the handlers build it: port 0 means an all-port VIP, whose
    /// protocol is forced to 255.
    pub fn new(prefix: Ip46, plen: u8, protocol: u8, port: u16) -> Self {
        VipKey {
            prefix: prefix.normalized(plen),
            plen,
            protocol: if port == 0 { 255 } else { protocol },
            port,
        }
    }

    pub fn is_ip4(&self) -> bool {
        prefix_is_ip4(&self.prefix, self.plen)
    }
}

/// Arguments of a VIP add, already decoded from the wire.
#[derive(Debug, Clone, Copy)]
pub struct VipAddArgs {
    pub key: VipKey,
    /// The encap as the handler understood it (API enum value).
    pub encap: u32,
    pub dscp: u8,
    pub srv_type: u8,
    pub target_port: u16,
    pub new_flows_table_length: u32,
    pub src_ip_sticky: bool,
}

/// An application server of one VIP.
#[derive(Debug, Clone)]
pub struct As {
    pub address: Ip46,
    pub weight: u8,
    /// `LB_AS_FLAGS_USED`.
    pub used: bool,
    /// `last_used`: seconds since start at removal, 0 if never removed.
    pub in_use_since: u32,
    /// Sticky flow-table entries pointing to this AS (synthetic traffic).
    pub flows: u64,
    /// Times the AS's flows were flushed (kept for `state`).
    pub flushes: u32,
    /// The DPO index VPP prints (`dpo:N`): the load-balance index of the
    /// AS address's host entry in the FIB.
    pub dpo: u32,
    /// The AS's slot in the VIP's pool of AS indexes: VPP lists ASes in
    /// slot order, and a slot freed by garbage collection is reused.
    slot: u32,
}

impl As {
    /// `flags` of the AS details.
    pub fn flags(&self) -> u8 {
        u8::from(self.used)
    }
}

#[derive(Debug, Clone)]
pub struct Vip {
    pub key: VipKey,
    pub vtype: VipType,
    /// `LB_VIP_FLAGS_USED`; cleared on delete until the slot is collected.
    pub used: bool,
    pub src_ip_sticky: bool,
    pub dscp: u8,
    pub srv_type: u8,
    pub target_port: u16,
    pub new_flows_table_length: u32,
    /// In pool slot order; removed ASes stay until collected.
    ases: Vec<As>,
    /// Slots freed by garbage collection, reused last-freed first.
    free_as_slots: Vec<u32>,
    /// Maglev new-flow table; entries index `ases`.
    table: Vec<Option<usize>>,
    pub flushes: u32,
    /// `last_garbage_collection`: seconds since start.
    last_gc: u32,
}

impl Vip {
    /// ASes in pool slot order.
    pub fn ases(&self) -> &[As] {
        &self.ases
    }

    /// ASes as VPP lists them (pool slot order: the order they were added,
    /// unless garbage collection freed a slot), with their bucket counts.
    pub fn ases_for_display(&self) -> impl Iterator<Item = (&As, u32)> + '_ {
        self.ases.iter().enumerate().map(move |(i, a)| (a, maglev::buckets_of(&self.table, i)))
    }

    /// Adds a new AS in the next pool slot (a freed one first).
    fn push_as(&mut self, address: Ip46, weight: u8, dpo: u32) {
        let slot = self.free_as_slots.pop().unwrap_or(self.ases.len() as u32);
        let at = self.ases.partition_point(|a| a.slot < slot);
        self.ases
            .insert(at, As { address, weight, used: true, in_use_since: 0, flows: 0, flushes: 0, dpo, slot });
    }

    pub fn new_flow_table(&self) -> &[Option<usize>] {
        &self.table
    }

    pub fn as_mut(&mut self, index: usize) -> Option<&mut As> {
        self.ases.get_mut(index)
    }

    pub fn has_buckets(&self) -> bool {
        self.table.iter().any(Option::is_some)
    }

    fn find_as(&self, address: &Ip46) -> Option<usize> {
        self.ases.iter().position(|a| a.address == *address)
    }

    fn rebuild_table(&mut self) {
        let candidates: Vec<Candidate> = self
            .ases
            .iter()
            .enumerate()
            .filter(|(_, a)| a.used)
            .map(|(id, a)| Candidate { id, address: a.address, weight: a.weight })
            .collect();
        self.table = maglev::build_table(&candidates, self.new_flows_table_length as usize);
    }
}

/// The whole lb plugin plus the FIB entries of its VIPs.
#[derive(Debug)]
pub struct LbState {
    pub conf: LbConf,
    /// Slot 0 is VPP's placeholder VIP and always `None`.
    vips: Vec<Option<Vip>>,
    /// Freed slots, reused last-freed first like a vppinfra pool.
    free_slots: Vec<usize>,
    /// `[VIP slot]` → per-thread counters; grows with the pool, like the
    /// counter vectors in the stats segment.
    vip_counters: Vec<VipCounters>,
    pub fib: Fib,
    boot: Instant,
}

impl Default for LbState {
    fn default() -> Self {
        LbState {
            conf: LbConf::default(),
            vips: vec![None],
            free_slots: Vec::new(),
            vip_counters: Vec::new(),
            fib: Fib::default(),
            boot: Instant::now(),
        }
    }
}

impl LbState {
    /// Whole seconds since start (`(u32) vlib_time_now`): an AS removed in
    /// VPP's first second reports `in_use_since` 0, as on real VPP.
    pub fn now_s(&self) -> u32 {
        u32::try_from(self.boot.elapsed().as_secs()).unwrap_or(u32::MAX)
    }

    /// `lb_conf`: 0xffffffff keeps the current value.
    pub fn set_conf(
        &mut self,
        ip4_src_address: [u8; 4],
        ip6_src_address: [u8; 16],
        sticky_buckets_per_core: u32,
        flow_timeout: u32,
    ) -> Result<(), LbError> {
        let sticky = if sticky_buckets_per_core == u32::MAX {
            self.conf.sticky_buckets_per_core
        } else {
            sticky_buckets_per_core
        };
        if !sticky.is_power_of_two() {
            return Err(LbError::InvalidMemorySize);
        }
        let timeout = if flow_timeout == u32::MAX { self.conf.flow_timeout } else { flow_timeout };
        self.conf = LbConf {
            ip4_src_address,
            ip6_src_address,
            sticky_buckets_per_core: sticky,
            flow_timeout: timeout,
        };
        Ok(())
    }

    /// VIP slots that hold a VIP (in use or removed), in pool order.
    pub fn vip_slots(&self) -> impl Iterator<Item = (usize, &Vip)> + '_ {
        self.vips.iter().enumerate().filter_map(|(i, v)| v.as_ref().map(|v| (i, v)))
    }

    pub fn vip(&self, index: usize) -> Option<&Vip> {
        self.vips.get(index).and_then(Option::as_ref)
    }

    pub fn vip_mut(&mut self, index: usize) -> Option<&mut Vip> {
        self.vips.get_mut(index).and_then(Option::as_mut)
    }

    /// Number of slots of the VIP pool (including the placeholder).
    pub fn pool_len(&self) -> usize {
        self.vips.len()
    }

    pub fn vip_counters(&self) -> &[VipCounters] {
        &self.vip_counters
    }

    pub fn count_vip(&mut self, index: usize, thread: usize, counter: usize, n: u64) {
        if let Some(c) =
            self.vip_counters.get_mut(index).and_then(|t| t.get_mut(thread)).and_then(|t| t.get_mut(counter))
        {
            *c += n;
        }
    }

    /// Summed over threads, as `show lb vips verbose` prints them.
    pub fn vip_counter_totals(&self, index: usize) -> [u64; 4] {
        let mut totals = [0u64; 4];
        if let Some(per_thread) = self.vip_counters.get(index) {
            for row in per_thread {
                for (t, v) in totals.iter_mut().zip(row) {
                    *t += v;
                }
            }
        }
        totals
    }

    /// The in-use VIP with this identity.
    pub fn find_vip(&self, key: &VipKey) -> Option<usize> {
        self.vip_slots().find(|(_, v)| v.used && v.key == *key).map(|(i, _)| i)
    }

    fn find_all_port_vip(&self, prefix: &Ip46, plen: u8) -> Option<usize> {
        self.vip_slots()
            .find(|(_, v)| v.used && v.key.prefix == *prefix && v.key.plen == plen && v.key.port == 0)
            .map(|(i, _)| i)
    }

    fn find_per_port_vip(&self, prefix: &Ip46, plen: u8) -> Option<usize> {
        self.vip_slots()
            .find(|(_, v)| v.used && v.key.prefix == *prefix && v.key.plen == plen && v.key.port != 0)
            .map(|(i, _)| i)
    }

    /// `lb_vip_add`, with the checks in VPP's order.
    pub fn add_vip(&mut self, args: VipAddArgs) -> Result<usize, LbError> {
        let key = args.key;
        let vtype = VipType::from_encap(key.is_ip4(), args.encap);
        if self.find_vip(&key).is_some() {
            return Err(LbError::ValueExist);
        }
        if key.port != 0 && self.find_all_port_vip(&key.prefix, key.plen).is_some() {
            return Err(LbError::ValueExist);
        }
        let sibling = self.find_per_port_vip(&key.prefix, key.plen);
        if key.port == 0 && sibling.is_some() {
            return Err(LbError::ValueExist);
        }
        if let Some(s) = sibling.and_then(|i| self.vip(i)) {
            if s.vtype != vtype {
                return Err(LbError::InvalidArgument);
            }
        }
        if !args.new_flows_table_length.is_power_of_two() || args.new_flows_table_length > MAX_NEW_FLOW_TABLE
        {
            return Err(LbError::InvalidMemorySize);
        }
        if key.is_ip4() != vtype.is_ip4_vip() {
            return Err(LbError::InvalidAddressFamily);
        }

        let mut vip = Vip {
            key,
            vtype,
            used: true,
            src_ip_sticky: args.src_ip_sticky,
            dscp: if vtype == VipType::Ip4L3dsr { args.dscp & 0x3f } else { 0 },
            srv_type: if vtype.is_nat() { args.srv_type } else { 0 },
            target_port: if vtype.is_nat() { args.target_port } else { 0 },
            new_flows_table_length: args.new_flows_table_length,
            ases: Vec::new(),
            free_as_slots: Vec::new(),
            table: Vec::new(),
            flushes: 0,
            last_gc: self.now_s(),
        };
        vip.rebuild_table();
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.vips[slot] = Some(vip);
                slot
            }
            None => {
                self.vips.push(Some(vip));
                self.vips.len() - 1
            }
        };
        if self.vip_counters.len() <= slot {
            self.vip_counters.resize(slot + 1, VipCounters::default());
        }
        self.vip_counters[slot] = VipCounters::default();
        self.fib.add_vip_route(key.prefix, key.plen);
        Ok(slot)
    }

    /// `lb_vip_del`: removes every AS (without flush), marks the VIP unused
    /// and drops its route reference. The slot stays until collected.
    pub fn del_vip(&mut self, key: &VipKey) -> Result<usize, LbError> {
        let index = self.find_vip(key).ok_or(LbError::NoSuchEntry)?;
        let now = self.now_s();
        let vip = self.vip_mut(index).ok_or(LbError::InvalidValue)?;
        for a in vip.ases.iter_mut() {
            if a.used {
                a.used = false;
                a.in_use_since = now;
            } else {
                a.in_use_since = now;
            }
        }
        vip.used = false;
        vip.rebuild_table();
        let (prefix, plen) = (vip.key.prefix, vip.key.plen);
        self.fib.remove_vip_route(prefix, plen);
        Ok(index)
    }

    fn used_vip_mut(&mut self, key: &VipKey) -> Result<&mut Vip, LbError> {
        let index = self.find_vip(key).ok_or(LbError::NoSuchEntry)?;
        self.vip_mut(index).ok_or(LbError::NoSuchEntry)
    }

    /// `lb_vip_add_ass` (weight 100 for the v1 message): an in-use AS is a
    /// duplicate (-81), a removed one is revived (keeping its
    /// `in_use_since`; `flush` evicts its old flows), a new one must match
    /// the encap's family (-97). Ends with a (rate-limited) GC pass.
    pub fn add_as(&mut self, key: &VipKey, address: Ip46, weight: u8, flush: bool) -> Result<(), LbError> {
        let now = self.now_s();
        let vip = self.used_vip_mut(key)?;
        match vip.find_as(&address) {
            Some(i) => {
                let a = &mut vip.ases[i];
                if a.used {
                    return Err(LbError::ValueExist);
                }
                a.used = true;
                a.weight = weight;
                if flush {
                    a.flows = 0;
                    a.flushes += 1;
                }
            }
            None => {
                if address.is_ip4() != vip.vtype.wants_ip4_ases() {
                    return Err(LbError::InvalidAddressFamily);
                }
                let dpo = self.fib.add_as_entry(address);
                self.used_vip_mut(key)?.push_as(address, weight, dpo);
            }
        }
        let vip = self.used_vip_mut(key)?;
        vip.rebuild_table();
        let collected = collect_vip_ases(vip, now, false);
        self.release_as_entries(&collected);
        Ok(())
    }

    /// `lb_vip_del_ass`: the AS loses its USED flag and records the time;
    /// `flush` evicts its flows.
    pub fn del_as(&mut self, key: &VipKey, address: Ip46, flush: bool) -> Result<(), LbError> {
        let now = self.now_s();
        let vip = self.used_vip_mut(key)?;
        let i = vip.find_as(&address).ok_or(LbError::NoSuchEntry)?;
        let a = &mut vip.ases[i];
        a.used = false;
        a.in_use_since = now;
        if flush {
            a.flows = 0;
            a.flushes += 1;
        }
        let collected = collect_vip_ases(vip, now, false);
        vip.rebuild_table();
        self.release_as_entries(&collected);
        Ok(())
    }

    /// `lb_as_set_weight` (master): needs an existing, in-use AS.
    pub fn set_as_weight(
        &mut self,
        key: &VipKey,
        address: Ip46,
        weight: u8,
        flush: bool,
    ) -> Result<(), LbError> {
        let vip = self.used_vip_mut(key)?;
        let i = vip.find_as(&address).ok_or(LbError::NoSuchEntry)?;
        let a = &mut vip.ases[i];
        if !a.used {
            return Err(LbError::NoSuchEntry);
        }
        a.weight = weight;
        if flush {
            a.flows = 0;
            a.flushes += 1;
        }
        vip.rebuild_table();
        Ok(())
    }

    /// `lb_flush_vip`: evicts every flow of the VIP.
    pub fn flush_vip(&mut self, key: &VipKey) -> Result<(), LbError> {
        let vip = self.used_vip_mut(key)?;
        for a in vip.ases.iter_mut() {
            a.flows = 0;
        }
        vip.flushes += 1;
        Ok(())
    }

    /// Garbage collection: ASes removed at least `AS_GC_DELAY_S` ago (or
    /// any removed AS with `force`) and without flows are dropped; removed
    /// VIPs without ASes free their slot. Returns whether anything changed.
    pub fn collect_garbage(&mut self, force: bool) -> bool {
        let now = self.now_s();
        let mut changed = false;
        for slot in 1..self.vips.len() {
            let Some(vip) = self.vips[slot].as_mut() else { continue };
            if force {
                for a in vip.ases.iter_mut().filter(|a| !a.used) {
                    a.flows = 0;
                }
            }
            let collected = collect_vip_ases(vip, now, force);
            changed |= !collected.is_empty();
            let emptied = !vip.used && vip.ases.is_empty();
            self.release_as_entries(&collected);
            if emptied {
                self.vips[slot] = None;
                self.free_slots.push(slot);
                changed = true;
            }
        }
        changed
    }

    /// Drops the FIB host entries of garbage-collected ASes.
    fn release_as_entries(&mut self, collected: &[Ip46]) {
        for address in collected {
            self.fib.remove_as_entry(*address);
        }
    }
}

/// `lb_vip_garbage_collection`: at most once a minute per VIP (always with
/// `force`), drops the removed ASes that are old enough and have no flows,
/// freeing their pool slots; rebuilds the table if any went. Returns the
/// addresses of the ASes dropped.
fn collect_vip_ases(vip: &mut Vip, now: u32, force: bool) -> Vec<Ip46> {
    if !force && now.saturating_sub(vip.last_gc) <= VIP_GC_INTERVAL_S {
        return Vec::new();
    }
    vip.last_gc = now;
    let mut collected = Vec::new();
    let mut freed = Vec::new();
    vip.ases.retain(|a| {
        let keep = a.used || a.flows > 0 || !(force || now.saturating_sub(a.in_use_since) > AS_GC_DELAY_S);
        if !keep {
            collected.push(a.address);
            freed.push(a.slot);
        }
        keep
    });
    vip.free_as_slots.extend(freed);
    if !collected.is_empty() {
        vip.rebuild_table();
    }
    collected
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ip46 {
        Ip46::from_ip(s.parse().unwrap())
    }

    fn key4(addr: &str, protocol: u8, port: u16) -> VipKey {
        VipKey::new(ip(addr), 128, protocol, port)
    }

    fn vip_args(key: VipKey, encap: u32) -> VipAddArgs {
        VipAddArgs {
            key,
            encap,
            dscp: 0,
            srv_type: 0,
            target_port: 0,
            new_flows_table_length: 1024,
            src_ip_sticky: false,
        }
    }

    fn buckets(state: &LbState, index: usize) -> Vec<(String, u32)> {
        state.vip(index).unwrap().ases_for_display().map(|(a, b)| (a.address.to_string(), b)).collect()
    }

    #[test]
    fn conf_checks_power_of_two_and_keeps_on_all_ones() {
        let mut s = LbState::default();
        assert_eq!(s.set_conf([1, 2, 3, 4], [0; 16], 1000, 40), Err(LbError::InvalidMemorySize));
        s.set_conf([1, 2, 3, 4], [0; 16], 2048, 30).unwrap();
        s.set_conf([1, 2, 3, 5], [0; 16], u32::MAX, u32::MAX).unwrap();
        assert_eq!(s.conf.sticky_buckets_per_core, 2048);
        assert_eq!(s.conf.flow_timeout, 30);
        assert_eq!(s.conf.ip4_src_address, [1, 2, 3, 5]);
    }

    #[test]
    fn vip_add_rules_and_return_codes() {
        let mut s = LbState::default();
        let a = s.add_vip(vip_args(key4("192.0.2.1", 6, 80), encap::GRE4)).unwrap();
        assert_eq!(a, 1, "slot 0 is the placeholder");
        assert_eq!(s.add_vip(vip_args(key4("192.0.2.1", 6, 80), encap::GRE4)), Err(LbError::ValueExist));
        // All-port next to a per-port VIP of the same prefix.
        assert_eq!(s.add_vip(vip_args(key4("192.0.2.1", 6, 0), encap::GRE4)), Err(LbError::ValueExist));
        // Per-port VIPs of one prefix share the encap.
        assert_eq!(
            s.add_vip(vip_args(key4("192.0.2.1", 6, 443), encap::GRE6)),
            Err(LbError::InvalidArgument)
        );
        let b = s.add_vip(vip_args(key4("192.0.2.1", 6, 443), encap::GRE4)).unwrap();
        assert_eq!(b, 2);
        // Table size.
        let mut bad = vip_args(key4("192.0.2.2", 17, 53), encap::GRE4);
        bad.new_flows_table_length = 1000;
        assert_eq!(s.add_vip(bad), Err(LbError::InvalidMemorySize));
        bad.new_flows_table_length = 0;
        assert_eq!(s.add_vip(bad), Err(LbError::InvalidMemorySize));
        bad.new_flows_table_length = 1 << 31;
        assert_eq!(s.add_vip(bad), Err(LbError::InvalidMemorySize));
        // NAT6 is not an IPv4 VIP encap.
        assert_eq!(
            s.add_vip(vip_args(key4("192.0.2.2", 17, 53), encap::NAT6)),
            Err(LbError::InvalidAddressFamily)
        );
        // Per-port next to an all-port VIP.
        s.add_vip(vip_args(key4("192.0.2.3", 0, 0), encap::GRE4)).unwrap();
        assert_eq!(s.vip(3).unwrap().key.protocol, 255);
        assert_eq!(s.add_vip(vip_args(key4("192.0.2.3", 6, 80), encap::GRE4)), Err(LbError::ValueExist));
        // Both per-port VIPs share one route.
        let r1 = s.fib.lookup(ip("192.0.2.1"), 128, true).unwrap();
        assert_eq!(r1.plen, 128);
        assert_eq!(s.del_vip(&key4("192.0.2.9", 6, 80)), Err(LbError::NoSuchEntry));
        s.del_vip(&key4("192.0.2.1", 6, 80)).unwrap();
        assert_eq!(s.fib.lookup(ip("192.0.2.1"), 128, true), Some(r1));
        s.del_vip(&key4("192.0.2.1", 6, 443)).unwrap();
        assert_eq!(s.fib.lookup(ip("192.0.2.1"), 128, true), None);
    }

    #[test]
    fn ipv6_vip_with_unknown_encap_becomes_gre6() {
        let mut s = LbState::default();
        let i = s.add_vip(vip_args(VipKey::new(ip("2001:db8::1"), 128, 6, 80), encap::L3DSR)).unwrap();
        assert_eq!(s.vip(i).unwrap().vtype, VipType::Ip6Gre6);
    }

    #[test]
    fn as_life_cycle() {
        let mut s = LbState::default();
        let k = key4("192.0.2.1", 6, 80);
        assert_eq!(s.add_as(&k, ip("10.0.0.2"), 100, false), Err(LbError::NoSuchEntry));
        let v = s.add_vip(vip_args(k, encap::GRE4)).unwrap();
        for last in 2..=4 {
            s.add_as(&k, ip(&format!("10.0.0.{last}")), 100, false).unwrap();
        }
        assert_eq!(s.add_as(&k, ip("10.0.0.2"), 100, false), Err(LbError::ValueExist));
        assert_eq!(s.add_as(&k, ip("2001:db8::2"), 100, false), Err(LbError::InvalidAddressFamily));
        let b = buckets(&s, v);
        assert_eq!(b.iter().map(|(_, n)| n).sum::<u32>(), 1024);
        let mut n: Vec<u32> = b.iter().map(|(_, n)| *n).collect();
        n.sort_unstable();
        assert_eq!(n, vec![341, 341, 342]);
        // In the order added.
        assert_eq!(b[0].0, "10.0.0.2");

        s.set_as_weight(&k, ip("10.0.0.3"), 0, false).unwrap();
        let b = buckets(&s, v);
        assert_eq!(b[1], ("10.0.0.3".to_string(), 0));
        assert_eq!(b[0].1 + b[2].1, 1024);
        assert_eq!(s.set_as_weight(&k, ip("10.0.0.9"), 0, false), Err(LbError::NoSuchEntry));

        s.vip_mut(v).unwrap().as_mut(0).unwrap().flows = 7;
        s.del_as(&k, ip("10.0.0.2"), true).unwrap();
        let vip = s.vip(v).unwrap();
        let removed = &vip.ases()[0];
        assert!(!removed.used);
        assert_eq!(removed.flows, 0);
        assert!(removed.in_use_since <= s.now_s());
        assert_eq!(buckets(&s, v)[2].1, 1024, "only 10.0.0.4 has weight");
        // A removed AS cannot be reweighted, but can be revived.
        assert_eq!(s.set_as_weight(&k, ip("10.0.0.2"), 50, false), Err(LbError::NoSuchEntry));
        s.add_as(&k, ip("10.0.0.2"), 100, false).unwrap();
        assert!(s.vip(v).unwrap().ases()[0].used);
        assert_eq!(s.del_as(&k, ip("10.0.0.9"), false), Err(LbError::NoSuchEntry));
    }

    #[test]
    fn collected_as_frees_its_slot_and_its_fib_entry() {
        let mut s = LbState::default();
        let k = key4("192.0.2.1", 6, 80);
        let v = s.add_vip(vip_args(k, encap::GRE4)).unwrap();
        for last in 2..=4 {
            s.add_as(&k, ip(&format!("10.0.0.{last}")), 100, false).unwrap();
        }
        let dpos: Vec<u32> = s.vip(v).unwrap().ases().iter().map(|a| a.dpo).collect();
        assert_eq!(dpos, [9, 10, 11], "host entries after the VIP route (8)");
        s.del_as(&k, ip("10.0.0.3"), false).unwrap();
        assert!(s.collect_garbage(true));
        s.add_as(&k, ip("10.0.0.9"), 100, false).unwrap();
        let listed: Vec<(String, u32)> =
            s.vip(v).unwrap().ases().iter().map(|a| (a.address.to_string(), a.dpo)).collect();
        assert_eq!(
            listed,
            [("10.0.0.2".to_string(), 9), ("10.0.0.9".to_string(), 10), ("10.0.0.4".to_string(), 11)],
            "the new AS takes the freed pool slot and load-balance index"
        );
    }

    #[test]
    fn all_zero_weights_leave_no_buckets() {
        let mut s = LbState::default();
        let k = key4("192.0.2.1", 6, 80);
        let v = s.add_vip(vip_args(k, encap::GRE4)).unwrap();
        s.add_as(&k, ip("10.0.0.2"), 0, false).unwrap();
        assert!(!s.vip(v).unwrap().has_buckets());
    }

    #[test]
    fn deleted_vip_keeps_slot_until_collected_and_counters_reset() {
        let mut s = LbState::default();
        let k = key4("192.0.2.1", 6, 80);
        let v = s.add_vip(vip_args(k, encap::GRE4)).unwrap();
        s.add_as(&k, ip("10.0.0.2"), 100, false).unwrap();
        s.count_vip(v, 1, COUNTER_FIRST_PACKET, 5);
        assert_eq!(s.vip_counter_totals(v)[COUNTER_FIRST_PACKET], 5);
        s.del_vip(&k).unwrap();
        assert!(s.vip(v).is_some_and(|x| !x.used));
        assert_eq!(s.find_vip(&k), None);
        // Not old enough to collect without force.
        assert!(!s.collect_garbage(false));
        assert!(s.collect_garbage(true));
        assert!(s.vip(v).is_none());
        let again = s.add_vip(vip_args(k, encap::GRE4)).unwrap();
        assert_eq!(again, v, "freed slot is reused");
        assert_eq!(s.vip_counter_totals(v), [0; 4]);
    }

    #[test]
    fn flush_vip_evicts_flows() {
        let mut s = LbState::default();
        let k = key4("192.0.2.1", 6, 80);
        let v = s.add_vip(vip_args(k, encap::GRE4)).unwrap();
        s.add_as(&k, ip("10.0.0.2"), 100, false).unwrap();
        s.vip_mut(v).unwrap().as_mut(0).unwrap().flows = 3;
        s.flush_vip(&k).unwrap();
        assert_eq!(s.vip(v).unwrap().ases()[0].flows, 0);
        assert_eq!(s.flush_vip(&key4("192.0.2.1", 6, 81)), Err(LbError::NoSuchEntry));
    }
}
