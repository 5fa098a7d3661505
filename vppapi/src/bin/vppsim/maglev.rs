//! The lb plugin's Maglev new-flow table (`lb_vip_update_new_flow_table` in
//! VPP's lb.c) as VPP's master branch builds it with weights.
//!
//! Each AS of weight w takes part as w replicas (an AS of weight 0 gets no
//! buckets). The replicas are sorted by (replica index, address), each gets
//! a permutation (offset, skip) from `clib_xxhash` of its address mixed with
//! its replica index, and then they take turns claiming the next free bucket
//! of their permutation until the table is full. The order depends only on
//! addresses and weights, never on the order ASes were added, so two VPPs
//! given the same ASes build the same table.

use crate::ip46::Ip46;

/// One AS as seen by the table builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Caller's identifier, returned in the table.
    pub id: usize,
    pub address: Ip46,
    pub weight: u8,
}

const PRIME64_1: u64 = 11_400_714_785_074_694_791;
const PRIME64_2: u64 = 14_029_467_366_897_019_727;
const PRIME64_3: u64 = 1_609_587_929_392_839_161;
const PRIME64_4: u64 = 9_650_029_242_287_828_579;
const PRIME64_5: u64 = 2_870_177_450_012_600_261;

/// vppinfra's `clib_xxhash` (xxhash64 of one u64 with VPP's fixed seed).
pub fn clib_xxhash(key: u64) -> u64 {
    let mut k1 = key.wrapping_mul(PRIME64_2);
    k1 = k1.rotate_left(31);
    k1 = k1.wrapping_mul(PRIME64_1);
    let mut h64: u64 = 0x9e37_79b9_7f4a_7c13u64.wrapping_add(PRIME64_5).wrapping_add(8);
    h64 ^= k1;
    h64 = h64.rotate_left(27).wrapping_mul(PRIME64_1).wrapping_add(PRIME64_4);
    h64 ^= h64 >> 33;
    h64 = h64.wrapping_mul(PRIME64_2);
    h64 ^= h64 >> 29;
    h64 = h64.wrapping_mul(PRIME64_3);
    h64 ^= h64 >> 32;
    h64
}

/// The hash seed VPP uses for an AS: `as_u64[0] ^ as_u64[1]` of the
/// `ip46_address_t`, read in host (little-endian) order.
fn address_seed(address: &Ip46) -> u64 {
    let b = address.bytes();
    let lo = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    let hi = u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
    lo ^ hi
}

/// Builds the new-flow table of `size` buckets (a power of two). Each bucket
/// holds the `id` of the AS it points to, or `None` when no AS has a weight
/// above zero (VPP's "default AS": packets count as "no server configured").
pub fn build_table(candidates: &[Candidate], size: usize) -> Vec<Option<usize>> {
    let mut table = vec![None; size];
    if size == 0 {
        return table;
    }
    struct Replica<'a> {
        candidate: &'a Candidate,
        replica: u32,
        next: usize,
        skip: usize,
    }
    let mut replicas: Vec<Replica> = candidates
        .iter()
        .flat_map(|c| (0..u32::from(c.weight)).map(move |replica| (c, replica)))
        .map(|(candidate, replica)| Replica { candidate, replica, next: 0, skip: 0 })
        .collect();
    if replicas.is_empty() {
        return table;
    }
    // VPP compares the replica index first, then the addresses with memcmp.
    replicas.sort_by(|a, b| {
        a.replica.cmp(&b.replica).then_with(|| a.candidate.address.bytes().cmp(b.candidate.address.bytes()))
    });
    let mask = size - 1;
    for r in replicas.iter_mut() {
        let seed = clib_xxhash(address_seed(&r.candidate.address) ^ u64::from(r.replica));
        r.skip = (((seed & 0xffff_ffff) | 1) as usize) & mask;
        r.next = ((seed >> 32) as usize) & mask;
    }

    let mut filled = 0;
    loop {
        for r in replicas.iter_mut() {
            // skip is odd and size a power of two, so the permutation
            // visits every bucket and a free one is always found.
            loop {
                let bucket = r.next;
                r.next = (r.next + r.skip) & mask;
                if table[bucket].is_none() {
                    table[bucket] = Some(r.candidate.id);
                    break;
                }
            }
            filled += 1;
            if filled == size {
                return table;
            }
        }
    }
}

/// Number of buckets pointing to `id`.
pub fn buckets_of(table: &[Option<usize>], id: usize) -> u32 {
    table.iter().filter(|b| **b == Some(id)).count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn cand(id: usize, last: u8, weight: u8) -> Candidate {
        Candidate { id, address: Ip46::from_ip(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))), weight }
    }

    #[test]
    fn xxhash_matches_reference_values() {
        // clib_xxhash is XXH64 of the 8 little-endian key bytes with the
        // seed 0x9e3779b97f4a7c13 (values from the python xxhash package).
        assert_eq!(clib_xxhash(0), 0x6f06_f901_bfa2_7892);
        assert_eq!(clib_xxhash(1), 0x4a67_7953_7063_9ba2);
        assert_eq!(clib_xxhash(0x0400_000a_0000_0000), 0xd807_c88b_827e_df78);
    }

    #[test]
    fn three_equal_ases_share_1024_as_vpp_does() {
        let c = [cand(1, 2, 100), cand(2, 3, 100), cand(3, 4, 100)];
        let t = build_table(&c, 1024);
        let mut counts: Vec<u32> = c.iter().map(|c| buckets_of(&t, c.id)).collect();
        assert_eq!(counts.iter().sum::<u32>(), 1024);
        counts.sort_unstable();
        assert_eq!(counts, vec![341, 341, 342]);
        // The first AS in address order takes the extra bucket.
        assert_eq!(buckets_of(&t, 1), 342);
    }

    #[test]
    fn weighted_tables_match_real_vpp() {
        // Bucket counts read from real VPP's `show lb vips verbose`.
        for (weights, want) in [
            (&[("10.0.0.1", 100), ("10.0.0.3", 1), ("10.0.0.4", 0)][..], &[1013, 11, 0][..]),
            (&[("2001:db8::1", 100), ("2001:db8::2", 25)][..], &[812, 212][..]),
            (&[("2001:db8::3", 100), ("2001:db8::4", 75), ("2001:db8::5", 0)][..], &[575, 449, 0][..]),
        ] {
            let c: Vec<Candidate> = weights
                .iter()
                .enumerate()
                .map(|(id, (a, weight))| Candidate {
                    id,
                    address: Ip46::from_ip(a.parse().unwrap()),
                    weight: *weight,
                })
                .collect();
            let t = build_table(&c, 1024);
            let got: Vec<u32> = c.iter().map(|c| buckets_of(&t, c.id)).collect();
            assert_eq!(got, want, "{weights:?}");
        }
    }

    #[test]
    fn weight_zero_gets_nothing_and_others_share_all() {
        let c = [cand(1, 2, 100), cand(2, 3, 0), cand(3, 4, 100)];
        let t = build_table(&c, 1024);
        assert_eq!(buckets_of(&t, 2), 0);
        assert_eq!(buckets_of(&t, 1) + buckets_of(&t, 3), 1024);
        assert!(t.iter().all(Option::is_some));
    }

    #[test]
    fn weights_are_proportional() {
        let c = [cand(1, 2, 100), cand(2, 3, 50)];
        let t = build_table(&c, 1024);
        let (a, b) = (buckets_of(&t, 1), buckets_of(&t, 2));
        assert_eq!(a + b, 1024);
        assert!((660..=700).contains(&a), "got {a}/{b}");
    }

    #[test]
    fn no_weight_means_empty_table() {
        assert!(build_table(&[cand(1, 2, 0)], 16).iter().all(Option::is_none));
        assert!(build_table(&[], 16).iter().all(Option::is_none));
    }

    #[test]
    fn table_of_one_bucket() {
        let t = build_table(&[cand(1, 2, 1), cand(2, 3, 1)], 1);
        assert_eq!(t, vec![Some(1)]);
    }

    #[test]
    fn minimal_disruption_when_an_as_leaves() {
        let all = [cand(1, 2, 100), cand(2, 3, 100), cand(3, 4, 100), cand(4, 5, 100)];
        let before = build_table(&all, 1024);
        let after = build_table(&[all[0], all[1], all[2]], 1024);
        let moved = before.iter().zip(after.iter()).filter(|(b, a)| **b != Some(4) && b != a).count();
        // Maglev moves only a small share of buckets that did not belong
        // to the removed AS.
        assert!(moved < 200, "{moved} buckets moved");
    }
}
