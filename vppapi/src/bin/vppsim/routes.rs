//! The part of VPP's FIB that the lb plugin touches: every VIP prefix is a
//! route in table 0 with its own load-balance object, whose index is the
//! `stats_index` returned by `ip_route_lookup` and the second index of
//! `/net/route/to`; every AS address is a host entry too, whose
//! load-balance index is the `dpo:` of the AS in `show lb vips verbose`.
//! Entries are reference counted (per-port VIPs of one prefix, one AS
//! address in several VIPs share one); the last user to go removes it and
//! its index is handed out again, most recently freed first, like the
//! load-balance pool of VPP.

use std::collections::BTreeMap;

use crate::ip46::Ip46;
use crate::lb::N_THREADS;

/// First load-balance index handed to a VIP route or an AS entry; the lower
/// ones belong to the routes VPP without interfaces has at start-up
/// (defaults, local, drop, multicast).
const FIRST_VIP_LB_INDEX: u32 = 8;
/// Load-balance indices of the two default routes.
const IP4_DEFAULT_LB_INDEX: u32 = 1;
const IP6_DEFAULT_LB_INDEX: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub prefix: Ip46,
    /// VPP-internal length (96 + IPv4 length for IPv4).
    pub plen: u8,
    pub stats_index: u32,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    stats_index: u32,
    /// Number of VIPs and ASes using the entry; 0 for the start-up routes,
    /// which never go away.
    refs: u32,
}

/// Packets and bytes, as in a VPP combined counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Combined {
    pub packets: u64,
    pub bytes: u64,
}

#[derive(Debug)]
pub struct Fib {
    entries: BTreeMap<(Ip46, u8), Entry>,
    next_lb_index: u32,
    /// Freed load-balance indices, reused last-freed first.
    free_lb_indices: Vec<u32>,
    /// `/net/route/to`: `[load-balance index][thread]`.
    to_counters: Vec<[Combined; N_THREADS]>,
}

impl Default for Fib {
    fn default() -> Self {
        let mut entries = BTreeMap::new();
        // 0.0.0.0/0 (internal length 96) and ::/0.
        entries.insert((Ip46::default(), 96), Entry { stats_index: IP4_DEFAULT_LB_INDEX, refs: 0 });
        entries.insert((Ip46::default(), 0), Entry { stats_index: IP6_DEFAULT_LB_INDEX, refs: 0 });
        Fib {
            entries,
            next_lb_index: FIRST_VIP_LB_INDEX,
            free_lb_indices: Vec::new(),
            to_counters: vec![[Combined::default(); N_THREADS]; FIRST_VIP_LB_INDEX as usize],
        }
    }
}

impl Fib {
    /// Adds a reference to the route of a VIP prefix, creating it (with a
    /// load-balance index and zeroed counters) if needed.
    pub fn add_vip_route(&mut self, prefix: Ip46, plen: u8) -> u32 {
        self.acquire(prefix, plen)
    }

    /// Drops one VIP's reference; the route disappears with the last one.
    pub fn remove_vip_route(&mut self, prefix: Ip46, plen: u8) {
        self.release(prefix, plen)
    }

    /// Adds a reference to the host entry of an AS address (`/32` or
    /// `/128`) and returns its load-balance index, the AS's `dpo:`.
    pub fn add_as_entry(&mut self, address: Ip46) -> u32 {
        self.acquire(address, 128)
    }

    /// Drops one AS's reference to its host entry (when VPP garbage
    /// collects the AS, not when it is removed).
    pub fn remove_as_entry(&mut self, address: Ip46) {
        self.release(address, 128)
    }

    fn acquire(&mut self, prefix: Ip46, plen: u8) -> u32 {
        if let Some(entry) = self.entries.get_mut(&(prefix, plen)) {
            entry.refs += 1;
            return entry.stats_index;
        }
        let index = self.free_lb_indices.pop().unwrap_or_else(|| {
            self.next_lb_index += 1;
            self.next_lb_index - 1
        });
        let slot = index as usize;
        if self.to_counters.len() <= slot {
            self.to_counters.resize(slot + 1, [Combined::default(); N_THREADS]);
        }
        self.to_counters[slot] = [Combined::default(); N_THREADS];
        self.entries.insert((prefix, plen), Entry { stats_index: index, refs: 1 });
        index
    }

    fn release(&mut self, prefix: Ip46, plen: u8) {
        if let Some(entry) = self.entries.get_mut(&(prefix, plen)) {
            if entry.refs <= 1 {
                if entry.refs == 1 {
                    self.free_lb_indices.push(entry.stats_index);
                    self.entries.remove(&(prefix, plen));
                }
            } else {
                entry.refs -= 1;
            }
        }
    }

    /// `ip_route_lookup` in table 0: the exact entry, or with `exact` false
    /// the longest prefix containing the address.
    pub fn lookup(&self, prefix: Ip46, plen: u8, exact: bool) -> Option<Route> {
        let found = if exact {
            self.entries.get_key_value(&(prefix.normalized(plen), plen))
        } else {
            self.entries
                .iter()
                .filter(|((p, l), _)| *l <= plen && prefix.within(p, *l) && family_matches(&prefix, *p, *l))
                .max_by_key(|((_, l), _)| *l)
        };
        found.map(|((p, l), e)| Route { prefix: *p, plen: *l, stats_index: e.stats_index })
    }

    /// Adds traffic to the `/net/route/to` counter of a load-balance index.
    pub fn count(&mut self, stats_index: u32, thread: usize, packets: u64, bytes: u64) {
        if let Some(per_thread) = self.to_counters.get_mut(stats_index as usize) {
            if let Some(c) = per_thread.get_mut(thread) {
                c.packets += packets;
                c.bytes += bytes;
            }
        }
    }

    /// `/net/route/to` as `[load-balance index][thread]`.
    pub fn to_counters(&self) -> &[[Combined; N_THREADS]] {
        &self.to_counters
    }
}

/// An IPv4 address only matches IPv4 routes (internal length ≥ 96 on an
/// IPv4-shaped prefix) and an IPv6 one only IPv6 routes.
fn family_matches(address: &Ip46, prefix: Ip46, plen: u8) -> bool {
    crate::ip46::prefix_is_ip4(&prefix, plen) == address.is_ip4()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Ip46 {
        Ip46::from_ip(s.parse().unwrap())
    }

    #[test]
    fn shared_prefix_shares_one_index_until_the_last_vip_goes() {
        let mut fib = Fib::default();
        let a = fib.add_vip_route(v4("192.0.2.1"), 128);
        let b = fib.add_vip_route(v4("192.0.2.1"), 128);
        assert_eq!(a, b);
        fib.remove_vip_route(v4("192.0.2.1"), 128);
        assert_eq!(fib.lookup(v4("192.0.2.1"), 128, true).map(|r| r.stats_index), Some(a));
        fib.remove_vip_route(v4("192.0.2.1"), 128);
        assert_eq!(fib.lookup(v4("192.0.2.1"), 128, true), None);
    }

    #[test]
    fn freed_index_is_reused_with_zero_counters() {
        let mut fib = Fib::default();
        let a = fib.add_vip_route(v4("192.0.2.1"), 128);
        assert_eq!(a, 8, "the first index after VPP's start-up routes");
        fib.count(a, 1, 10, 1000);
        fib.remove_vip_route(v4("192.0.2.1"), 128);
        let b = fib.add_vip_route(v4("192.0.2.2"), 128);
        assert_eq!(a, b, "VPP's pool hands out the last freed index first");
        assert_eq!(fib.to_counters()[b as usize][1], Combined::default());
    }

    #[test]
    fn as_entries_share_the_index_space_and_one_address_shares_one_entry() {
        let mut fib = Fib::default();
        let vip = fib.add_vip_route(v4("192.0.2.1"), 128);
        let as1 = fib.add_as_entry(v4("10.0.0.2"));
        let vip2 = fib.add_vip_route(v4("192.0.2.2"), 128);
        assert_eq!((vip, as1, vip2), (8, 9, 10));
        assert_eq!(fib.add_as_entry(v4("10.0.0.2")), 9);
        fib.remove_as_entry(v4("10.0.0.2"));
        assert_eq!(fib.add_as_entry(v4("10.0.0.3")), 11);
        fib.remove_as_entry(v4("10.0.0.2"));
        assert_eq!(fib.add_as_entry(v4("10.0.0.4")), 9);
    }

    #[test]
    fn longest_prefix_match_falls_back_to_default() {
        let mut fib = Fib::default();
        let idx = fib.add_vip_route(v4("192.0.2.0"), 120);
        let r = fib.lookup(v4("192.0.2.9"), 128, false).unwrap();
        assert_eq!((r.stats_index, r.plen), (idx, 120));
        let r = fib.lookup(v4("198.51.100.1"), 128, false).unwrap();
        assert_eq!(r.stats_index, IP4_DEFAULT_LB_INDEX);
        let r = fib.lookup(Ip46::from_ip("2001:db8::1".parse().unwrap()), 128, false).unwrap();
        assert_eq!(r.stats_index, IP6_DEFAULT_LB_INDEX);
        assert_eq!(fib.lookup(v4("192.0.2.9"), 128, true), None);
    }
}
