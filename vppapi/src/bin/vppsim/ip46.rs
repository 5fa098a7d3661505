//! VPP's `ip46_address_t`: 16 bytes, an IPv4 address lives in bytes
//! 12..15 with bytes 0..11 zero. VIP prefixes keep VPP's internal length
//! (96 + the IPv4 length for IPv4), so both families share one key space,
//! exactly as the lb plugin stores them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ip46([u8; 16]);

impl Ip46 {
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Ip46(bytes)
    }

    #[cfg(test)]
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => {
                let mut b = [0u8; 16];
                b[12..].copy_from_slice(&v4.octets());
                Ip46(b)
            }
            IpAddr::V6(v6) => Ip46(v6.octets()),
        }
    }

    pub fn bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// `ip46_address_is_ip4`: the first 12 bytes are zero.
    pub fn is_ip4(&self) -> bool {
        self.0[..12].iter().all(|b| *b == 0)
    }

    /// The address as VPP prints and encodes it (`IP46_TYPE_ANY`).
    pub fn to_ip(self) -> IpAddr {
        if self.is_ip4() {
            IpAddr::V4(Ipv4Addr::new(self.0[12], self.0[13], self.0[14], self.0[15]))
        } else {
            IpAddr::V6(Ipv6Addr::from(self.0))
        }
    }

    /// `ip46_prefix_normalize`: clears the host bits of an internal-length
    /// prefix.
    pub fn normalized(&self, internal_len: u8) -> Self {
        let mut b = self.0;
        let len = usize::from(internal_len.min(128));
        for (i, byte) in b.iter_mut().enumerate() {
            let bit_start = i * 8;
            if bit_start >= len {
                *byte = 0;
            } else if bit_start + 8 > len {
                let keep = len - bit_start;
                *byte &= 0xffu8 << (8 - keep);
            }
        }
        Ip46(b)
    }

    /// Whether `self` lies inside `prefix/internal_len`.
    pub fn within(&self, prefix: &Ip46, internal_len: u8) -> bool {
        self.normalized(internal_len) == prefix.normalized(internal_len)
    }
}

impl fmt::Display for Ip46 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_ip())
    }
}

/// `ip46_prefix_is_ip4`: an internal length of at least 96 on an address
/// whose first 12 bytes are zero.
pub fn prefix_is_ip4(prefix: &Ip46, internal_len: u8) -> bool {
    internal_len >= 96 && prefix.is_ip4()
}

/// A prefix in VPP's normal form, e.g. `192.0.2.1/32` or `2001:db8::/64`.
pub fn format_prefix(prefix: &Ip46, internal_len: u8) -> String {
    if prefix_is_ip4(prefix, internal_len) {
        format!("{}/{}", prefix, internal_len - 96)
    } else {
        format!("{}/{}", Ipv6Addr::from(*prefix.bytes()), internal_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_lives_in_the_last_four_bytes() {
        let a = Ip46::from_ip("192.0.2.1".parse().unwrap());
        assert!(a.is_ip4());
        assert_eq!(&a.bytes()[12..], &[192, 0, 2, 1]);
        assert_eq!(a.to_string(), "192.0.2.1");
        assert_eq!(format_prefix(&a, 128), "192.0.2.1/32");
    }

    #[test]
    fn ipv6_prints_normally() {
        let a = Ip46::from_ip("2001:db8::10".parse().unwrap());
        assert!(!a.is_ip4());
        assert_eq!(format_prefix(&a, 128), "2001:db8::10/128");
    }

    #[test]
    fn normalize_clears_host_bits() {
        let a = Ip46::from_ip("192.0.2.77".parse().unwrap());
        assert_eq!(a.normalized(96 + 24).to_string(), "192.0.2.0");
        assert!(a.within(&Ip46::from_ip("192.0.2.0".parse().unwrap()), 120));
        assert!(!a.within(&Ip46::from_ip("192.0.3.0".parse().unwrap()), 120));
        assert_eq!(a.normalized(0), Ip46::default());
    }
}
