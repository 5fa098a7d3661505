//! Synthetic traffic, so counters move the way they do on a VPP carrying
//! load: new sessions hash onto the Maglev table (first packets, one more
//! flow on the chosen AS), established flows send more packets, flows
//! expire, VIPs without any bucket count "no server configured", and every
//! packet is counted on the VIP prefix's route (`/net/route/to`).

use crate::lb::{
    LbState, COUNTER_FIRST_PACKET, COUNTER_NEXT_PACKET, COUNTER_NO_SERVER, COUNTER_UNTRACKED_PACKET,
    N_THREADS,
};

/// Average L3 packet size used for the route byte counters.
const PACKET_BYTES: u64 = 700;
/// New sessions per VIP per tick are drawn from 0..MAX_NEW_SESSIONS.
const MAX_NEW_SESSIONS: u64 = 20;
/// Packets each established flow sends per tick.
const PACKETS_PER_FLOW: u64 = 3;

/// Adds one tick of traffic to every in-use VIP.
pub fn tick(state: &mut LbState, rng: &mut fastrand::Rng) {
    let indices: Vec<usize> = state.vip_slots().filter(|(_, v)| v.used).map(|(i, _)| i).collect();
    for index in indices {
        let thread = rng.usize(0..N_THREADS);
        // The sticky table holds this many flows; beyond it new sessions
        // are forwarded by bucket but not tracked.
        let capacity = u64::from(state.conf.sticky_buckets_per_core) * N_THREADS as u64;
        let new_sessions = rng.u64(0..MAX_NEW_SESSIONS);
        let Some(vip) = state.vip_mut(index) else { continue };
        let (prefix, plen) = (vip.key.prefix, vip.key.plen);

        // Established flows: packets, then some expire.
        let mut next_packets = 0;
        for i in 0..vip.ases().len() {
            if let Some(a) = vip.as_mut(i) {
                next_packets += a.flows * PACKETS_PER_FLOW;
                a.flows -= a.flows / 10;
            }
        }

        let mut tracked: u64 = vip.ases().iter().map(|a| a.flows).sum();
        let (mut first, mut untracked, mut no_server) = (0, 0, 0);
        if vip.has_buckets() {
            for _ in 0..new_sessions {
                if tracked >= capacity {
                    untracked += 1;
                    continue;
                }
                let table = vip.new_flow_table();
                let bucket = rng.usize(0..table.len());
                if let Some(Some(as_index)) = table.get(bucket).copied() {
                    if let Some(a) = vip.as_mut(as_index) {
                        a.flows += 1;
                        tracked += 1;
                        first += 1;
                    }
                }
            }
        } else {
            no_server = new_sessions;
        }

        state.count_vip(index, thread, COUNTER_NEXT_PACKET, next_packets);
        state.count_vip(index, thread, COUNTER_FIRST_PACKET, first);
        state.count_vip(index, thread, COUNTER_UNTRACKED_PACKET, untracked);
        state.count_vip(index, thread, COUNTER_NO_SERVER, no_server);
        let packets = next_packets + first + untracked + no_server;
        if let Some(route) = state.fib.lookup(prefix, plen, true) {
            state.fib.count(route.stats_index, thread, packets, packets * PACKET_BYTES);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip46::Ip46;
    use crate::lb::{encap, VipAddArgs, VipKey, COUNTER_NO_SERVER};

    fn ip(s: &str) -> Ip46 {
        Ip46::from_ip(s.parse().unwrap())
    }

    fn add_vip(s: &mut LbState, addr: &str) -> (usize, VipKey) {
        let key = VipKey::new(ip(addr), 128, 6, 80);
        let args = VipAddArgs {
            key,
            encap: encap::GRE4,
            dscp: 0,
            srv_type: 0,
            target_port: 0,
            new_flows_table_length: 1024,
            src_ip_sticky: false,
        };
        (s.add_vip(args).unwrap(), key)
    }

    #[test]
    fn sessions_follow_buckets_and_routes_count() {
        let mut s = LbState::default();
        let (v, key) = add_vip(&mut s, "192.0.2.1");
        s.add_as(&key, ip("10.0.0.2"), 100, false).unwrap();
        s.add_as(&key, ip("10.0.0.3"), 0, false).unwrap();
        let (empty, _) = add_vip(&mut s, "192.0.2.2");
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..50 {
            tick(&mut s, &mut rng);
        }
        let vip = s.vip(v).unwrap();
        assert!(vip.ases()[0].flows > 0);
        assert_eq!(vip.ases()[1].flows, 0, "weight 0 gets no new flows");
        let totals = s.vip_counter_totals(v);
        assert!(totals[COUNTER_FIRST_PACKET] > 0);
        assert_eq!(totals[COUNTER_NO_SERVER], 0);
        assert!(s.vip_counter_totals(empty)[COUNTER_NO_SERVER] > 0);

        let route = s.fib.lookup(ip("192.0.2.1"), 128, true).unwrap();
        let packets: u64 = s.fib.to_counters()[route.stats_index as usize].iter().map(|c| c.packets).sum();
        assert_eq!(packets, totals.iter().sum::<u64>());
    }

    #[test]
    fn full_sticky_table_counts_untracked() {
        let mut s = LbState::default();
        s.set_conf([0; 4], [0; 16], 1, 40).unwrap();
        let (v, key) = add_vip(&mut s, "192.0.2.1");
        s.add_as(&key, ip("10.0.0.2"), 100, false).unwrap();
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..20 {
            tick(&mut s, &mut rng);
        }
        assert!(s.vip(v).unwrap().ases()[0].flows <= 2);
        assert!(s.vip_counter_totals(v)[crate::lb::COUNTER_UNTRACKED_PACKET] > 0);
    }
}
