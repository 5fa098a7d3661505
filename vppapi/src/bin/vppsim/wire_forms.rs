//! How the lb API handlers read and write VIPs, addresses and enums on the
//! wire, in the two behaviours a client can meet (PROTOCOL.md 3.7.2):
//! master (`lb_conf_get` present) and the released versions ("legacy"),
//! whose handlers skip byte swaps and length fixes.

use vppapi::types::{Address, AddressFamily, LbVip, Prefix};

use crate::ip46::{prefix_is_ip4, Ip46};
use crate::lb::{Vip, VipKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Master,
    Legacy,
}

/// `ip_address_decode`: IPv4 goes to bytes 12..15 of a zeroed ip46.
pub fn decode_address(a: &Address) -> Ip46 {
    match a.af {
        AddressFamily::Ip4 => {
            let mut b = [0u8; 16];
            b[12..].copy_from_slice(&a.un[..4]);
            Ip46::from_bytes(b)
        }
        AddressFamily::Ip6 => Ip46::from_bytes(a.un),
    }
}

/// `ip_address_encode(…, IP46_TYPE_ANY)`: an ip46 whose first 12 bytes are
/// zero goes out as IPv4.
pub fn encode_address(a: &Ip46) -> Address {
    Address::from_ip(a.to_ip())
}

impl Mode {
    /// The VIP prefix of an lb request as (address, internal length).
    /// Master adds 96 to the length of an `af = 0` prefix; legacy takes the
    /// length as the internal one.
    pub fn decode_vip_prefix(self, pfx: &Prefix) -> (Ip46, u8) {
        let address = decode_address(&pfx.address);
        let len = match (self, pfx.address.af) {
            (Mode::Master, AddressFamily::Ip4) => pfx.len.saturating_add(96),
            _ => pfx.len,
        };
        (address, len)
    }

    /// The VIP key of an lb request (port 0 forces protocol 255).
    pub fn vip_key(self, pfx: &Prefix, protocol: u8, port: u16) -> VipKey {
        let (address, len) = self.decode_vip_prefix(pfx);
        VipKey::new(address, len, protocol, port)
    }

    /// `lb_flush_vip`: legacy reads the 16 union bytes as IPv6 with the raw
    /// length, so an IPv4 VIP is only found in the version-independent form.
    pub fn flush_vip_key(self, pfx: &Prefix, protocol: u8, port: u16) -> VipKey {
        match self {
            Mode::Master => self.vip_key(pfx, protocol, port),
            Mode::Legacy => VipKey::new(Ip46::from_bytes(pfx.address.un), pfx.len, protocol, port),
        }
    }

    /// The encap as the handler compares it: master swaps it from network
    /// order, legacy compares the raw (host-order) value.
    pub fn decode_encap(self, wire_value: u32) -> u32 {
        match self {
            Mode::Master => wire_value,
            Mode::Legacy => wire_value.swap_bytes(),
        }
    }

    /// `vl_api_lb_vip_t` as the details messages carry it.
    pub fn encode_vip(self, vip: &Vip) -> LbVip {
        let k = &vip.key;
        let is_ip4 = prefix_is_ip4(&k.prefix, k.plen);
        let len = match self {
            Mode::Master if is_ip4 => k.plen - 96,
            _ => k.plen,
        };
        let protocol = match self {
            Mode::Master => k.protocol,
            // htonl(protocol) stored into a u8.
            Mode::Legacy => 0,
        };
        LbVip { pfx: Prefix { address: encode_address(&k.prefix), len }, protocol, port: k.port }
    }

    /// `lb_vip_details.encap`: the API enum on master, the internal VIP type
    /// on legacy.
    pub fn details_encap(self, vip: &Vip) -> u32 {
        match self {
            Mode::Master => vip.vtype.api_encap(),
            Mode::Legacy => vip.vtype as u32,
        }
    }

    /// `lb_vip_details.flow_table_length`, as the codec should encode it
    /// (big-endian u16) to reproduce VPP's bytes.
    pub fn flow_table_length(self, size: u32) -> u16 {
        match self {
            Mode::Master => size as u16,
            // htonl(size) truncated to the u16 field, sent as stored.
            Mode::Legacy => ((size.swap_bytes() & 0xffff) as u16).swap_bytes(),
        }
    }

    /// The `lb_as_dump`/`lb_as_v2_dump` filter: all-zero union bytes dump
    /// everything, otherwise the raw 16 bytes must equal the internal ip46
    /// (so an IPv4 VIP written normally never matches), plus protocol and
    /// port (legacy compares the port without swapping it).
    pub fn as_dump_matches(self, filter: &Prefix, protocol: u8, port: u16, vip: &Vip) -> bool {
        if filter.address.un.iter().all(|b| *b == 0) {
            return true;
        }
        let port_matches = match self {
            Mode::Master => port == vip.key.port,
            Mode::Legacy => port.swap_bytes() == vip.key.port,
        };
        filter.address.un == *vip.key.prefix.bytes() && protocol == vip.key.protocol && port_matches
    }

    /// Whether deleted-but-not-collected VIPs appear in `lb_vip_dump`.
    pub fn dumps_removed_vips(self) -> bool {
        self == Mode::Legacy
    }
}

/// `lb_vip_details.srv_type` is written in host order (NODEPORT appears as
/// `01 00 00 00`); returns the value for a big-endian encoder.
pub fn details_srv_type(srv_type: u8) -> u32 {
    u32::from(srv_type).swap_bytes()
}

/// The request's `type` is not swapped and lands in a u8: VPP uses wire
/// byte 0.
pub fn request_srv_type(wire_value: u32) -> u8 {
    (wire_value >> 24) as u8
}

/// `lb_vip_details.target_port` is swapped twice, so it appears
/// little-endian; returns the value for a big-endian encoder.
pub fn details_target_port(target_port: u16) -> u16 {
    target_port.swap_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn pfx(s: &str, len: u8) -> Prefix {
        Prefix::new(s.parse::<IpAddr>().unwrap(), len)
    }

    #[test]
    fn master_and_legacy_prefix_lengths() {
        let (a, l) = Mode::Master.decode_vip_prefix(&pfx("192.0.2.1", 32));
        assert_eq!((a.to_string().as_str(), l), ("192.0.2.1", 128));
        // Legacy with a normal /32 sees an IPv6-length prefix.
        let (_, l) = Mode::Legacy.decode_vip_prefix(&pfx("192.0.2.1", 32));
        assert_eq!(l, 32);
        let (_, l) = Mode::Legacy.decode_vip_prefix(&pfx("192.0.2.1", 128));
        assert_eq!(l, 128);
    }

    #[test]
    fn version_independent_ipv4_form_is_the_same_vip_in_both_modes() {
        let mut un = [0u8; 16];
        un[12..].copy_from_slice(&[192, 0, 2, 1]);
        let p = Prefix { address: Address { af: AddressFamily::Ip6, un }, len: 128 };
        let normal = Mode::Master.vip_key(&pfx("192.0.2.1", 32), 6, 80);
        assert_eq!(Mode::Master.vip_key(&p, 6, 80), normal);
        assert_eq!(Mode::Legacy.vip_key(&p, 6, 80), normal);
        assert_eq!(Mode::Legacy.flush_vip_key(&p, 6, 80), normal);
        assert_ne!(Mode::Legacy.flush_vip_key(&pfx("192.0.2.1", 32), 6, 80), normal);
    }

    #[test]
    fn enum_byte_order_quirks() {
        assert_eq!(Mode::Master.decode_encap(1), 1);
        assert_eq!(Mode::Legacy.decode_encap(1), 0x0100_0000);
        assert_eq!(Mode::Legacy.decode_encap(0x0100_0000), 1);
        assert_eq!(Mode::Master.flow_table_length(1024), 1024);
        assert_eq!(Mode::Master.flow_table_length(65536), 0);
        assert_eq!(Mode::Legacy.flow_table_length(1024), 0);
        assert_eq!(details_srv_type(1).to_be_bytes(), [1, 0, 0, 0]);
        assert_eq!(request_srv_type(0x0100_0000), 1);
        assert_eq!(request_srv_type(1), 0);
        assert_eq!(details_target_port(8080).to_be_bytes(), 8080u16.to_le_bytes());
    }
}
